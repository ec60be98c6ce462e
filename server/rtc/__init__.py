"""WebRTC plumbing shared by the media planes: ICE for aiortc (which servers, which host
addresses, screening of offered candidates), the ICE servers a browser gets, and the
RTP slot written to directly by the planes that forward encoded packets (``rtp_slot``).

May import: ``server.config``, ``server.common`` and the pure packages.
"""
