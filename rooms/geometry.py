"""Plane geometry on the ground (x, z), in metres."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def normalise_heading(h: float) -> float:
    """Map an angle in radians to (-pi, pi]."""
    h = math.fmod(h, math.tau)
    if h <= -math.pi:
        h += math.tau
    elif h > math.pi:
        h -= math.tau
    return h


def normalise_headings(h: FloatArray) -> FloatArray:
    """:func:`normalise_heading` of every element (the same fmod and the same edges)."""
    h = np.fmod(h, math.tau)
    h = np.where(h <= -math.pi, h + math.tau, h)
    return np.where(h > math.pi, h - math.tau, h)


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-aligned rectangle given by its centre and its size along x and z."""

    x: float
    z: float
    width: float
    depth: float

    @property
    def min_x(self) -> float:
        return self.x - self.width / 2

    @property
    def max_x(self) -> float:
        return self.x + self.width / 2

    @property
    def min_z(self) -> float:
        return self.z - self.depth / 2

    @property
    def max_z(self) -> float:
        return self.z + self.depth / 2

    def contains(self, x: float, z: float, margin: float = 0.0) -> bool:
        """True when (x, z) lies inside the rectangle grown by ``margin`` on every side."""
        return (
            self.min_x - margin < x < self.max_x + margin
            and self.min_z - margin < z < self.max_z + margin
        )

    def clamp(self, x: float, z: float, inset: float = 0.0) -> tuple[float, float]:
        """The nearest point to (x, z) inside the rectangle shrunk by ``inset``."""
        return (
            min(max(x, self.min_x + inset), self.max_x - inset),
            min(max(z, self.min_z + inset), self.max_z - inset),
        )

    def push_out(self, x: float, z: float, margin: float = 0.0) -> tuple[float, float]:
        """Move a point inside the rectangle (grown by ``margin``) to its nearest edge."""
        if not self.contains(x, z, margin):
            return x, z
        candidates = (
            (x - (self.min_x - margin), (self.min_x - margin, z)),
            ((self.max_x + margin) - x, (self.max_x + margin, z)),
            (z - (self.min_z - margin), (x, self.min_z - margin)),
            ((self.max_z + margin) - z, (x, self.max_z + margin)),
        )
        return min(candidates, key=lambda c: c[0])[1]

    def to_wire(self) -> dict[str, float]:
        return {"x": self.x, "z": self.z, "width": self.width, "depth": self.depth}


def clamp_many(
    rect: Rect, x: FloatArray, z: FloatArray, inset: float = 0.0
) -> tuple[FloatArray, FloatArray]:
    """:meth:`Rect.clamp` of every point (x[i], z[i])."""
    return (
        np.minimum(np.maximum(x, rect.min_x + inset), rect.max_x - inset),
        np.minimum(np.maximum(z, rect.min_z + inset), rect.max_z - inset),
    )


def push_out_many(
    rect: Rect, x: FloatArray, z: FloatArray, margin: float = 0.0
) -> tuple[FloatArray, FloatArray]:
    """:meth:`Rect.push_out` of every point: those inside the grown rectangle go to its
    nearest edge (ties broken in the same order: left, right, near, far)."""
    lo_x, hi_x = rect.min_x - margin, rect.max_x + margin
    lo_z, hi_z = rect.min_z - margin, rect.max_z + margin
    inside = (lo_x < x) & (x < hi_x) & (lo_z < z) & (z < hi_z)
    edge = np.argmin(np.stack((x - lo_x, hi_x - x, z - lo_z, hi_z - z)), axis=0)
    new_x = np.where(edge == 0, lo_x, np.where(edge == 1, hi_x, x))
    new_z = np.where(edge == 2, lo_z, np.where(edge == 3, hi_z, z))
    return np.where(inside, new_x, x), np.where(inside, new_z, z)
