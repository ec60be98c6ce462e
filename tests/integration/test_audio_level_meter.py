"""Plaza microphones are metered without decoding them (issue 14, finding 9).

A real aiortc speaker sends a tone, then silence, then the tone again; the plane's active
set follows it while no Opus decoder runs in the process. Once with the RFC 6464
``ssrc-audio-level`` header extension (aiortc and browsers send it when negotiated), once
with it struck from the offer, when the level is estimated from the packets' sizes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCPeerConnection

from bench.clients.audio_peers import Tone, count_opus_codec_calls, speak
from server.audio.plane import AudioPlane, AudioSettings
from server.rtc.ice import rtc_configuration, use_host_addresses
from tests.conftest import eventually

CONFIG = rtc_configuration([])
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


@pytest.fixture
async def plane() -> AsyncIterator[AudioPlane]:
    use_host_addresses(["127.0.0.1"])
    plane = AudioPlane(lambda: CONFIG, AudioSettings(active_hold=0.3))
    try:
        yield plane
    finally:
        await plane.close()
        use_host_addresses([])


@pytest.mark.parametrize("header", [True, False], ids=["rfc6464-header", "size-estimate"])
async def test_levels_follow_speech_and_silence_without_a_decoder(
    plane: AudioPlane, header: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_opus_codec_calls(monkeypatch)

    async def signal(pid: str, room: str, sdp: str) -> str:
        if not header:
            sdp = "".join(line for line in sdp.splitlines(keepends=True)
                          if AUDIO_LEVEL not in line)
        answer = await plane.open_uplink(pid, room, sdp)
        assert (AUDIO_LEVEL in answer) is header
        return answer

    tone = Tone(440.0, amplitude=8000.0)
    pc: RTCPeerConnection = await speak(CONFIG, signal, "s", "room", tone)
    try:
        def active() -> bool:
            return plane.active_speakers("room") == {"s"}

        await eventually(active, within=5)
        tone.amplitude = 0.0  # the microphone hears nothing: silence packets
        await eventually(lambda: not active(), within=3)
        await asyncio.sleep(0.5)
        assert not active(), "silence keeps the speaker inactive"
        tone.amplitude = 8000.0
        await eventually(active, within=3)
        uplink = plane.stats()["uplinks"]["s"]
        assert uplink["frames"] >= uplink["packets"] - 5 > 25, "a level for every packet"
        if header:
            assert uplink["estimated"] == 0, "the sender's header levels were used"
        else:
            assert uplink["estimated"] == uplink["frames"], "estimated from packet sizes"
        # Only the speaker's encoder ran: the server decoded nothing to meter the levels.
        assert calls["encode"] > 25
        assert calls["decode"] == 0
    finally:
        await pc.close()
