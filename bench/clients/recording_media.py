"""Real Opus packets and decoding for the recording tests (PyAV's libopus and ffmpeg)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

RATE = 48_000


def opus_packets(
    seconds: float, freq: float = 440.0, bitrate: int = 20_000, frame_ms: int = 20
) -> list[bytes]:
    """A tone encoded by libopus as a browser would send it: mono, 48 kHz, VoIP mode."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate = RATE  # type: ignore[attr-defined]
    enc.layout = "mono"  # type: ignore[attr-defined]
    enc.format = "s16"  # type: ignore[attr-defined]
    enc.bit_rate = bitrate
    enc.options = {"frame_duration": str(frame_ms), "application": "voip"}
    enc.open()
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    pcm = (np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16)
    step = RATE * frame_ms // 1000
    out: list[bytes] = []
    for i in range(0, n - step + 1, step):
        frame = av.AudioFrame.from_ndarray(pcm[None, i : i + step], format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = i
        frame.time_base = Fraction(1, RATE)
        out += [bytes(p) for p in enc.encode(frame)]  # type: ignore[attr-defined]
    return out


def decode(path: Path) -> npt.NDArray[np.float32]:
    """Every decoded sample of an audio file's first stream (mono, float)."""
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks.append(frame.to_ndarray().reshape(-1).astype(np.float32))
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


class TrackedFace:
    """Poses like a face-tracked member's after the tracker's filters: a head that drifts
    and nods, small tracker noise on every value, about two thirds of the 52 weights off
    zero at rest, blinks, and a mouth that moves at syllable rate while speaking. Used to
    measure motion-log sizes with something less compressible than idle avatars."""

    def __init__(self, rng: np.random.Generator) -> None:
        from avatar.idle import IdleAnimator

        self.rng = rng
        self.idle = IdleAnimator(rng)
        self.rot = rng.normal(0.0, 3.0, 3)
        self.base = np.where(rng.random(52) < 0.65, rng.uniform(0.0, 0.25, 52), 0.0)
        self.speaking = False

    def pose(self, t_ms: int) -> bytes:
        from avatar.codec import encode
        from avatar.pose import BLENDSHAPE_INDEX, Pose, TrackingState

        rng = self.rng
        self.rot = 0.995 * self.rot + rng.normal(0.0, 0.15, 3)
        rot = self.rot + rng.normal(0.0, 0.03, 3)
        weights = np.clip(self.base + rng.normal(0.0, 0.008, 52), 0.0, 1.0)
        weights[self.base == 0.0] = 0.0
        idle = self.idle.pose_at(t_ms)
        blink = idle.weight("eyeBlinkLeft")
        for name in ("eyeBlinkLeft", "eyeBlinkRight"):
            weights[BLENDSHAPE_INDEX[name]] = max(blink, weights[BLENDSHAPE_INDEX[name]])
        if self.speaking:
            jaw = 0.25 + 0.2 * np.sin(2 * np.pi * 4.0 * t_ms / 1000 + rng.normal(0, 0.3))
            weights[BLENDSHAPE_INDEX["jawOpen"]] = jaw
            weights[BLENDSHAPE_INDEX["mouthFunnel"]] = 0.5 * jaw
        pose = Pose(
            timestamp_ms=t_ms,
            state=TrackingState.TRACKED,
            roll=float(rot[0]),
            pitch=float(rot[1] + idle.pitch),
            yaw=float(rot[2] + idle.yaw),
            position=tuple(float(v) for v in rng.normal(0.0, 0.0015, 3)),  # type: ignore[arg-type]
            weights=tuple(float(w) for w in weights),
        )
        return encode(pose)
