"""A uniform spatial hash grid for interest management.

Later issues ask "who is near this listener" many times per tick; the grid answers in
time proportional to the people in the nearby cells rather than to everyone present.
"""

from __future__ import annotations

import math
from collections.abc import Iterator


class SpatialGrid:
    """Points keyed by id, bucketed into square cells of ``cell_size`` metres."""

    def __init__(self, cell_size: float = 4.0) -> None:
        if cell_size <= 0:
            raise ValueError("cell_size must be positive")
        self.cell_size = cell_size
        self._cells: dict[tuple[int, int], set[str]] = {}
        self._where: dict[str, tuple[float, float, tuple[int, int]]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def _cell(self, x: float, z: float) -> tuple[int, int]:
        return (math.floor(x / self.cell_size), math.floor(z / self.cell_size))

    def position(self, key: str) -> tuple[float, float]:
        x, z, _ = self._where[key]
        return x, z

    def set(self, key: str, x: float, z: float) -> None:
        """Insert ``key`` at (x, z), or move it there."""
        cell = self._cell(x, z)
        old = self._where.get(key)
        if old is not None and old[2] != cell:
            self._discard_from_cell(key, old[2])
        if old is None or old[2] != cell:
            self._cells.setdefault(cell, set()).add(key)
        self._where[key] = (x, z, cell)

    def remove(self, key: str) -> None:
        """Forget ``key``; unknown keys are ignored."""
        old = self._where.pop(key, None)
        if old is not None:
            self._discard_from_cell(key, old[2])

    def _discard_from_cell(self, key: str, cell: tuple[int, int]) -> None:
        members = self._cells.get(cell)
        if members is not None:
            members.discard(key)
            if not members:
                del self._cells[cell]

    def _candidates(self, x: float, z: float, radius: float) -> Iterator[str]:
        cx0, cz0 = self._cell(x - radius, z - radius)
        cx1, cz1 = self._cell(x + radius, z + radius)
        if (cx1 - cx0 + 1) * (cz1 - cz0 + 1) > len(self._cells):
            # A query wider than the populated area: walking the cells is cheaper.
            for bucket in self._cells.values():
                yield from bucket
            return
        for cx in range(cx0, cx1 + 1):
            for cz in range(cz0, cz1 + 1):
                members = self._cells.get((cx, cz))
                if members:
                    yield from members

    def within(self, x: float, z: float, radius: float) -> list[str]:
        """Ids whose point lies at distance <= ``radius`` from (x, z)."""
        if radius < 0:
            return []
        r2 = radius * radius
        found = []
        for key in self._candidates(x, z, radius):
            px, pz, _ = self._where[key]
            if (px - x) ** 2 + (pz - z) ** 2 <= r2:
                found.append(key)
        return found

    def nearest(self, x: float, z: float, k: int, max_radius: float) -> list[str]:
        """Up to ``k`` ids within ``max_radius``, nearest first (ties broken by id)."""
        if k <= 0:
            return []
        ranked = sorted(
            ((self._where[key][0] - x) ** 2 + (self._where[key][1] - z) ** 2, key)
            for key in self.within(x, z, max_radius)
        )
        return [key for _, key in ranked[:k]]
