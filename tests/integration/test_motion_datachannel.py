"""The motion plane over a real aiortc data channel, next to a WebSocket client."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from server.config.settings import Settings
from server.motion import codec
from server.rtc.ice import rtc_configuration
from tests.integration.test_motion_plane import frames_until, open_motion, slot_of


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ice_host_addresses=("127.0.0.1",), motion_datachannel_max=2)


class ChannelClient:
    """A participant's motion plane over an unordered, unreliable data channel."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(rtc_configuration([]))
        self.channel = self.pc.createDataChannel("motion", ordered=False, maxRetransmits=0)
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()
        self.opened = asyncio.Event()
        self.channel.on("open", self.opened.set)
        self.channel.on("message", lambda m: self.frames.put_nowait(m))

    async def offer(self, client: Any) -> dict[str, Any]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        ack = await client.sio.call(
            "motion:offer", {"type": "offer", "sdp": self.pc.localDescription.sdp}, timeout=10
        )
        if ack.get("ok"):
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=ack["sdp"], type="answer"))
            await asyncio.wait_for(self.opened.wait(), 10)
        return ack  # type: ignore[no-any-return]

    async def frame_with(self, predicate: Any, within: float = 5.0) -> list[codec.FrameEntry]:
        deadline = time.monotonic() + within
        while True:
            data = await asyncio.wait_for(self.frames.get(), deadline - time.monotonic())
            _tick, entries = codec.decode_frame(data)
            if predicate(entries):
                return entries


async def test_channel_and_websocket_clients_see_each_other(server, clients) -> None:
    a, b = await clients(), await clients()
    a_ack, b_ack = await a.join("dc"), await b.join("ws")
    channel = ChannelClient()
    b_http, b_ws = await open_motion(server, b_ack)
    try:
        assert (await channel.offer(a))["ok"]
        me = next(p for p in a_ack["snapshot"]["participants"] if p["id"] == a_ack["self"])
        channel.channel.send(codec.encode_uplink(me["x"] + 0.4, me["z"], 0.25))
        a_slot = slot_of(b_ack, a_ack["self"])
        entries = await frames_until(
            b_ws, lambda es: any(e.slot == a_slot and abs(e.h - 0.25) < 1e-3 for e in es), 5
        )
        seen = next(e for e in entries if e.slot == a_slot)
        assert abs(seen.x - (me["x"] + 0.4)) < 0.02

        them = next(p for p in b_ack["snapshot"]["participants"] if p["id"] == b_ack["self"])
        await b_ws.send_bytes(codec.encode_uplink(them["x"], them["z"] + 0.3, -0.5))
        b_slot = slot_of(b_ack, b_ack["self"])
        got = await channel.frame_with(
            lambda es: any(e.slot == b_slot and abs(e.h + 0.5) < 1e-3 for e in es)
        )
        assert abs(next(e for e in got if e.slot == b_slot).z - (them["z"] + 0.3)) < 0.02
    finally:
        await channel.pc.close()
        await b_ws.close()
        await b_http.close()


async def test_bad_offers_get_reasons_and_the_plane_keeps_serving(server, clients) -> None:
    outsider, a, b = await clients(), await clients(), await clients()
    not_joined = await outsider.call("motion:offer", {"type": "offer", "sdp": "v=0"})
    assert not_joined == {"ok": False, "reason": "not_joined", "message": not_joined["message"]}
    await a.join("a")
    b_ack = await b.join("b")
    b_http, b_ws = await open_motion(server, b_ack)
    try:
        bad_offers = (
            {"type": "offer", "sdp": "v=0\r\nthis is not sdp"},
            {"type": "answer", "sdp": "x"},
            {"sdp": 5},
            "offer",
        )
        for bad in bad_offers:
            ack = await a.call("motion:offer", bad)
            assert ack["ok"] is False, ack
            assert ack["reason"] in {"bad_payload", "bad_field", "missing_field"}, ack
        # an offer without a data channel is refused too
        pc = RTCPeerConnection(rtc_configuration([]))
        pc.addTransceiver("audio", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        ack = await a.call("motion:offer", {"type": "offer", "sdp": pc.localDescription.sdp})
        await pc.close()
        assert ack["ok"] is False and ack["reason"] == "bad_payload", ack
        # meanwhile the WebSocket client still gets its frames
        await frames_until(b_ws, lambda es: True, 3)
    finally:
        await b_ws.close()
        await b_http.close()


async def test_leaving_closes_the_peer_and_the_cap_holds(server, clients) -> None:
    a, b, c = await clients(), await clients(), await clients()
    await a.join("a")
    await b.join("b")
    await c.join("c")
    ca, cb, cc = ChannelClient(), ChannelClient(), ChannelClient()
    try:
        assert (await ca.offer(a))["ok"]
        assert (await cb.offer(b))["ok"]
        full = await cc.offer(c)  # motion_datachannel_max=2 in this module
        assert full["ok"] is False and full["reason"] == "room_full"
        closed = asyncio.Event()
        ca.channel.on("close", closed.set)
        await a.call("leave")
        await asyncio.wait_for(closed.wait(), 10)  # the server closed its end
        # the freed place can be taken
        cc2 = ChannelClient()
        assert (await cc2.offer(c))["ok"]
        await cc2.pc.close()
    finally:
        for client in (ca, cb, cc):
            await client.pc.close()
