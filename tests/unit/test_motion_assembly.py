"""The whole-tick frame assembly against a plain per-receiver construction."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from avatar import codec as pose_codec
from avatar.pose import N_BLENDSHAPES, Pose, TrackingState
from server.motion import codec
from server.motion.assembly import assemble


def record(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    weights = np.where(rng.random(N_BLENDSHAPES) < 0.4, rng.random(N_BLENDSHAPES), 0.0)
    return pose_codec.encode(
        Pose(
            seed,
            TrackingState.TRACKED,
            roll=float(rng.uniform(-30, 30)),
            pitch=float(rng.uniform(-20, 20)),
            yaw=float(rng.uniform(-40, 40)),
            weights=tuple(float(w) for w in weights),
        )
    )


def naive(tick: int, plain: np.ndarray, posed: list[bytes | None], rows: list[int]) -> bytes:
    with_pose = [r for r in rows if posed[r] is not None]
    without = [r for r in rows if posed[r] is None]
    return b"".join(
        (
            codec.frame_header(tick, len(with_pose), len(without)),
            *(posed[r] or b"" for r in with_pose),
            plain[without].tobytes(),
        )
    )


@st.composite
def tick_state(draw: st.DrawFn) -> tuple[np.ndarray, list[bytes | None], np.ndarray]:
    n = draw(st.integers(1, 40))
    plain = np.zeros(n, codec.PLAIN_ENTRY)
    posed: list[bytes | None] = []
    for r in range(n):
        x, z = draw(st.floats(-50, 50)), draw(st.floats(-50, 50))
        plain[r] = codec.plain_entry(r + 1, x, z, 0.5)
        has_pose = draw(st.booleans())
        posed.append(plain[r].tobytes() + codec.compact_pose(record(r)) if has_pose else None)
    send = np.array(draw(st.lists(st.booleans(), min_size=n * n, max_size=n * n))).reshape(n, n)
    return plain, posed, send


@settings(max_examples=150, deadline=None)
@given(tick_state(), st.integers(0, 2**32 - 1))
def test_matches_per_receiver_frames(state: tuple, tick: int) -> None:
    plain, posed, send = state
    receivers, entities = np.nonzero(send)
    frames = assemble(tick, plain, posed, receivers.astype(np.intp), entities.astype(np.intp))
    expected = {
        int(r): naive(tick, plain, posed, np.flatnonzero(send[r]).tolist())
        for r in np.flatnonzero(send.any(axis=1))
    }
    got = {int(r): frames.frame(i) for i, r in enumerate(frames.receivers)}
    assert got == expected
    for r, frame in got.items():
        decoded_tick, entries = codec.decode_frame(frame)
        assert decoded_tick == tick
        rows = np.flatnonzero(send[r])
        assert sorted(e.slot - 1 for e in entries) == rows.tolist()
        assert sum(e.pose is not None for e in entries) == sum(posed[i] is not None for i in rows)


def test_no_pairs_no_frames() -> None:
    empty = np.zeros(0, np.intp)
    frames = assemble(1, np.zeros(3, codec.PLAIN_ENTRY), [None] * 3, empty, empty)
    assert len(frames) == 0


def test_delay_is_stamped_in_the_reserved_byte_and_saturates() -> None:
    plain = np.zeros(2, codec.PLAIN_ENTRY)
    frames = assemble(7, plain, [None, None], np.array([0, 1]), np.array([1, 0]))
    assert frames.frame(0, 12.4)[1] == 12
    assert frames.frame(1, 999)[1] == 255
    assert frames.frame(1, -3)[1] == 0
    # the stamp does not disturb decoding, nor the frame kept for the next receiver
    assert codec.decode_frame(frames.frame(0, 12.4))[0] == 7
    assert frames.frame(0)[1] == 0
