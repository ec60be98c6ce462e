"""``/motion``'s own liveness check (issue 19, replacing aiohttp's heartbeat): a client
that stops answering is pinged and dropped within the bound, and detached from the plane;
a silent client that answers pings stays. A real aiohttp server on 127.0.0.1 with the real
handler and plane, its times shortened."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator

import pytest
import websockets

from rooms.interest import InterestConfig
from server.motion.endpoint import Liveness
from tests.raw_motion import MotionServer as Server
from tests.raw_motion import motion_server, raw_motion_socket, read_until_closed

IDLE, ANSWER = 0.3, 0.3
LIVE = Liveness(idle=IDLE, answer=ANSWER)
#: Ping after IDLE (seen within a sweep), drop ANSWER later (within a sweep), plus slack
#: for a loaded machine.
BOUND = IDLE + ANSWER + 2 * LIVE.every + 1.0


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with motion_server(InterestConfig(), Liveness(idle=IDLE, answer=ANSWER)) as running:
        yield running


async def mute_client(port: int, token: str) -> socket.socket:
    """A /motion client that does the handshake and sends its token, then never writes
    again: it reads (so what the server sends can be checked) but answers nothing."""
    return await raw_motion_socket(port, token)


async def test_a_client_that_stops_answering_is_pinged_then_dropped(server: Server) -> None:
    sock = await mute_client(server.port, server.token("p_dead", 1))
    try:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        got = await read_until_closed(sock, BOUND + 2.0)
        took = loop.time() - t0
    finally:
        sock.close()
    assert got.startswith(b"\x81\x02ok"), got[:16]
    assert b"\x89\x00" in got, "it was pinged before being dropped"
    assert IDLE + ANSWER <= took <= BOUND, took
    for _ in range(50):  # the handler's finally runs once the read ends
        if server.attached() == 0:
            break
        await asyncio.sleep(0.02)
    assert server.attached() == 0, "the dead client is still attached to the plane"


async def test_a_silent_client_that_answers_pings_stays(server: Server) -> None:
    token = server.token("p_quiet", 2)
    async with websockets.connect(f"ws://127.0.0.1:{server.port}/motion", proxy=None,
                                  ping_interval=None, compression=None) as ws:
        await ws.send(token)
        assert await ws.recv() == "ok"
        # websockets answers the server's pings by itself; it sends nothing else.
        # Long enough to be pinged and dropped twice over if its pongs did not count.
        await asyncio.sleep(2 * (IDLE + ANSWER + 2 * LIVE.every))
        assert server.attached() == 1
        await ws.ping()  # still open both ways
    await asyncio.sleep(0.1)
    assert server.attached() == 0


async def test_a_sending_client_is_never_pinged(server: Server) -> None:
    from server.motion.codec import encode_uplink

    sock = await mute_client(server.port, server.token("p_walker", 3))
    loop = asyncio.get_running_loop()
    got = b""
    try:
        mask = os.urandom(4)
        end = loop.time() + IDLE + ANSWER + 4 * LIVE.every
        while loop.time() < end:
            up = encode_uplink(0.0, 0.0, 0.0)
            await loop.sock_sendall(sock, bytes((0x82, 0x80 | len(up))) + mask
                                    + bytes(b ^ mask[i % 4] for i, b in enumerate(up)))
            await asyncio.sleep(0.05)
            with contextlib.suppress(BlockingIOError):
                got += sock.recv(65536)
        attached = server.attached()
    finally:
        sock.close()
    # Nothing ticks here, so no frames: only the ok, and no ping ever followed it.
    assert got == b"\x81\x02ok"
    assert attached == 1
