"""Client-side aiortc peers for identity-video tests and the benchmark: a camera that
films a solid colour, and a viewer that decodes what it receives and remembers its colour."""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import Awaitable, Callable

import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from av import VideoFrame

#: offer sdp -> answer sdp
Signal = Callable[[str], Awaitable[str]]


class SolidColour(MediaStreamTrack):
    """A camera that sees one colour: ``width``×``height`` RGB frames at ``fps``."""

    kind = "video"

    def __init__(self, rgb: tuple[int, int, int], width: int = 320, height: int = 240,
                 fps: int = 15) -> None:
        super().__init__()
        self.fps = fps
        self.frames = 0
        self._start: float | None = None
        picture = np.zeros((height, width, 3), dtype=np.uint8)
        picture[:, :] = rgb
        self._picture = picture

    async def recv(self) -> VideoFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        await asyncio.sleep(max(0.0, self._start + self.frames / self.fps - loop.time()))
        frame = VideoFrame.from_ndarray(self._picture, format="rgb24")
        frame.pts = self.frames * (90_000 // self.fps)
        frame.time_base = fractions.Fraction(1, 90_000)
        self.frames += 1
        return frame


class Noise(SolidColour):
    """A camera that sees grain: every frame new random pixels, so the encoder sends as
    much as its bitrate allows (a real face in a real room lies between this and a solid
    colour)."""

    def __init__(self, width: int = 320, height: int = 240, fps: int = 15) -> None:
        super().__init__((0, 0, 0), width, height, fps)
        self._rng = np.random.default_rng(7)

    async def recv(self) -> VideoFrame:
        self._picture = self._rng.integers(0, 256, self._picture.shape, dtype=np.uint8)
        return await super().recv()


async def publish(config: RTCConfiguration, signal: Signal, track: MediaStreamTrack
                  ) -> RTCPeerConnection:
    """A camera peer: one send-only video track, offered through ``signal``."""
    pc = RTCPeerConnection(config)
    pc.addTransceiver(track, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    answer = await signal(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return pc


class Viewer:
    """A viewer peer with ``slots`` receive-only video transceivers; decodes every frame
    (here, at the receiver) and keeps, per slot, the mean colour of the last one."""

    def __init__(self, config: RTCConfiguration, slots: int = 2) -> None:
        self.pc = RTCPeerConnection(config)
        self.colours: list[tuple[int, int, int] | None] = [None] * slots
        self.frames = [0] * slots
        self._tasks: list[asyncio.Task[None]] = []
        self._mids: list[str | None] = []
        for _ in range(slots):
            self.pc.addTransceiver("video", direction="recvonly")
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        index = next(i for i, t in enumerate(self.pc.getTransceivers())
                     if t.receiver.track is track)  # fmt: skip
        self._tasks.append(asyncio.ensure_future(self._read(index, track)))

    async def _read(self, index: int, track: MediaStreamTrack) -> None:
        while True:
            frame = await track.recv()
            assert isinstance(frame, VideoFrame)
            rgb = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
            self.colours[index] = (int(rgb[0]), int(rgb[1]), int(rgb[2]))
            self.frames[index] += 1

    async def connect(self, signal: Signal) -> str:
        """Offer, set the answer; returns the answer SDP."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await signal(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        return answer

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()


def close_to(seen: tuple[int, int, int] | None, rgb: tuple[int, int, int], within: int = 30
             ) -> bool:
    """Whether a decoded mean colour is ``rgb`` (VP8's 4:2:0 and quantisation move it a
    little)."""
    return seen is not None and all(abs(a - b) <= within for a, b in zip(seen, rgb, strict=True))
