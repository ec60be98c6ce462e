"""Idle mode: an avatar nobody drives still blinks and breathes, so nobody looks dead.

Deterministic for a given random generator and sequence of times (tests seed it); each
avatar gets its own generator so that a hall of idle avatars does not blink in step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from avatar.pose import BLENDSHAPE_INDEX, N_BLENDSHAPES, Pose, TrackingState


@dataclass(frozen=True, slots=True)
class IdleParams:
    """Blinks come ``min_gap_s`` plus a gamma-distributed wait apart (mean
    ``min_gap_s + gap_shape * gap_scale_s``, about 4.6 s: people in a meeting blink less
    than at rest); ``double_blink`` of them are doubled. A blink closes in ``close_ms``,
    stays shut ``hold_ms`` and opens in ``open_ms``. Breathing is a slow nod of
    ``breath_degrees`` and a rise of ``breath_mm`` with a period drawn from
    ``breath_period_s``; ``sway_degrees`` of very slow yaw keeps the head from freezing.
    """

    min_gap_s: float = 1.0
    gap_shape: float = 3.0
    gap_scale_s: float = 1.2
    double_blink: float = 0.1
    close_ms: float = 70.0
    hold_ms: float = 20.0
    open_ms: float = 130.0
    breath_degrees: float = 0.6
    breath_mm: float = 2.0
    breath_period_s: tuple[float, float] = (4.0, 5.5)
    sway_degrees: float = 0.8
    sway_period_s: float = 13.0


class IdleAnimator:
    """Idle poses over time. Times should not go back more than about a second."""

    def __init__(self, rng: np.random.Generator, params: IdleParams | None = None) -> None:
        self.params = params or IdleParams()
        self._rng = rng
        lo, hi = self.params.breath_period_s
        self._breath_period = float(rng.uniform(lo, hi))
        self._breath_phase = float(rng.uniform(0.0, 2 * math.pi))
        self._sway_phase = float(rng.uniform(0.0, 2 * math.pi))
        self._blinks: list[float] = []  # start times, seconds, in order
        self._next = float(self._gap())

    def _gap(self) -> float:
        p = self.params
        return p.min_gap_s + float(self._rng.gamma(p.gap_shape, p.gap_scale_s))

    def _schedule_until(self, t: float) -> None:
        while self._next <= t:
            self._blinks.append(self._next)
            if self._rng.random() < self.params.double_blink:
                self._blinks.append(self._next + 0.25)
            self._next += self._gap()
        horizon = t - 1.0
        while self._blinks and self._blinks[0] < horizon:
            self._blinks.pop(0)

    def blink_weight(self, t: float) -> float:
        """How shut the eyes are at ``t`` seconds, 0..1."""
        self._schedule_until(t)
        p = self.params
        close, hold, opening = p.close_ms / 1000, p.hold_ms / 1000, p.open_ms / 1000
        weight = 0.0
        for start in self._blinks:
            u = t - start
            if u < 0 or u > close + hold + opening:
                continue
            if u < close:
                w = math.sin(0.5 * math.pi * u / close)
            elif u < close + hold:
                w = 1.0
            else:
                w = math.cos(0.5 * math.pi * (u - close - hold) / opening)
            weight = max(weight, w * w)
        return weight

    def pose_at(self, timestamp_ms: int) -> Pose:
        """The idle pose at ``timestamp_ms``."""
        p = self.params
        t = timestamp_ms / 1000.0
        breath = math.sin(2 * math.pi * t / self._breath_period + self._breath_phase)
        sway = math.sin(2 * math.pi * t / p.sway_period_s + self._sway_phase)
        weights = [0.0] * N_BLENDSHAPES
        blink = self.blink_weight(t)
        weights[BLENDSHAPE_INDEX["eyeBlinkLeft"]] = blink
        weights[BLENDSHAPE_INDEX["eyeBlinkRight"]] = blink
        return Pose(
            timestamp_ms=timestamp_ms,
            state=TrackingState.IDLE,
            pitch=p.breath_degrees * breath,
            yaw=p.sway_degrees * sway,
            position=(0.0, p.breath_mm * breath / 1000.0, 0.0),
            weights=tuple(weights),
        )
