"""``/motion`` read by its own frame reader after the token (issue 19, server/common/
wsread.py installed over aiohttp's): uplinks reach the plane, pings are answered, the
closing handshake works from either side, and a client that breaks the protocol is closed
with its code while the others go on. A real aiohttp server on 127.0.0.1 with the real
handler and plane; real `websockets` clients and raw sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import websockets
from websockets.frames import Frame, Opcode

from rooms.interest import InterestConfig
from server.motion import codec
from server.motion.endpoint import CLOSE_BAD_INPUT, CLOSE_WAIT, PING_BURST
from tests.raw_motion import MotionServer as Server
from tests.raw_motion import motion_server, raw_motion_socket, read_until_closed


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with motion_server(InterestConfig(neighbour_period=1)) as running:
        yield running


def masked(opcode: Opcode, payload: bytes) -> bytes:
    return Frame(opcode, payload).serialize(mask=True, extensions=[])


def close_code_in(got: bytes) -> int | None:
    """The status code of the first close frame (0x88) in what the server sent."""
    at = got.find(b"\x88")
    return int.from_bytes(got[at + 2 : at + 4], "big") if at >= 0 else None


async def test_uplinks_pings_and_a_clients_close(server: Server) -> None:
    async with websockets.connect(server.url, proxy=None, ping_interval=None,
                                  compression=None) as ws:
        await ws.send(server.token("p1", 1))
        assert await ws.recv() == "ok"
        await ws.send(codec.encode_uplink(1.5, -2.0, 0.25))
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 2)  # answered with the same payload, or never resolves
        server.plane.apply_pending()
        room = server.plane.rooms["plaza"]
        row = room.table.row("p1")
        assert tuple(round(float(v), 2) for v in room.table.xz[row]) == (1.5, -2.0)
        assert server.attached() == 1
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await ws.close()
        assert loop.time() - t0 < 1.0, "the server answered the close at once"
        assert ws.close_code == 1000
    for _ in range(50):
        if server.attached() == 0:
            break
        await asyncio.sleep(0.02)
    assert server.attached() == 0


@pytest.mark.parametrize("bad, code", [
    (Frame(Opcode.BINARY, b"12345678").serialize(mask=False, extensions=[]), 1002),
    (masked(Opcode.BINARY, b"x" * (codec.MAX_UPLINK + 100)), 1009),
    (masked(Opcode.CONT, b"12345678"), 1002),
])
async def test_a_protocol_error_closes_that_client_only(server: Server, bad: bytes,
                                                        code: int) -> None:  # fmt: skip
    async with websockets.connect(server.url, proxy=None, compression=None) as good:
        await good.send(server.token("good", 1))
        assert await good.recv() == "ok"
        sock = await raw_motion_socket(server.port, server.token("bad", 2))
        try:
            loop = asyncio.get_running_loop()
            await loop.sock_sendall(sock, bad)
            got = await read_until_closed(sock, 3.0)
        finally:
            sock.close()
        assert got.startswith(b"\x81\x02ok"), got[:16]
        assert close_code_in(got[4:]) == code
        # The good client is still served: its uplink applied, its frames coming.
        await good.send(codec.encode_uplink(3.0, 3.0, 0.0))
        await asyncio.sleep(0.05)
        await server.plane.tick()
        frame = await asyncio.wait_for(good.recv(), 2)
        assert isinstance(frame, bytes) and codec.decode_frame(frame)[0] >= 1
        assert server.attached() == 1


async def test_a_ping_flood_gets_a_few_pongs_and_nothing_else(server: Server) -> None:
    sock = await raw_motion_socket(server.port, server.token("pinger", 1))
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_sendall(sock, b"".join(masked(Opcode.PING, b"%d" % i)
                                               for i in range(200)))
        await asyncio.sleep(0.3)
        await loop.sock_sendall(sock, masked(Opcode.CLOSE, (1000).to_bytes(2, "big")))
        got = await read_until_closed(sock, 3.0)
    finally:
        sock.close()
    frames = server_frames(got)
    pongs = [payload for op, payload in frames if op == 0xA]
    assert pongs[:PING_BURST] == [b"%d" % i for i in range(PING_BURST)]
    assert len(pongs) <= PING_BURST + 1, len(pongs)
    assert frames[-1][0] == 0x8, "and the close answered"


async def test_leaving_the_room_closes_with_one_close_frame(server: Server) -> None:
    """The plane closes a leaver's connection: one close frame (1000), answered by the
    client, then the TCP connection closed; never a second close frame (a browser calls
    that a failed connection: "Close received after close")."""
    sock = await raw_motion_socket(server.port, server.token("leaver", 1))
    loop = asyncio.get_running_loop()
    try:
        got = b""
        while not any(op == 0x8 for op, _ in server_frames(got)):
            for _ in range(50):
                if server.attached() == 1:
                    break
                await asyncio.sleep(0.02)
            transport = server.plane.leave("plaza", "leaver")
            if transport is not None:  # as the motion service does: not awaited in line
                closing = asyncio.create_task(transport.close())
            got += await asyncio.wait_for(loop.sock_recv(sock, 4096), 3)
        await loop.sock_sendall(sock, masked(Opcode.CLOSE, (1000).to_bytes(2, "big")))
        got += await read_until_closed(sock, 3.0)
        await asyncio.wait_for(closing, 2)
    finally:
        sock.close()
    closes = [payload for op, payload in server_frames(got) if op == 0x8]
    assert len(closes) == 1 and int.from_bytes(closes[0][:2], "big") == 1000, closes


def server_frames(got: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of every whole frame the server sent (unmasked, RFC 6455)."""
    out, at = [], 0
    while len(got) - at >= 2:
        n, head = got[at + 1] & 0x7F, 2
        if n == 126:
            n, head = int.from_bytes(got[at + 2 : at + 4], "big"), 4
        out.append((got[at] & 0x0F, got[at + head : at + head + n]))
        at += head + n
    return out


async def test_a_client_that_never_answers_our_close_is_cut_off(server: Server) -> None:
    """After 4400 (malformed input) the server waits CLOSE_WAIT for the client's close
    frame, no longer, and writes no motion frame after its own close frame."""
    plane = server.plane
    sock = await raw_motion_socket(server.port, server.token("noisy", 1))
    plane.join("plaza", "walker", 2, 1.0, 1.0, 0.0, on_stage=False)
    loop = asyncio.get_running_loop()

    async def ticking() -> None:  # someone walking near, so the noisy client has frames
        for i in range(10_000):
            plane.place("plaza", "walker", 1.0 + (i % 2) * 0.1, 1.0, 0.0)
            await plane.tick()
            await asyncio.sleep(0.02)

    chunks: list[tuple[float, bytes]] = []  # when each piece arrived

    async def reading() -> None:
        while True:
            try:
                chunk = await loop.sock_recv(sock, 4096)
            except ConnectionResetError:
                return
            chunks.append((loop.time(), chunk))
            if not chunk:
                return

    ticker = asyncio.create_task(ticking())
    reader = asyncio.create_task(reading())
    try:
        for i in range(60):  # malformed (9 bytes), under the rate limit: each one counts
            await loop.sock_sendall(sock, masked(Opcode.BINARY, b"\x07garbage" + bytes([i])))
            await asyncio.sleep(0.04)
        await asyncio.wait_for(reader, CLOSE_WAIT + 4.0)
    finally:
        ticker.cancel()
        reader.cancel()
        sock.close()
    got = b"".join(chunk for _, chunk in chunks)
    upto = 0
    for when, chunk in chunks:  # when the chunk holding the close frame came
        upto += len(chunk)
        if any(op == 0x8 for op, _ in server_frames(got[:upto])):
            closed_at = when
            break
    took = chunks[-1][0] - closed_at
    frames = server_frames(got)
    assert frames[0] == (0x1, b"ok")
    assert sum(op == 0x2 for op, _ in frames) > 10, "motion frames came before the close"
    op, payload = frames[-1]
    assert op == 0x8 and int.from_bytes(payload[:2], "big") == CLOSE_BAD_INPUT, frames[-3:]
    assert [op for op, _ in frames].count(0x8) == 1, "nothing after the close frame"
    # The connection ended CLOSE_WAIT after the close frame: waited, but no longer.
    assert CLOSE_WAIT - 0.3 <= took <= CLOSE_WAIT + 1.0, took
    # Meanwhile its frames were not written, and not counted as a slow client's skips.
    assert plane.stats.frames_skipped_busy == 0
    for _ in range(50):
        if server.attached() == 0:
            break
        await asyncio.sleep(0.02)
    assert server.attached() == 0
