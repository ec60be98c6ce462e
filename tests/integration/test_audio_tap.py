"""Opus forwarding through real aiortc peers on loopback: no decode, no re-encode per listener."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection

from avatar.voice import audio_level_dbov
from bench.clients.audio_peers import Tone, count_opus_codec_calls
from server.audio.forward import ForwardedAudioTrack
from server.audio.tap import install_tap
from server.rtc.ice import rtc_configuration, use_host_addresses


@pytest.fixture
async def loopback() -> AsyncIterator[None]:
    use_host_addresses(["127.0.0.1"])
    yield
    use_host_addresses([])


async def connect(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


async def test_speaker_forwarded_to_listeners_without_transcoding(loopback, monkeypatch) -> None:
    calls = count_opus_codec_calls(monkeypatch)


    config = rtc_configuration([])
    speaker, server_in = RTCPeerConnection(config), RTCPeerConnection(config)
    tone = Tone()
    speaker.addTrack(tone)
    listeners = [RTCPeerConnection(config) for _ in range(3)]
    server_out = [RTCPeerConnection(config) for _ in listeners]
    slots = [ForwardedAudioTrack() for _ in listeners]
    tapped: list[int] = []

    def forward(payload: bytes, timestamp: int) -> None:
        tapped.append(len(payload))
        for slot in slots:
            slot.push(payload)

    server_tracks: list[MediaStreamTrack] = []

    @server_in.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        install_tap(server_in.getReceivers()[0], forward, decode=False)
        server_tracks.append(track)

    heard: list[list[int]] = [[] for _ in listeners]
    tasks: list[asyncio.Future[None]] = []

    def listen(index: int, pc: RTCPeerConnection) -> None:
        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            async def read() -> None:
                while True:
                    frame = await track.recv()
                    pcm = frame.to_ndarray().astype(np.int16).ravel()
                    heard[index].append(audio_level_dbov(pcm))

            tasks.append(asyncio.ensure_future(read()))

    try:
        await connect(speaker, server_in)
        for i, (listener, out) in enumerate(zip(listeners, server_out, strict=True)):
            out.addTrack(slots[i])
            listen(i, listener)
            await connect(out, listener)
        await asyncio.sleep(2.0)
        assert len(tapped) > 50, "the server saw the speaker's Opus packets"
        for index, levels in enumerate(heard):
            assert len(levels) > 40, f"listener {index} heard {len(levels)} frames"
            assert np.median(levels[10:]) < 40, "a tone, not silence (dBov, 127 = silence)"
        # One encode per spoken frame (the speaker's own), whatever the number of
        # listeners; decodes only at the listeners, none on the server's side.
        assert calls["encode"] <= tone.frames
        # Every decode is a listener's (frames still in flight in their decoder threads
        # at most a few per listener); the server's received track yields nothing at all.
        listened = sum(len(h) for h in heard)
        assert listened <= calls["decode"] <= listened + 10 * len(listeners)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(server_tracks[0].recv(), 0.5)
        # A listener that falls behind loses its oldest packets instead of queuing them;
        # on a loaded machine a few may go, but not a noticeable share.
        for slot in slots:
            assert slot._packets.qsize() <= 5
            assert slot.dropped <= 0.05 * slot.forwarded
    finally:
        for task in tasks:
            task.cancel()
        for pc in (speaker, server_in, *listeners, *server_out):
            await pc.close()
