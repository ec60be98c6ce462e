"""The motion plane: the latest pose of each person in, one batched binary frame per
client per tick out, over a raw WebSocket or a WebRTC data channel.

May import: ``server.config``, ``server.common``, ``server.sockets``, ``server.rtc`` and the
pure packages.
"""
