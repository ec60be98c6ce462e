"""Who hears whom, and on which listener slot: pure decisions, no I/O (numpy only).

- :func:`nearest_loudest`: proximity voice. For every listener, the at most ``n`` loudest
  active speakers within ``radius`` (never themselves), computed for all listeners at once
  with numpy (one listeners × speakers distance matrix).
- :func:`assign_slots`: sticky slot assignment. A speaker a listener already hears keeps
  their slot (so a voice never hops between the browser's panners); new speakers take
  free slots in priority order; speakers beyond the slot count are not heard.
- :func:`withhold`: a closed session (秘密会) routes nobody to the listeners held out of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def nearest_loudest(
    listeners: Mapping[str, tuple[float, float]],
    speakers: Mapping[str, tuple[float, float]],
    levels: Mapping[str, float],
    radius: float,
    n: int,
) -> dict[str, list[str]]:
    """Listener id → up to ``n`` speaker ids within ``radius``, loudest first.

    ``speakers`` are the candidates (positions); ``levels`` their recent level in dBov
    (missing: -127). Ties break by distance, then id, so the result is deterministic.
    """
    out: dict[str, list[str]] = {lid: [] for lid in listeners}
    if not listeners or not speakers or n <= 0:
        return out
    lids = list(listeners)
    sids = sorted(speakers)
    lpos = np.array([listeners[i] for i in lids], dtype=np.float64).reshape(-1, 2)
    spos = np.array([speakers[s] for s in sids], dtype=np.float64).reshape(-1, 2)
    lev = np.array([float(levels.get(s, -127.0)) for s in sids])
    d2 = ((lpos[:, None, :] - spos[None, :, :]) ** 2).sum(axis=2)
    near = d2 <= radius * radius
    sid_index = {s: j for j, s in enumerate(sids)}
    for i, lid in enumerate(lids):
        if lid in sid_index:
            near[i, sid_index[lid]] = False  # nobody hears themselves
    for i, lid in enumerate(lids):
        cols = np.flatnonzero(near[i])
        if cols.size == 0:
            continue
        # Loudest first, then nearest, then id (sids are sorted); lexsort's last key
        # is the primary one.
        ranked = cols[np.lexsort((cols, d2[i, cols], -lev[cols]))]
        out[lid] = [sids[j] for j in ranked[:n]]
    return out


def assign_slots(
    previous: Mapping[str, int], wanted: Sequence[str], n_slots: int
) -> dict[str, int]:
    """Speaker id → slot index for the speakers in ``wanted`` (priority order).

    Speakers in both ``previous`` and ``wanted`` keep their slot; the rest of ``wanted``
    fill the free slots lowest first until none are left.
    """
    keep = wanted[:n_slots] if len(wanted) > n_slots else wanted
    chosen = set(keep)
    result = {s: slot for s, slot in previous.items() if s in chosen and 0 <= slot < n_slots}
    free = [slot for slot in range(n_slots) if slot not in result.values()]
    for speaker in keep:
        if speaker not in result and free:
            result[speaker] = free.pop(0)
    return result


def withhold(
    wanted: Mapping[str, list[str]], withheld: frozenset[str]
) -> dict[str, list[str]]:
    """``wanted`` with nobody routed to the listeners in ``withheld`` (those held out of a
    closed session, 秘密会: not one speaker packet may reach them while it lasts)."""
    return {lid: ([] if lid in withheld else list(speakers)) for lid, speakers in wanted.items()}
