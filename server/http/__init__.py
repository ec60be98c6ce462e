"""The HTTP surface every feature shares: the page, health and room-list routes, error
answers, the client's static files, security headers and the page's CSP, and the browser's
address behind a trusted proxy.

May import: ``server.config``, ``server.common``, ``server.sockets`` and the pure packages.
"""
