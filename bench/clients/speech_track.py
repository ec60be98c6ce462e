"""A microphone that speaks audio files: an aiortc audio track playing whatever clips it is
given (Ogg Opus, WAV...; decoded to 48 kHz mono), in real time, and silence between
them. Used by the live captions test and bench (issue 17) to have a peer with the floor
say synthesised Japanese.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack
from av import AudioFrame

RATE = 48_000
FRAME = 960  # 20 ms

Pcm = npt.NDArray[np.int16]


def load_pcm(path: Path) -> Pcm:
    """The first audio stream of ``path`` as 48 kHz mono signed 16-bit samples."""
    chunks: list[Pcm] = []
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        for frame in container.decode(container.streams.audio[0]):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1).copy())
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1).copy())
    return np.concatenate(chunks).astype(np.int16)


class SpeechTrack(MediaStreamTrack):
    """Plays queued clips one after another, silence otherwise; :attr:`finished` holds
    the wall-clock time (``time.time()``) each clip's last frame was sent."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[Pcm] = deque()
        self._playing: Pcm | None = None
        self._at = 0
        self.frames = 0
        self._start: float | None = None
        self.finished: list[float] = []
        self._done = asyncio.Event()

    def say(self, pcm: Pcm) -> None:
        """Queue a clip (48 kHz mono s16)."""
        self._queue.append(pcm)
        self._done.clear()

    async def said(self) -> float:
        """Wait until every queued clip has been sent; the time the last one ended."""
        await self._done.wait()
        return self.finished[-1]

    async def recv(self) -> AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        await asyncio.sleep(max(0.0, self._start + self.frames * 0.02 - loop.time()))
        if self._playing is None and self._queue:
            self._playing, self._at = self._queue.popleft(), 0
        samples = np.zeros(FRAME, np.int16)
        if self._playing is not None:
            part = self._playing[self._at : self._at + FRAME]
            samples[: part.size] = part
            self._at += FRAME
            if self._at >= self._playing.size:
                self._playing = None
                self.finished.append(time.time())
                if not self._queue:
                    self._done.set()
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self.frames * FRAME
        frame.time_base = fractions.Fraction(1, RATE)
        self.frames += 1
        return frame
