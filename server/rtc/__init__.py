"""WebRTC plumbing shared by the media planes: ICE for aiortc (which servers, which host
addresses, screening of offered candidates) and the ICE servers a browser gets.

May import: ``server.config``, ``server.common`` and the pure packages.
"""
