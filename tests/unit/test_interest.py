"""Interest management: who receives whom, how often, and convergence after losses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.interest import InterestConfig, InterestTable

CFG = InterestConfig(near_k=2, near_radius=5.0, cull_radius=20.0, far_period=4,
                     refresh_period=12, neighbour_period=1)


def table() -> InterestTable:
    t = InterestTable(CFG, capacity=16)
    t.add("me", 0, 0, on_stage=False, receiving=True)
    t.add("near1", 1, 0, on_stage=False, receiving=True)
    t.add("near2", 0, 2, on_stage=False, receiving=True)
    t.add("mid", 8, 0, on_stage=False, receiving=True)  # in range, not among the 2 nearest
    t.add("far", 50, 0, on_stage=False, receiving=True)  # beyond the cull radius
    t.add("stage", 0, -60, on_stage=True, receiving=True)  # far away but on the stage
    return t


def sent_to(t: InterestTable, picks: dict[int, np.ndarray], key: str) -> set[str]:
    return {t.key(int(r)) for r in picks.get(t.row(key), [])}


def test_first_tick_sends_everything_in_view() -> None:
    t = table()
    picks = t.select(tick=0)  # (0 + row) % 4: rows 0 and 4 are "far-due" at tick 0
    got = sent_to(t, picks, "me")
    assert {"near1", "near2", "stage"} <= got
    assert "far" not in got and "me" not in got


def test_rates_by_interest() -> None:
    t = table()
    counts: dict[str, int] = {}
    for tick in range(1, 41):
        for key in ("near1", "mid", "stage", "far"):
            t.moved(key, *t.xz[t.row(key)])  # every entity changes every tick
        for k in sent_to(t, t.select(tick), "me"):
            counts[k] = counts.get(k, 0) + 1
    assert counts["near1"] == 40 and counts["stage"] == 40, "full rate"
    assert counts["mid"] == 40 // CFG.far_period, "far rate"
    assert "far" not in counts, "culled"
    # Unchanged: sent once at first, then only as a refresh every refresh_period ticks.
    assert counts["near2"] == 1 + (40 - 1) // CFG.refresh_period


def test_unchanged_entities_are_refreshed_when_stale() -> None:
    t = table()
    t.select(0)
    seen = [tick for tick in range(1, 30) if "near2" in sent_to(t, t.select(tick), "me")]
    assert seen and seen[0] == CFG.refresh_period
    assert all(b - a == CFG.refresh_period for a, b in itertools.pairwise(seen))


def test_paused_receiver_gets_nothing_then_the_latest() -> None:
    t = table()
    t.select(0)
    me = np.array([t.row("me")])
    t.moved("near1", 1.5, 0)
    assert "near1" not in sent_to(t, t.select(1, paused=me), "me")
    assert "near1" in sent_to(t, t.select(2), "me")


def test_an_unmarked_receiver_is_as_if_paused() -> None:
    """A frame found undeliverable only when written (a busy socket): unmarking its
    receiver leaves the table exactly as pausing it would have, others untouched."""
    paused, unmarked = table(), table()
    for t in (paused, unmarked):
        t.select(0)
        t.moved("near1", 1.5, 0)
        t.moved("me", 0.2, 0)
    me = np.array([paused.row("me")])
    skipped = paused.select(1, paused=me)
    sent = unmarked.select(1)
    assert "near1" in sent_to(unmarked, sent, "me")
    unmarked.unmark(me)
    assert sent_to(unmarked, sent, "near1") == sent_to(paused, skipped, "near1")
    assert (unmarked.last_sent == paused.last_sent).all()
    assert (unmarked.last_sent_tick == paused.last_sent_tick).all()
    assert "near1" in sent_to(unmarked, unmarked.select(2), "me")


def test_non_receivers_get_no_frames_and_reconnect_resends() -> None:
    t = table()
    t.set_receiving("me", False)
    assert t.row("me") not in t.select(0)
    t.set_receiving("me", True)
    assert {"near1", "near2", "stage"} <= sent_to(t, t.select(1), "me")


def test_removed_rows_are_reused_without_history() -> None:
    t = table()
    t.select(0)
    row = t.row("near1")
    t.remove("near1")
    assert all("near1" not in {t._keys[int(r)] for r in v} for v in t.select(1).values())
    assert t.add("newcomer", 1, 0, on_stage=False, receiving=True) == row
    picks = t.select(2)
    assert "newcomer" in sent_to(t, picks, "me"), "a newcomer is sent at once"
    assert {"me", "near2", "stage"} <= sent_to(t, picks, "newcomer"), "and sent everyone near"


def test_table_capacity() -> None:
    t = InterestTable(CFG, capacity=1)
    t.add("a", 0, 0, on_stage=False, receiving=True)
    with pytest.raises(ValueError):
        t.add("b", 0, 0, on_stage=False, receiving=True)


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(st.tuples(st.floats(-40, 40), st.floats(-40, 40), st.booleans()),
                    min_size=2, max_size=30),
    losses=st.lists(st.integers(0, 29), max_size=40),
    seed=st.integers(0, 1000),
)
def test_every_receiver_converges_on_everything_in_view(points, losses, seed) -> None:
    """Whatever frames a receiver misses, it ends with the latest state of all it sees."""
    rng = np.random.default_rng(seed)
    t = InterestTable(CFG, capacity=32)
    keys = [f"k{i}" for i in range(len(points))]
    for key, (x, z, stage) in zip(keys, points, strict=True):
        t.add(key, x, z, on_stage=stage, receiving=True)
    known = {k: {} for k in keys}  # receiver -> entity -> version it holds
    tick = 0
    for tick in range(60):
        for key in rng.choice(keys, size=min(3, len(keys)), replace=False):
            t.moved(str(key), *t.xz[t.row(str(key))])
        paused = np.array([t.row(keys[i]) for i in losses if i < len(keys) and tick < 30])
        for receiver, rows in t.select(tick, paused=paused).items():
            for r in rows:
                known[t.key(receiver)][t.key(int(r))] = int(t.version[r])
    # Quiet period: nothing changes; within refresh + far periods all must converge.
    for tick in range(60, 60 + CFG.refresh_period + CFG.far_period + 1):
        for receiver, rows in t.select(tick).items():
            for r in rows:
                known[t.key(receiver)][t.key(int(r))] = int(t.version[r])
    t.recompute_neighbourhoods()
    for receiver in keys:
        r = t.row(receiver)
        for entity in keys:
            e = t.row(entity)
            if entity == receiver:
                continue
            visible = t.on_stage[e] or t.in_range[r, e] or t.near[r, e]
            if visible:
                assert known[receiver].get(entity) == int(t.version[e]), (receiver, entity)
