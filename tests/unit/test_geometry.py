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
        # The grown rectangle spans x in (-2.3, 2.3), z in (-1.3, 1.3): the point goes
        # straight to whichever of its four edges is nearest (any of them on a tie), so it
        # never moves more than 1.3 m, and only along one axis.
        edges = {
            (-2.0 - 0.3, z): x - (-2.0 - 0.3),
            (2.0 + 0.3, z): (2.0 + 0.3) - x,
            (x, -1.0 - 0.3): z - (-1.0 - 0.3),
            (x, 1.0 + 0.3): (1.0 + 0.3) - z,
        }
        nearest = min(edges.values())
        assert (px, pz) in [p for p, d in edges.items() if d == nearest], (x, z, px, pz)
        assert math.hypot(px - x, pz - z) <= 1.3 + 1e-9
