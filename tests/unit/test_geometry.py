from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from rooms.geometry import Rect, normalise_heading


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_heading_normalised_into_half_open_interval(h: float) -> None:
    n = normalise_heading(h)
    assert -math.pi < n <= math.pi
    assert math.isclose(math.cos(n), math.cos(h), abs_tol=1e-6)
    assert math.isclose(math.sin(n), math.sin(h), abs_tol=1e-6)


@given(st.floats(-20, 20), st.floats(-20, 20))
def test_push_out_lands_on_the_nearest_edge(x: float, z: float) -> None:
    r = Rect(0, 0, 4, 2)
    px, pz = r.push_out(x, z, margin=0.3)
    assert not r.contains(px, pz, 0.3 - 1e-9)
    if not r.contains(x, z, 0.3):
        assert (px, pz) == (x, z)
    else:
        assert math.hypot(px - x, pz - z) <= 2.3 + 1e-9
