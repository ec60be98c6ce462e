"""Voice mode: a mouth that follows the microphone level, for people without a camera.

The audio level is RFC 6464's: dBov of a PCM frame, from -127 (silence) to 0 (full
scale), computed with numpy (aiortc's pure-Python ``compute_audio_level_dbov`` costs about
1.6 ms per 20 ms frame; this about 0.03 ms). :class:`VoiceAnimator` turns a stream of
levels into poses with an attack/release envelope; time is always passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avatar.idle import IdleAnimator
from avatar.pose import BLENDSHAPE_INDEX, N_BLENDSHAPES, Pose, TrackingState

MIN_DBOV = -127
_FULL_SCALE = 32767.0


def audio_level_dbov(samples: npt.NDArray[np.int16]) -> int:
    """RFC 6464 level of 16-bit PCM samples (any shape; channels interleaved or planar).

    ``20 * log10(rms / 32767)`` rounded, clamped to [-127, 0]; -127 for silence or no
    samples. Matches aiortc's ``compute_audio_level_dbov`` for mono frames.
    """
    x = np.asarray(samples)
    if x.size == 0:
        return MIN_DBOV
    flat = x.reshape(-1).astype(np.float64)
    mean_square = float(np.dot(flat, flat)) / flat.size
    if mean_square <= 0.0:
        return MIN_DBOV
    db = 10.0 * math.log10(mean_square / (_FULL_SCALE * _FULL_SCALE))
    return round(min(0.0, max(float(MIN_DBOV), db)))


@dataclass(frozen=True, slots=True)
class VoiceParams:
    """How levels become a mouth.

    Levels at or below ``floor_dbov`` leave the mouth shut (room noise); at
    ``full_dbov`` and above it opens fully. The envelope rises with time constant
    ``attack_ms`` and falls with ``release_ms`` (speech opens fast and closes a little
    slower, which reads as natural). A slower envelope (``nod_ms``) follows the same
    level; the head dips by up to ``nod_degrees`` when the fast one runs ahead of it, a
    small nod on stressed syllables.
    """

    floor_dbov: float = -50.0
    full_dbov: float = -20.0
    attack_ms: float = 30.0
    release_ms: float = 120.0
    nod_ms: float = 400.0
    jaw_open: float = 0.6
    funnel: float = 0.15
    close: float = 0.2
    nod_degrees: float = 3.0


class VoiceAnimator:
    """Poses from audio levels. Feed it every level as it arrives, in time order.

    With an ``idle`` animator the face also blinks and breathes underneath the mouth.
    """

    def __init__(self, params: VoiceParams | None = None, idle: IdleAnimator | None = None):
        self.params = params or VoiceParams()
        self.idle = idle
        self._env = 0.0
        self._slow = 0.0
        self._t: int | None = None

    @property
    def openness(self) -> float:
        """The current envelope, 0 (shut) to 1 (fully open)."""
        return self._env

    def _target(self, level_dbov: float) -> float:
        p = self.params
        span = p.full_dbov - p.floor_dbov
        return min(1.0, max(0.0, (level_dbov - p.floor_dbov) / span))

    def update(self, level_dbov: float, timestamp_ms: int) -> Pose:
        """Take the level measured at ``timestamp_ms`` and return the pose for that time."""
        p = self.params
        target = self._target(level_dbov)
        dt = 0.0 if self._t is None else max(0, timestamp_ms - self._t)
        self._t = timestamp_ms if self._t is None else max(self._t, timestamp_ms)
        tau = p.attack_ms if target > self._env else p.release_ms
        self._env += (1.0 - math.exp(-dt / tau)) * (target - self._env)
        self._slow += (1.0 - math.exp(-dt / p.nod_ms)) * (target - self._slow)
        return self.pose_at(timestamp_ms)

    def pose_at(self, timestamp_ms: int) -> Pose:
        """The pose for the current envelope (without taking a new level)."""
        p = self.params
        env = self._env
        base = self.idle.pose_at(timestamp_ms) if self.idle is not None else None
        weights = list(base.weights) if base is not None else [0.0] * N_BLENDSHAPES
        weights[BLENDSHAPE_INDEX["jawOpen"]] = p.jaw_open * env
        weights[BLENDSHAPE_INDEX["mouthFunnel"]] = p.funnel * env
        # Lips meet as the jaw comes up between syllables, but not at rest.
        speaking = min(1.0, 4.0 * self._slow)
        weights[BLENDSHAPE_INDEX["mouthClose"]] = p.close * (1.0 - env) * speaking
        nod = -p.nod_degrees * min(1.0, max(0.0, env - self._slow))
        return Pose(
            timestamp_ms=timestamp_ms,
            state=TrackingState.VOICE,
            roll=base.roll if base is not None else 0.0,
            pitch=(base.pitch if base is not None else 0.0) + nod,
            yaw=base.yaw if base is not None else 0.0,
            position=base.position if base is not None else (0.0, 0.0, 0.0),
            weights=tuple(weights),
        )
