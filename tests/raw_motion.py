"""A /motion WebSocket opened by hand on a plain socket, for the tests that need a client
the `websockets` library will not be: one that never reads, or never answers a ping."""

from __future__ import annotations

import asyncio
import base64
import os
import socket


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
