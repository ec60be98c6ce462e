"""server/rtc/ice.py against the installed aiortc and aioice: loopback host candidates on
request, aioice's own choice otherwise, and never a STUN or TURN server unless configured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aioice.ice
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import VideoStreamTrack

from server.rtc import ice


@pytest.fixture(autouse=True)
def restore() -> Iterator[None]:
    yield
    ice.use_host_addresses(())


def candidates(sdp: str) -> list[list[str]]:
    return [ln.split()[4:8] for ln in sdp.splitlines() if ln.startswith("a=candidate:")]


async def test_loopback_host_candidate_only_when_configured() -> None:
    ice.use_host_addresses(("127.0.0.1",))
    assert ice.host_addresses() == ["127.0.0.1"]
    assert ice.host_addresses(use_ipv4=False) == []
    pc = RTCPeerConnection(ice.rtc_configuration([]))
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    found = candidates(pc.localDescription.sdp)
    await pc.close()
    assert found and all(c[0] == "127.0.0.1" and c[3] == "host" for c in found)

    ice.use_host_addresses(())
    assert aioice.ice.get_host_addresses is ice._ORIGINAL
    assert "127.0.0.1" not in ice.host_addresses()


async def test_two_peers_connect_over_loopback() -> None:
    ice.use_host_addresses(("127.0.0.1",))
    a = RTCPeerConnection(ice.rtc_configuration([]))
    b = RTCPeerConnection(ice.rtc_configuration([]))
    got = asyncio.get_running_loop().create_future()
    readers: list[asyncio.Task[None]] = []

    @b.on("track")
    def on_track(track: Any) -> None:
        async def first() -> None:
            frame = await track.recv()
            if not got.done():
                got.set_result((frame.width, frame.height))

        readers.append(asyncio.ensure_future(first()))

    a.addTransceiver(VideoStreamTrack(), direction="sendonly")
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    try:
        assert await asyncio.wait_for(got, 10) == (640, 480)
        ice_transport = a.getTransceivers()[0].sender.transport.transport
        assert ice_transport.state == "completed"
    finally:
        await a.close()
        await b.close()


def test_no_ice_servers_means_none_not_aiortcs_default() -> None:
    config = ice.rtc_configuration([])
    assert config.iceServers == []
    config = ice.rtc_configuration(["stun:stun.city.example:3478"])
    assert [s.urls for s in config.iceServers] == ["stun:stun.city.example:3478"]


async def test_server_peers_are_built_without_stun_or_turn(monkeypatch) -> None:
    """Every ICE agent aiortc creates from our configuration has no STUN/TURN server
    (aiortc would otherwise add a public one)."""
    import aiortc.rtcicetransport as transport

    made: list[Any] = []
    real = transport.Connection

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(transport, "Connection", Recording)
    ice.use_host_addresses(("127.0.0.1",))
    pc = RTCPeerConnection(ice.rtc_configuration([]))
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    await pc.close()
    assert made and all(c.stun_server is None and c.turn_server is None for c in made)

    made.clear()
    default = RTCPeerConnection()  # what we avoid: aiortc's own default
    default.addTransceiver("video", direction="recvonly")
    assert made and made[0].stun_server == ("stun.l.google.com", 19302)
    await default.close()
