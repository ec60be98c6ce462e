"""Interest management for the motion plane: who receives whom, and how often.

Each tick every receiver gets one frame holding the entities it needs:

- everyone on the stage, whenever their state changed (full rate), wherever the receiver is;
- its ``near_k`` nearest neighbours within ``near_radius``, whenever they changed;
- everyone else within ``cull_radius`` at a lower rate (once every ``far_period`` ticks,
  staggered by row so the load spreads over the ticks), if they changed;
- nobody beyond ``cull_radius``;
- itself only when its pose is made on the server (``echo``), whenever it changed.

Anything in view that a receiver has not been sent for ``refresh_period`` ticks is sent
again even if unchanged: frames may be lost on an unreliable transport or skipped for a
slow receiver, and the receiver must converge anyway.

The decision for all receivers is taken at once on (rows x rows) numpy matrices, not per
receiver per entity in Python. Rows are dense indices that the table hands out; callers
map them to participants. Pure: no I/O, the tick number is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BoolMatrix = npt.NDArray[np.bool_]
Indices = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class InterestConfig:
    """Tuning of interest management; rates are in ticks of the motion plane."""

    near_k: int = 8
    near_radius: float = 12.0
    cull_radius: float = 30.0
    #: Ticks between updates of far entities (20 Hz tick, period 20: 1 Hz).
    far_period: int = 20
    #: Ticks after which anything in view is resent even if unchanged.
    refresh_period: int = 60
    #: Ticks between recomputing neighbourhoods (people walk ~1.4 m/s: a few per second
    #: is plenty, and it is the only O(rows^2 log) step).
    neighbour_period: int = 5

    def __post_init__(self) -> None:
        if min(self.far_period, self.refresh_period, self.neighbour_period) < 1:
            raise ValueError("periods are at least one tick")
        if self.near_k < 0 or self.near_radius < 0 or self.cull_radius < self.near_radius:
            raise ValueError("need 0 <= near_radius <= cull_radius and near_k >= 0")


class InterestTable:
    """State of one room's motion plane, in arrays indexed by row."""

    def __init__(self, config: InterestConfig, capacity: int) -> None:
        """Arrays for up to ``capacity`` entities (the room's capacity): ~11 bytes per
        (receiver, entity) pair, 4 MB for 600 people; work scales with those present."""
        self.config = config
        self.capacity = capacity
        self._rows: dict[str, int] = {}
        self._keys: list[str | None] = [None] * capacity
        # Hand out low rows first: the active block of the matrices stays compact.
        self._free = list(range(capacity - 1, -1, -1))
        self.active = np.zeros(capacity, np.bool_)
        self.receiving = np.zeros(capacity, np.bool_)
        self.on_stage = np.zeros(capacity, np.bool_)
        #: Rows that receive their own entry: their pose is made on the server (server-side
        #: tracking), so their page has no other way to show them their own face.
        self.echo = np.zeros(capacity, np.bool_)
        self.xz = np.zeros((capacity, 2), np.float32)
        # int32 versions and ticks wrap after 2^31 ticks: over three years at 20 Hz.
        self.version = np.zeros(capacity, np.int32)
        self.last_sent = np.zeros((capacity, capacity), np.int32)
        self.last_sent_tick = np.zeros((capacity, capacity), np.int32)
        self.near = np.zeros((capacity, capacity), np.bool_)
        self.in_range = np.zeros((capacity, capacity), np.bool_)
        self._scratch_a = np.zeros(capacity * capacity, np.bool_)
        self._scratch_b = np.zeros(capacity * capacity, np.bool_)
        #: The last select_pairs' pairs and the marks they had before it (for unmark).
        self._marked: tuple[npt.NDArray[np.generic], ...] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def row(self, key: str) -> int:
        return self._rows[key]

    def key(self, row: int) -> str:
        key = self._keys[row]
        if key is None:
            raise KeyError(row)
        return key

    def add(self, key: str, x: float, z: float, *, on_stage: bool, receiving: bool) -> int:
        """Start tracking ``key``; returns its row."""
        if key in self._rows:
            raise ValueError(f"{key} is already in the table")
        if not self._free:
            raise ValueError(f"the table is full ({self.capacity})")
        row = self._free.pop()
        self._rows[key] = row
        self._keys[row] = key
        self.active[row] = True
        self.receiving[row] = receiving
        self.on_stage[row] = on_stage
        self.xz[row] = (x, z)
        self.version[row] += 1
        # A newcomer has been sent nothing, and nobody has been sent the newcomer.
        for matrix in (self.last_sent, self.last_sent_tick):
            matrix[row, :] = 0
            matrix[:, row] = 0
        self._update_neighbourhood_of(row)
        return row

    def remove(self, key: str) -> None:
        row = self._rows.pop(key)
        self._keys[row] = None
        self.active[row] = self.receiving[row] = self.on_stage[row] = self.echo[row] = False
        self.near[row, :] = self.near[:, row] = False
        self.in_range[row, :] = self.in_range[:, row] = False
        self._free.append(row)
        self._free.sort(reverse=True)

    def set_receiving(self, key: str, receiving: bool) -> None:
        row = self._rows[key]
        self.receiving[row] = receiving
        if receiving:
            # A (re)connected receiver knows nothing: send it everything in view.
            self.last_sent[row, :] = 0
            self.last_sent_tick[row, :] = 0

    def set_echo(self, key: str, echo: bool) -> None:
        """Whether ``key`` receives its own entry when it changes (see :attr:`echo`)."""
        self.echo[self._rows[key]] = echo

    def set_on_stage(self, key: str, on_stage: bool) -> None:
        row = self._rows[key]
        self.on_stage[row] = on_stage
        self.version[row] += 1

    def moved(self, key: str, x: float, z: float) -> None:
        """Record a new position (the entity changed)."""
        row = self._rows[key]
        self.xz[row] = (x, z)
        self.version[row] += 1

    def moved_many(
        self, rows: npt.NDArray[np.intp], x: npt.NDArray[np.float64], z: npt.NDArray[np.float64]
    ) -> None:
        """:meth:`moved` for many distinct rows at once."""
        self.xz[rows, 0] = x
        self.xz[rows, 1] = z
        self.version[rows] += 1

    def changed(self, key: str) -> None:
        """Record any other change of the entity's state (a new pose)."""
        self.version[self._rows[key]] += 1

    def _bound(self) -> int:
        """Rows beyond this are all free: matrices are processed up to it only."""
        active = np.flatnonzero(self.active)
        return int(active[-1]) + 1 if active.size else 0

    def recompute_neighbourhoods(self, phase: int | None = None) -> None:
        """Nearest neighbours and cull ranges from the current positions: of every row,
        or (``phase``) of the rows ``r`` with ``r % neighbour_period == phase`` only.

        The ticks recompute a ``1/neighbour_period`` share of the rows each (the same
        period for every row), rather than all rows every ``neighbour_period``-th tick:
        the same work, spread evenly, so no tick carries a 4 ms spike at 500 people.
        """
        n = self._bound()
        cfg = self.config
        if phase is None:
            block: slice | Indices = slice(None)
            self.near[:, :] = False
            self.in_range[:, :] = False
        else:
            block = np.arange(phase % cfg.neighbour_period, n, cfg.neighbour_period)
            self.near[block, :] = False
            self.in_range[block, :] = False
        if n == 0:
            return
        rows = np.arange(n)[block]
        if rows.size == 0:
            return
        # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: one small matrix product instead of an
        # (n, n, 2) difference array, ten times faster at 500 people. float32 keeps
        # centimetres over the plaza's tens of metres; rounding may dip just below 0.
        xz = self.xz[:n]
        sq = (xz * xz).sum(axis=1)
        d2 = sq[rows, None] + sq[None, :] - 2 * (xz[rows] @ xz.T)
        np.maximum(d2, 0, out=d2)
        inactive = ~self.active[:n]
        d2[:, inactive] = np.inf
        d2[np.arange(rows.size), rows] = np.inf  # nobody is their own neighbour
        in_range = d2 <= cfg.cull_radius**2
        in_range[inactive[rows]] = False
        self.in_range[rows, :n] = in_range
        k = min(cfg.near_k, n - 1)
        if k > 0:
            nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
            at = np.repeat(np.arange(rows.size), k)
            cols = nearest.ravel()
            close = (d2[at, cols] <= cfg.near_radius**2) & ~inactive[rows][at]
            self.near[rows[at[close]], cols[close]] = True

    def _update_neighbourhood_of(self, row: int) -> None:
        # Until the rows' next recomputation a newcomer sees (and is seen by) those in
        # range, has its nearest neighbours from its first frame on, and is near for
        # everyone within the near radius (for a moment one more than their near_k).
        cfg = self.config
        d2 = ((self.xz - self.xz[row]) ** 2).sum(axis=1)
        reach = self.active & (d2 <= cfg.cull_radius**2)
        reach[row] = False
        self.in_range[row, :] = reach
        self.in_range[:, row] = reach
        self.near[:, row] = reach & (d2 <= cfg.near_radius**2)
        self.near[row, :] = False
        d2[~self.active] = np.inf
        d2[row] = np.inf
        k = min(cfg.near_k, int(np.count_nonzero(self.active)) - 1)
        if k > 0:
            nearest = np.argpartition(d2, k - 1)[:k]
            self.near[row, nearest[d2[nearest] <= cfg.near_radius**2]] = True

    def select(self, tick: int, paused: Indices | None = None) -> dict[int, Indices]:
        """For each receiving row, the entity rows to put in its frame this tick.

        The same decision as :meth:`select_pairs`, grouped by receiver (for tests and
        callers that want a mapping); receivers whose frame would be empty are left out.
        """
        receivers, entities = self.select_pairs(tick, paused)
        if receivers.size == 0:
            return {}
        cuts = np.flatnonzero(np.diff(receivers)) + 1
        return {
            int(group[0]): ents
            for group, ents in zip(
                np.split(receivers, cuts), np.split(entities, cuts), strict=True
            )
        }

    def select_pairs(
        self, tick: int, paused: Indices | None = None, *, recompute: bool = True
    ) -> tuple[Indices, Indices]:
        """Every (receiver, entity) pair to send this tick, sorted by receiver, then entity.

        Marks them as sent: call once per tick. Rows in ``paused`` (receivers whose
        connection is still busy with earlier frames) get nothing this tick and are
        marked with nothing, so they receive the latest state when they catch up.
        ``recompute``: first recompute this tick's share of the neighbourhoods; a caller
        that does it after sending (for the next tick) passes False.
        """
        cfg = self.config
        if recompute:
            self.recompute_neighbourhoods(tick % cfg.neighbour_period)
        n = self._bound()
        if n == 0:
            empty = np.zeros(0, np.intp)
            return empty, empty
        version = self.version[:n]
        last_sent = self.last_sent[:n, :n]
        last_tick = self.last_sent_tick[:n, :n]
        # The (n, n) steps write into two preallocated scratch matrices (contiguous
        # views of flat buffers), not into a new temporary each: at 500 people each
        # temporary is a quarter to one megabyte, several a tick.
        send = self._scratch_a[: n * n].reshape(n, n)
        seen = self._scratch_b[: n * n].reshape(n, n)
        np.greater(version[None, :], last_sent, out=send)  # changed since last sent
        own_changed = np.diagonal(send).copy()
        np.less_equal(last_tick, tick - cfg.refresh_period, out=seen)  # stale
        np.logical_or(send, seen, out=send)  # due
        # In view this tick: near or on the stage every tick, in range on far ticks.
        far_due = ((np.arange(n) + tick) % cfg.far_period == 0)[None, :]
        np.logical_and(self.in_range[:n, :n], far_due, out=seen)
        np.logical_or(seen, self.near[:n, :n], out=seen)
        np.logical_or(seen, self.on_stage[None, :n], out=seen)
        np.logical_and(send, seen, out=send)
        np.logical_and(send, self.active[None, :n], out=send)
        send[~self.receiving[:n], :] = False
        if paused is not None and paused.size:
            send[paused[paused < n], :] = False
        np.fill_diagonal(send, False)
        own = np.flatnonzero(self.echo[:n] & self.receiving[:n] & own_changed)
        if paused is not None and paused.size:
            own = own[~np.isin(own, paused)]
        send[own, own] = True
        # Row-major, so grouped by receiver. flatnonzero and divmod, and 1-D indices into
        # the whole mark matrices (C-contiguous, so reshape(-1) is a view of each), cost
        # about half of nonzero and 2-D fancy indexing.
        flat = np.flatnonzero(send)
        receivers, entities = np.divmod(flat, n)
        at = receivers * self.capacity + entities
        sent_flat = self.last_sent.reshape(-1)
        tick_flat = self.last_sent_tick.reshape(-1)
        # What the marks were, so a receiver found busy only when its frame is written
        # can be unmarked (:meth:`unmark`), as if it had been paused.
        self._marked = (receivers, at, sent_flat[at], tick_flat[at])
        sent_flat[at] = version[entities]
        tick_flat[at] = tick
        return receivers, entities

    def unmark(self, rows: Indices) -> None:
        """Undo the last :meth:`select_pairs`' marks for the receivers ``rows`` (their
        frames were not sent after all): the same as having passed them as ``paused``,
        so they receive the latest state when they catch up."""
        if self._marked is None or rows.size == 0:
            return
        receivers, at, sent, ticks = self._marked
        hit = np.isin(receivers, rows)
        self.last_sent.reshape(-1)[at[hit]] = sent[hit]
        self.last_sent_tick.reshape(-1)[at[hit]] = ticks[hit]
