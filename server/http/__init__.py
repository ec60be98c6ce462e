"""The HTTP surface every feature shares: the page, health and room-list routes, error
answers, the client's static files, security headers and the page's CSP, the browser's
address behind a trusted proxy, per-address limits on expensive routes (``rate_limits``)
and the connection guard every TCP connection passes first (``connections``: header-read
timeout, per-address cap, how ``hiroba serve`` listens).

May import: ``server.config``, ``server.common``, ``server.sockets`` and the pure packages.
"""
