"""The audio plane: microphones in over WebRTC, encoded Opus forwarded to the listeners
who should hear it, and its socket events.

May import: ``server.config``, ``server.common``, ``server.sockets``, ``server.rtc``,
``server.meetings`` (who holds the floor) and the pure packages.
"""
