"""The public gallery (傍聴, issue 19): thousands watching one meeting without an avatar
place. One WebSocket per viewer carries everything (stage poses, a crowd sample, the floor
speakers' Opus packets, public state), every viewer of a room gets the same bytes, built
once per frame period and written to each transport as one pre-built WebSocket message.

May import: ``server.config``, ``server.common``, ``server.sockets``, ``server.motion``,
``server.meetings``, ``server.http``, ``server.staff``, ``server.console`` (its staff routes
use the console's staff sessions) and the pure packages.
"""
