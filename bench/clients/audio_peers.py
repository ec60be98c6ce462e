"""Client-side aiortc peers for audio-plane tests: a tone 'microphone' and a listener.

:func:`take_rtp` is the cheap listener of the benchmark and of the lean-path tests: it
reaches below aiortc's receive path (aioice's datagram callback), so it is checked against
the aiortc / aioice versions :mod:`server.audio.lean` is pinned to.
"""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pylibsrtp
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import is_rtcp
from av import AudioFrame

from avatar.voice import audio_level_dbov
from server.audio.lean import lean_supported

#: (client id, room, offer sdp) -> answer sdp
Signal = Callable[[str, str, str], Awaitable[str]]


class Tone(MediaStreamTrack):
    """A sine tone in 20 ms mono frames, as a microphone would deliver speech."""

    kind = "audio"

    def __init__(self, hz: float = 440.0, amplitude: float = 8000.0) -> None:
        super().__init__()
        self.hz, self.amplitude = hz, amplitude
        self.frames = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        await asyncio.sleep(max(0.0, self._start + self.frames * 0.02 - loop.time()))
        t = (np.arange(960) + self.frames * 960) / 48_000
        samples = (self.amplitude * np.sin(2 * np.pi * self.hz * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48_000
        frame.pts = self.frames * 960
        frame.time_base = fractions.Fraction(1, 48_000)
        self.frames += 1
        return frame


def dominant_hz(frame: AudioFrame) -> float:
    """The strongest frequency of a decoded (48 kHz, interleaved) frame, in 50 Hz bins."""
    pcm = frame.to_ndarray().reshape(-1)
    channels = len(frame.layout.channels)
    mono = pcm[::channels].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(mono))
    return float(np.argmax(spectrum[1:]) + 1) * frame.sample_rate / mono.size


async def speak(
    config: RTCConfiguration, signal: Signal, pid: str, room: str, tone: Tone
) -> RTCPeerConnection:
    pc = RTCPeerConnection(config)
    pc.addTrack(tone)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await signal(pid, room, pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return pc


class Listener:
    """A listener peer with ``slots`` receive-only audio transceivers; decodes what it
    hears and records, per slot, the dominant frequency of every non-silent frame."""

    def __init__(self, config: RTCConfiguration, slots: int = 3) -> None:
        self.pc = RTCPeerConnection(config)
        self.heard: list[list[float]] = [[] for _ in range(slots)]
        self.frames = 0
        self._tasks: list[asyncio.Task[None]] = []
        for _ in range(slots):
            self.pc.addTransceiver("audio", direction="recvonly")
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        index = len(self._tasks)
        self._tasks.append(asyncio.ensure_future(self._read(index, track)))

    async def _read(self, index: int, track: MediaStreamTrack) -> None:
        while True:
            frame = await track.recv()
            assert isinstance(frame, AudioFrame)
            self.frames += 1
            if audio_level_dbov(np.asarray(frame.to_ndarray(), dtype=np.int16)) > -60:
                self.heard[index].append(dominant_hz(frame))

    def tones(self, min_frames: int = 10) -> set[int]:
        """Frequencies (rounded to 50 Hz) heard in at least ``min_frames`` frames."""
        counts: dict[int, int] = {}
        for slot in self.heard:
            for hz in slot:
                key = int(round(hz / 50.0) * 50)
                counts[key] = counts.get(key, 0) + 1
        return {hz for hz, n in counts.items() if n >= min_frames}

    def clear(self) -> None:
        for slot in self.heard:
            slot.clear()

    async def connect(self, signal: Signal, pid: str, room: str) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await signal(pid, room, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()


def take_rtp(pc: RTCPeerConnection, on_rtp: Callable[[bytes], None]) -> None:
    """Hand every SRTP media packet ``pc`` receives, unprotected, to ``on_rtp`` instead of
    aiortc's receive path (no queue, no RTP parsing, no jitter buffer, no decoder).

    ``pc`` stays a real ICE/DTLS peer: STUN (consent), DTLS and RTCP take aiortc's own way;
    a packet that fails SRTP authentication is not handed on. Call it once the local
    description is set (ICE has its sockets then); bundled transceivers share one
    transport, so this covers all of them.
    """
    if not lean_supported():
        raise RuntimeError("take_rtp reaches into aiortc/aioice internals of other versions")
    dtls = pc.getTransceivers()[0].receiver.transport
    for protocol in dtls.transport._connection._protocols:
        protocol.datagram_received = _srtp_first(  # type: ignore[method-assign,assignment]
            dtls, protocol.datagram_received, on_rtp
        )


_Datagram = Callable[[bytes | str, tuple[Any, ...]], None]


def _srtp_first(dtls: Any, original: _Datagram, on_rtp: Callable[[bytes], None]) -> _Datagram:
    def datagram_received(data: bytes | str, addr: tuple[Any, ...]) -> None:
        session = dtls._rx_srtp  # set once DTLS is up; before that aiortc drops media too
        if (
            session is not None
            and isinstance(data, bytes)
            and 127 < data[0] < 192
            and not is_rtcp(data)
        ):
            try:
                plain = session.unprotect(data)
            except pylibsrtp.Error:
                return
            on_rtp(plain)
            return
        original(data, addr)

    return datagram_received


def count_opus_codec_calls(monkeypatch: Any) -> dict[str, int]:
    """Count every Opus encode and decode in this process from now on (the forwarding
    path must do neither per listener); returns the live counters."""
    from aiortc.codecs import opus

    calls = {"encode": 0, "decode": 0}
    real_encode, real_decode = opus.OpusEncoder.encode, opus.OpusDecoder.decode

    def counting_encode(self: Any, frame: Any, force_keyframe: bool = False) -> Any:
        calls["encode"] += 1
        return real_encode(self, frame, force_keyframe)

    def counting_decode(self: Any, encoded_frame: Any) -> Any:
        calls["decode"] += 1
        return real_decode(self, encoded_frame)

    monkeypatch.setattr(opus.OpusEncoder, "encode", counting_encode)
    monkeypatch.setattr(opus.OpusDecoder, "decode", counting_decode)
    return calls
