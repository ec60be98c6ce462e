"""An offer's ICE candidates are screened: the server sends connectivity checks only to the
signalling peer's own address and to relays, and to at most ``MAX_OFFER_CANDIDATES``.

A real aiortc listener joins the plaza over socket.io from 127.0.0.1 and pads its offer
with candidates it does not own: one at a UDP socket this test listens on (127.0.0.5, a
stand-in for a private address or a third party), others elsewhere on loopback, and many
at its own address with made-up ports. Its answer still connects over loopback; the
listening socket receives not one STUN packet; the server's ICE agent knows at most the
capped number of remote candidates, all at 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from bench.clients.audio_peers import Listener
from server.app import AUDIO_KEY
from server.config.settings import Settings
from server.rtc.ice import MAX_OFFER_CANDIDATES, rtc_configuration
from tests.conftest import Server
from tests.meetings import MeetingClient


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ice_host_addresses=("127.0.0.1",))


@pytest.fixture
async def trap() -> AsyncIterator[socket.socket]:
    """A UDP socket on 127.0.0.5 that an attacker's offer names as a candidate."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.5", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


def padded(sdp: str, trap_port: int) -> str:
    """``sdp`` with forged candidates after the peer's own ones."""
    extra = [f"a=candidate:f0 1 udp 2130706431 127.0.0.5 {trap_port} typ host"]
    extra += [f"a=candidate:f{n} 1 udp 2130706431 127.0.0.{n} 40{n:03d} typ host"
              for n in range(6, 26)]
    extra += [f"a=candidate:g{n} 1 udp 2130706431 127.0.0.1 41{n:03d} typ host"
              for n in range(40)]
    lines = sdp.splitlines()
    last = max(i for i, line in enumerate(lines) if line.startswith("a=candidate:"))
    return "\r\n".join([*lines[: last + 1], *extra, *lines[last + 1 :]]) + "\r\n"


def received(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            sock.recv(2048)
        except BlockingIOError:
            return count
        count += 1


async def test_forged_candidates_get_no_stun_and_the_peer_still_connects(
    server: Server, trap: socket.socket,
) -> None:
    client = await MeetingClient(server.url).connect()
    listener = Listener(rtc_configuration([]), slots=1)
    try:
        ack = await client.join("きく人", room="plaza")
        sent: list[str] = []

        async def signal(_pid: str, _room: str, sdp: str) -> str:
            sent.append(padded(sdp, trap.getsockname()[1]))
            answer: dict[str, Any] = await client.call(
                "audio:listen", {"sdp": sent[0], "slots": 1})
            assert answer["ok"], answer
            return str(answer["sdp"])

        await listener.connect(signal, "", "")
        assert sent[0].count("a=candidate:") > 60
        for _ in range(50):
            if listener.pc.connectionState == "connected":
                break
            await asyncio.sleep(0.1)
        assert listener.pc.connectionState == "connected"
        await asyncio.sleep(1.0)  # aioice checks a pair every 20 ms: time for all of them
        assert received(trap) == 0, "the server sent STUN to a forged candidate"
        remote = server_remote_candidates(server, ack["self"])
        assert 0 < len(remote) <= MAX_OFFER_CANDIDATES
        assert {c.host for c in remote if c.type != "prflx"} == {"127.0.0.1"}
    finally:
        await listener.close()
        await client.close()


def server_remote_candidates(server: Server, pid: str) -> list[Any]:
    """The remote candidates of the server's ICE agent for ``pid``'s listener."""
    plane = server.app[AUDIO_KEY].plane
    pc = plane._listeners[pid].pc
    ice_transport = pc.getTransceivers()[0].receiver.transport.transport
    return list(ice_transport._connection.remote_candidates)


