"""The lean forwarding path (server/audio/lean.py) between real aiortc peers on loopback."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from bench.clients.audio_peers import Tone, count_opus_codec_calls, speak, take_rtp
from rooms.errors import HirobaError
from server.audio.forward import ForwardedAudioTrack
from server.audio.lean import LeanSlot, send_to_slots
from server.audio.plane import AudioPlane, AudioSettings
from server.rtc import rtp_slot
from server.rtc.ice import rtc_configuration, use_host_addresses

CONFIG = rtc_configuration([])


@pytest.fixture
async def loopback() -> AsyncIterator[None]:
    use_host_addresses(["127.0.0.1"])
    yield
    use_host_addresses([])


class Pair:
    """A server peer with ``n`` lean slots, and a listener peer recording raw RTP."""

    def __init__(self, n: int) -> None:
        self.server = RTCPeerConnection(CONFIG)
        self.listener = RTCPeerConnection(CONFIG)
        self.received: list[bytes] = []
        self.n = n
        self.slots: list[LeanSlot] = []
        self.transceivers: list[RTCRtpTransceiver] = []

    async def connect(self) -> None:
        for _ in range(self.n):
            self.listener.addTransceiver("audio", direction="recvonly")
        await self.listener.setLocalDescription(await self.listener.createOffer())
        await self.server.setRemoteDescription(self.listener.localDescription)
        for _ in range(self.n):
            self.server.addTrack(ForwardedAudioTrack())  # never pushed: an idle sender
        for transceiver in self.server.getTransceivers():
            transceiver.direction = "sendonly"
        await self.server.setLocalDescription(await self.server.createAnswer())
        await self.listener.setRemoteDescription(self.server.localDescription)
        take_rtp(self.listener, self.received.append)
        self.transceivers = self.server.getTransceivers()
        self.slots = [LeanSlot(t) for t in self.transceivers]
        for _ in range(200):
            if self.server.connectionState == "connected" and self._dtls_up():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"not connected: {self.server.connectionState}")

    def _dtls_up(self) -> bool:
        dtls: Any = self.transceivers[0].sender.transport
        return dtls._tx_srtp is not None

    def packets(self, slot: int) -> list[RtpPacket]:
        """What the listener got on ``slot``'s SSRC, with the ``mid`` extension parsed."""
        transceiver = self.transceivers[slot]
        extensions = HeaderExtensionsMap()
        extensions.configure(
            RTCRtpReceiveParameters(headerExtensions=transceiver._headerExtensions)
        )
        parsed = [RtpPacket.parse(data, extensions) for data in self.received]
        return [p for p in parsed if p.ssrc == transceiver.sender._ssrc]

    async def close(self) -> None:
        await self.server.close()
        await self.listener.close()


@pytest.fixture
async def pair(loopback: None) -> AsyncIterator[Pair]:
    p = Pair(2)
    try:
        await p.connect()
        yield p
    finally:
        await p.close()


async def _send(slots: list[LeanSlot], source: object, payloads: list[bytes], ts0: int) -> None:
    for i, payload in enumerate(payloads):
        send_to_slots(slots, source, payload, (ts0 + 960 * i) & 0xFFFFFFFF)
        await asyncio.sleep(0.02)


def _signed(diff: int) -> int:
    """A 32-bit RTP timestamp difference as a signed number."""
    diff &= 0xFFFFFFFF
    return diff - (1 << 32) if diff >= 1 << 31 else diff


async def test_exact_payloads_continuous_across_a_speaker_switch(pair: Pair) -> None:
    speaker_a, speaker_b = object(), object()
    a = [os.urandom(40 + i % 30) for i in range(40)]
    b = [os.urandom(60) for _ in range(40)]
    await _send(pair.slots, speaker_a, a, ts0=1234)
    # Slot 0 switches to another speaker whose RTP clock is about to wrap; slot 1 idles.
    await asyncio.sleep(0.2)
    await _send(pair.slots[:1], speaker_b, b, ts0=0xFFFFFFFF - 960 * 10)
    await asyncio.sleep(0.3)

    got = pair.packets(0)
    assert [p.payload for p in got] == a + b, "exactly the payloads, in order, nothing lost"
    assert [p.payload for p in pair.packets(1)] == a
    transceiver = pair.transceivers[0]
    assert {p.payload_type for p in got} == {transceiver._codecs[0].payloadType}
    assert {p.extensions.mid for p in got} == {transceiver.mid}
    seqs = [p.sequence_number for p in got]
    assert all((y - x) & 0xFFFF == 1 for x, y in itertools.pairwise(seqs))
    steps = [_signed(y.timestamp - x.timestamp) for x, y in itertools.pairwise(got)]
    assert steps[: len(a) - 1] == [960] * (len(a) - 1), "the speaker's own timing, kept"
    # At the switch, the real time that passed (~0.2 s + the send loop), never backwards.
    assert 0.2 * 48_000 <= steps[len(a) - 1] <= 1.5 * 48_000
    assert steps[len(a) :] == [960] * (len(b) - 1), "across the new speaker's wrap-around"
    assert [i for i, p in enumerate(got) if p.marker] == [0, len(a)], "talkspurt starts"
    assert pair.slots[0].forwarded == len(a) + len(b) and pair.slots[0].dropped == 0


async def test_sender_reports_count_the_lean_packets(pair: Pair) -> None:
    await _send(pair.slots[:1], object(), [b"x" * 50] * 50, ts0=0)
    sent = await pair.transceivers[0].sender.getStats()
    outbound = next(s for s in sent.values() if s.type == "outbound-rtp")
    assert (outbound.packetsSent, outbound.bytesSent) == (50, 2500)
    # The sender's own RTCP task reported them to the listener (every 0.5–1.5 s).
    for _ in range(40):
        stats = await pair.listener.getTransceivers()[0].receiver.getStats()
        remote = [s for s in stats.values() if s.type == "remote-outbound-rtp"]
        if remote and remote[0].packetsSent == 50:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"no sender report of the 50 packets: {list(stats.values())}")


async def test_unpinned_aiortc_falls_back_to_aiortc_senders(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(rtp_slot, "version", lambda _name: "9.0.0")
    with pytest.raises(HirobaError, match="lean audio forwarding supports"):
        LeanSlot(object())  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        plane = AudioPlane(lambda: CONFIG)
    assert not plane._lean and "not pinned" in caplog.text
    await plane.close()


async def test_plane_forwards_the_speakers_opus_untouched(
    loopback: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_opus_codec_calls(monkeypatch)
    calls["push"] = 0

    def counting_push(self, payload):  # type: ignore[no-untyped-def]
        calls["push"] += 1

    monkeypatch.setattr(ForwardedAudioTrack, "push", counting_push)
    plane = AudioPlane(lambda: CONFIG, AudioSettings(slots=3))
    tapped: list[bytes] = []
    forward = plane._forward

    def recording(peer: Any, payload: bytes, timestamp: int) -> None:
        tapped.append(payload)
        forward(peer, payload, timestamp)

    monkeypatch.setattr(plane, "_forward", recording)
    plane.set_speakers("hall", ["chair"])
    tone = Tone(500)
    speaker = await speak(CONFIG, plane.open_uplink, "chair", "hall", tone)
    listeners: list[RTCPeerConnection] = []
    heard: list[list[bytes]] = []
    try:
        for i in range(3):
            pc = RTCPeerConnection(CONFIG)
            for _ in range(3):
                pc.addTransceiver("audio", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())
            answer = await plane.open_listener(f"l{i}", "hall", pc.localDescription.sdp)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            got: list[bytes] = []
            take_rtp(pc, got.append)
            listeners.append(pc)
            heard.append(got)
        assert plane._lean
        await asyncio.sleep(2.0)
        await plane.close_uplink("chair")
        await asyncio.sleep(0.2)
        for got in heard:
            payloads = [RtpPacket.parse(data).payload for data in got]
            assert len(payloads) > 50
            # Everything after the listener's DTLS came up: the speaker's exact packets.
            start = tapped.index(payloads[0])
            assert payloads == tapped[start : start + len(payloads)]
            assert start + len(payloads) == len(tapped)
        # No per-listener work: no track pushes, no encode but the speaker's own, and no
        # decode at all (levels come from the packets' headers: issue 14, finding 9).
        assert calls["push"] == 0
        assert calls["encode"] <= tone.frames
        assert calls["decode"] == 0
    finally:
        await plane.close()
        for pc in listeners:
            await pc.close()
        await speaker.close()
