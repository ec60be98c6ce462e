"""A /motion WebSocket opened by hand on a plain socket, for the tests that need a client
the `websockets` library will not be: one that never reads, or never answers a ping; and a
bare /motion endpoint (the real handler and plane, no Hiroba app) for such tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
from collections.abc import AsyncIterator

from aiohttp import web

from rooms.interest import InterestConfig
from server.motion.endpoint import Liveness, motion_handler
from server.motion.plane import MotionPlane
from tests.conftest import free_port


class MotionServer:
    """The real ``/motion`` handler and plane (a room "plaza" of 16) on 127.0.0.1."""

    def __init__(self, plane: MotionPlane, port: int) -> None:
        self.plane, self.port = plane, port
        self.url = f"ws://127.0.0.1:{port}/motion"

    def token(self, pid: str, slot: int) -> str:
        return self.plane.join("plaza", pid, slot, 0.0, 0.0, 0.0, on_stage=False)

    def attached(self) -> int:
        return len(self.plane.rooms["plaza"].transports)


@contextlib.asynccontextmanager
async def motion_server(config: InterestConfig,
                        liveness: Liveness | None = None) -> AsyncIterator[MotionServer]:
    plane = MotionPlane(config, lambda room, pid, x, z, h: (x, z, h))
    plane.add_room("plaza", 16)
    app = web.Application()
    app.router.add_get("/motion", motion_handler(plane, 20.0, lambda _o, _own: True, liveness))
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield MotionServer(plane, port)
    finally:
        await runner.cleanup()


async def read_until_closed(sock: socket.socket, within: float) -> bytes:
    """Everything the server sends on ``sock`` until it closes (``within`` seconds)."""
    loop = asyncio.get_running_loop()
    got = b""
    async with asyncio.timeout(within):
        while True:
            try:
                chunk = await loop.sock_recv(sock, 4096)
            except ConnectionResetError:
                return got
            if not chunk:
                return got
            got += chunk


async def raw_motion_socket(port: int, token: str, *, receive_buffer: int | None = None,
                            ) -> socket.socket:  # fmt: skip
    """Upgrade a socket to ``127.0.0.1:port/motion`` and send ``token`` as the first, text,
    masked message; nothing else is read or written. ``receive_buffer`` sets SO_RCVBUF
    before connecting (1: the smallest the kernel allows, so the server's side fills up)."""
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    await loop.sock_sendall(sock, (
        f"GET /motion HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1)  # byte by byte: nothing past the headers
    assert head.startswith(b"HTTP/1.1 101"), head
    data = token.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    await loop.sock_sendall(sock, bytes((0x81, 0x80 | len(data))) + mask + masked)
    return sock
