"""Identity-check video (本人確認): a committee member's camera, encoded VP8 RTP forwarded
without decoding to the chair and staff only, and its socket events.

May import: ``server.config``, ``server.common``, ``server.sockets``, ``server.rtc``,
``server.meetings`` (who is in which room, with which role) and the pure packages.
"""
