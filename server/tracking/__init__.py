"""Face tracking in the server: a participant's camera over WebRTC tracked in a worker,
pose uploads from browsers that track themselves, the face model (fetched, verified, cached,
served) and video decoding for ``hiroba track``.

May import: ``server.config``, ``server.common``, ``server.sockets``, ``server.rtc``,
``server.http``, ``server.motion`` and the pure packages.
"""
