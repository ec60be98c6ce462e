"""The spatial grid answers like a brute-force scan, whatever the moves."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.grid import SpatialGrid

coord = st.floats(min_value=-60, max_value=60, allow_nan=False)
ops = st.lists(
    st.tuples(st.sampled_from(["set", "remove"]), st.integers(0, 30), coord, coord),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(ops=ops, qx=coord, qz=coord, radius=st.floats(0, 80), k=st.integers(0, 10),
       cell=st.sampled_from([0.5, 2.0, 4.0, 10.0]))
def test_queries_match_brute_force(ops, qx, qz, radius, k, cell) -> None:
    grid = SpatialGrid(cell)
    truth: dict[str, tuple[float, float]] = {}
    for op, n, x, z in ops:
        key = f"k{n}"
        if op == "set":
            grid.set(key, x, z)
            truth[key] = (x, z)
        else:
            grid.remove(key)
            truth.pop(key, None)
    assert len(grid) == len(truth)
    expected = {k_ for k_, (x, z) in truth.items() if math.hypot(x - qx, z - qz) <= radius}
    # Points within a rounding error of the boundary may fall either way.
    near_edge = {k_ for k_, (x, z) in truth.items()
                 if abs(math.hypot(x - qx, z - qz) - radius) < 1e-9}
    got = set(grid.within(qx, qz, radius))
    assert got - near_edge == expected - near_edge
    ranked = sorted((math.hypot(x - qx, z - qz), k_) for k_, (x, z) in truth.items()
                    if k_ in got)
    nearest = grid.nearest(qx, qz, k, radius)
    assert len(nearest) == min(k, len(got))
    for key, (dist, _) in zip(nearest, ranked, strict=False):
        x, z = truth[key]
        assert math.isclose(math.hypot(x - qx, z - qz), dist, abs_tol=1e-9)


def test_moving_between_cells_leaves_no_trace() -> None:
    grid = SpatialGrid(1.0)
    grid.set("a", 0.5, 0.5)
    grid.set("a", 10.5, 10.5)
    assert grid.within(0.5, 0.5, 1.0) == []
    assert grid.within(10.5, 10.5, 0.1) == ["a"]
    grid.remove("a")
    assert len(grid) == 0 and grid._cells == {}
