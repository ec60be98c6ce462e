"""Cumulative histograms of durations, as ``/metrics`` exposes them (server/observe/metrics.py).

A Prometheus *histogram* counts, since start, the observations at or below each of a
fixed list of bounds, with their sum and count. Unlike a summary's quantiles (computed in
one process over its recent window), bucket counts of several nodes add up: the cluster's
99th percentile is ``histogram_quantile(0.99, sum by (le) (rate(X_bucket[5m])))``. That is
why every node must use the same bounds: they are fixed here, once per figure.

Observing is one ``bisect`` and three additions, on the event loop's thread only (no lock).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from itertools import pairwise

#: A motion tick: well under a millisecond with a few people, a few milliseconds with
#: hundreds; its budget is the tick period (100 ms at 10 Hz, 16.7 ms at 60 Hz), so the
#: bounds are finest below that and the last ones show ticks that overran it.
TICK_SECONDS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
#: Server-side face tracking, camera frame arrival to pose: ~10 ms of MediaPipe on an idle
#: core, tens of milliseconds when the cores are shared, more when frames queue.
TRACKING_SECONDS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5)


class Histogram:
    """Observations counted into fixed buckets since start."""

    __slots__ = ("_counts", "bounds", "count", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        if not bounds or any(not math.isfinite(b) for b in bounds) or any(
            b >= c for b, c in pairwise(bounds)
        ):
            raise ValueError("histogram bounds must be finite and strictly increasing")
        self.bounds = tuple(float(b) for b in bounds)
        #: Observations per bucket, not cumulative; the last one is above every bound.
        self._counts = [0] * (len(self.bounds) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bound's bucket (le: <=).
        self._counts[bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value

    def cumulative(self) -> list[tuple[float, int]]:
        """``(bound, observations <= bound)`` for each bound, then ``(inf, count)``."""
        out: list[tuple[float, int]] = []
        running = 0
        for bound, n in zip((*self.bounds, math.inf), self._counts, strict=True):
            running += n
            out.append((bound, running))
        return out
