"""One Euro filter (Casiez, Roussel and Vogel, CHI 2012), vectorised over channels.

A low-pass filter whose cutoff rises with the signal's speed: a still face is smoothed
hard (little jitter), a moving one lightly (little lag). Per channel:
``cutoff = min_cutoff + beta * |smoothed derivative|``. Parameters come from settings
(``tracking_head_*``, ``tracking_face_*``, ``tracking_d_cutoff``); ``docs/performance.md``
has the jitter and lag they give.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avatar.pose import N_BLENDSHAPES, Pose

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class OneEuroParams:
    """``min_cutoff`` and ``d_cutoff`` in hertz; ``beta`` in seconds per signal unit."""

    min_cutoff: float = 1.0
    beta: float = 0.0
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        if not (self.min_cutoff > 0 and self.d_cutoff > 0 and self.beta >= 0):
            raise ValueError("One Euro cutoffs must be positive and beta not negative")


def _alpha(cutoff: FloatArray | float, dt: float) -> FloatArray:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64))
    return np.asarray(1.0 / (1.0 + tau / dt), dtype=np.float64)


class OneEuroFilter:
    """A One Euro filter over ``n`` channels; each channel may have its own parameters."""

    def __init__(
        self,
        n: int,
        min_cutoff: FloatArray | float,
        beta: FloatArray | float,
        d_cutoff: FloatArray | float = 1.0,
    ) -> None:
        self.n = n
        self.min_cutoff = np.broadcast_to(np.asarray(min_cutoff, dtype=np.float64), (n,))
        self.beta = np.broadcast_to(np.asarray(beta, dtype=np.float64), (n,))
        self.d_cutoff = np.broadcast_to(np.asarray(d_cutoff, dtype=np.float64), (n,))
        if np.any(self.min_cutoff <= 0) or np.any(self.beta < 0) or np.any(self.d_cutoff <= 0):
            raise ValueError("One Euro cutoffs must be positive and beta not negative")
        self._x: FloatArray | None = None
        self._dx: FloatArray = np.zeros(n)
        self._t: float = 0.0

    def reset(self) -> None:
        """Forget the past: the next sample passes through unchanged."""
        self._x = None
        self._dx = np.zeros(self.n)

    def __call__(self, x: npt.ArrayLike, t_s: float) -> FloatArray:
        """The filtered value of sample ``x`` taken at time ``t_s`` (seconds)."""
        value = np.asarray(x, dtype=np.float64).reshape(self.n)
        if self._x is None:
            self._x, self._t = value.copy(), t_s
            return value.copy()
        dt = t_s - self._t
        if dt <= 0:  # a repeated or out-of-order timestamp carries no speed information
            return self._x.copy()
        dx = (value - self._x) / dt
        self._dx = self._dx + _alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, dt) * (value - self._x)
        self._t = t_s
        return self._x.copy()


#: Channel layout of :class:`PoseFilter`: roll, pitch, yaw (degrees), x, y, z
#: (millimetres, so that one ``beta`` fits both), then the 52 weights.
_HEAD = 6


class PoseFilter:
    """Smooths a stream of poses: head channels with one set of parameters, weights with
    another (a blink must get through, a jittery brow must not)."""

    def __init__(self, head: OneEuroParams, face: OneEuroParams) -> None:
        n = _HEAD + N_BLENDSHAPES
        min_cutoff = np.full(n, face.min_cutoff)
        min_cutoff[:_HEAD] = head.min_cutoff
        beta = np.full(n, face.beta)
        beta[:_HEAD] = head.beta
        d_cutoff = np.full(n, face.d_cutoff)
        d_cutoff[:_HEAD] = head.d_cutoff
        self._filter = OneEuroFilter(n, min_cutoff, beta, d_cutoff)

    def reset(self) -> None:
        """Start afresh (after the face was lost, so the avatar does not glide back)."""
        self._filter.reset()

    def __call__(self, pose: Pose) -> Pose:
        """The smoothed pose; state and timestamp pass through."""
        x = np.empty(_HEAD + N_BLENDSHAPES)
        x[:3] = (pose.roll, pose.pitch, pose.yaw)
        x[3:6] = np.asarray(pose.position) * 1000.0
        x[6:] = pose.weights
        y = self._filter(x, pose.timestamp_ms / 1000.0)
        return Pose(
            timestamp_ms=pose.timestamp_ms,
            state=pose.state,
            roll=float(y[0]),
            pitch=float(y[1]),
            yaw=float(y[2]),
            position=(float(y[3]) / 1000.0, float(y[4]) / 1000.0, float(y[5]) / 1000.0),
            weights=tuple(float(v) for v in np.clip(y[6:], 0.0, 1.0)),
        )
