"""The motion plane's direct write path (issue 19): frames written straight to the socket
as pre-built WebSocket frames, decoded by a real client, and a client that never reads
skipped rather than queued for."""

from __future__ import annotations

import asyncio
import socket

import websockets
from aiohttp import web

from server.app import TRACKING_KEY
from server.motion import codec
from server.motion.transport import BUSY_BYTES, WebSocketTransport
from tests.conftest import free_port
from tests.raw_motion import raw_motion_socket

#: Payload sizes around each of the header's length encodings (7, 16 and 64 bits).
SIZES = (0, 1, 125, 126, 127, 1000, 65535, 65536, 70_000)


def payload(size: int) -> bytes:
    return bytes((i * 7 + size) % 256 for i in range(size))


async def test_direct_frames_decode_identically_in_a_websockets_client() -> None:
    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        transport = WebSocketTransport(ws, request)
        for size in SIZES:
            transport.write_frame(payload(size))
        # aiohttp's own frames interleave whole with the direct ones.
        await ws.send_bytes(b"through aiohttp")
        transport.write_frame(b"after")
        await ws.receive()  # until the client closes
        return ws

    app = web.Application()
    app.router.add_get("/ws", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        # The client offers permessage-deflate (its default): the server must not take it.
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=2**20,
                                      proxy=None) as ws:  # (loopback: never a proxy)
            got = [await asyncio.wait_for(ws.recv(), 5) for _ in range(len(SIZES) + 2)]
            assert ws.protocol.extensions == []
    finally:
        await runner.cleanup()
    assert got == [*(payload(size) for size in SIZES), b"through aiohttp", b"after"]


async def never_reading_motion(port: int, token: str) -> socket.socket:
    """A /motion WebSocket whose client never reads after the upgrade, with the smallest
    receive buffer the kernel allows (so the server's side fills in a few hundred frames)."""
    return await raw_motion_socket(port, token, receive_buffer=1)


async def test_a_client_that_never_reads_is_skipped_not_queued(server, clients) -> None:
    plane = server.app[TRACKING_KEY].plane
    stuck, reader, mover = await clients(), await clients(), await clients()
    s_ack, r_ack, m_ack = await stuck.join("stuck"), await reader.join("r"), await mover.join("m")
    sock = await never_reading_motion(server.settings.port, s_ack["motion"]["token"])
    url = server.url.replace("http", "ws", 1) + "/motion"
    async with websockets.connect(url, compression=None, max_size=2**20, proxy=None) as ws:
        await ws.send(r_ack["motion"]["token"])
        assert await ws.recv() == "ok"
        room = plane.rooms["plaza"]
        stuck_row = room.table.row(s_ack["self"])
        for _ in range(100):  # until the server has bound the stuck client's transport
            if stuck_row in room.transports:
                break
            await asyncio.sleep(0.02)
        transport = room.transports[stuck_row]
        assert isinstance(transport, WebSocketTransport) and transport._transport is not None
        # The server's side of the socket small too: the kernel takes little, the rest
        # would wait in the asyncio transport's buffer if the plane queued for it.
        transport._transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, 1)
        me = next(p for p in m_ack["snapshot"]["participants"] if p["id"] == m_ack["self"])
        skipped_before = plane.stats.frames_skipped_busy
        peak = 0
        for i in range(1500):  # ticks driven here, far faster than 20 Hz
            plane.place("plaza", m_ack["self"], me["x"] + (i % 2) * 0.2, me["z"], i / 100)
            await plane.tick()
            peak = max(peak, transport._transport.get_write_buffer_size())
            if i % 50 == 0:
                await asyncio.sleep(0)  # let the reading client's socket drain
        # Never more waiting for the stuck client than the busy mark and one frame.
        assert peak <= BUSY_BYTES + 2048, f"{peak} bytes queued for a client that never reads"
        # (The kernel's buffers take the first thousand or so 18-byte frames; after that,
        # every tick's frame for it is skipped: 450-600 of the 1,500 here.)
        assert plane.stats.frames_skipped_busy - skipped_before > 250
        # The reading client kept getting frames meanwhile, whole and decodable.
        got = 0
        while True:
            try:
                frame = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                break
            if isinstance(frame, bytes):
                codec.decode_frame(frame)
                got += 1
        assert got > 300, f"the reading client got {got} frames"
    sock.close()
