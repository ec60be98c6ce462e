"""One Euro filter: quiet on a still noisy signal, quick on a step, vectorised per channel."""

from __future__ import annotations

import numpy as np
import pytest

from avatar.filters import OneEuroFilter, OneEuroParams, PoseFilter
from avatar.pose import BLENDSHAPE_INDEX, Pose, TrackingState, weights_from_mapping
from server.config.settings import Settings

FPS = 30
DEFAULTS = Settings()
HEAD = OneEuroParams(
    DEFAULTS.tracking_head_min_cutoff, DEFAULTS.tracking_head_beta, DEFAULTS.tracking_d_cutoff
)
FACE = OneEuroParams(
    DEFAULTS.tracking_face_min_cutoff, DEFAULTS.tracking_face_beta, DEFAULTS.tracking_d_cutoff
)


def run(flt: OneEuroFilter, values: np.ndarray, fps: int = FPS) -> np.ndarray:
    return np.array([flt(v, i / fps) for i, v in enumerate(values)])


def test_still_noisy_head_jitter_drops_at_least_threefold() -> None:
    rng = np.random.default_rng(1)
    noisy = 5.0 + rng.normal(0, 0.3, (300, 1))  # degrees: a still head seen by a webcam
    out = run(OneEuroFilter(1, HEAD.min_cutoff, HEAD.beta, HEAD.d_cutoff), noisy)
    assert noisy[FPS:].std() / out[FPS:].std() >= 3.0
    assert abs(out[FPS:].mean() - 5.0) < 0.1


def test_head_step_lag_is_bounded() -> None:
    # A quick 20° turn (a step) must be 90 % there within 150 ms and never overshoot.
    values = np.r_[np.zeros(30), np.full(30, 20.0)].reshape(-1, 1)
    out = run(OneEuroFilter(1, HEAD.min_cutoff, HEAD.beta, HEAD.d_cutoff), values)[:, 0]
    reached = int(np.argmax(out >= 18.0)) - 30
    assert 0 <= reached <= round(0.150 * FPS)
    assert out.max() <= 20.0 + 1e-9


def test_blink_survives_the_expression_filter() -> None:
    blink = np.r_[np.zeros(20), [0.5, 1.0, 1.0, 0.6, 0.2], np.zeros(20)].reshape(-1, 1)
    out = run(OneEuroFilter(1, FACE.min_cutoff, FACE.beta, FACE.d_cutoff), blink)
    assert out.max() >= 0.8


def test_channels_are_independent_and_parameters_per_channel() -> None:
    flt = OneEuroFilter(2, min_cutoff=np.array([0.5, 50.0]), beta=0.0)
    values = np.r_[np.zeros((5, 2)), np.ones((5, 2))]
    out = run(flt, values)
    assert out[5, 0] < 0.2 < 0.9 < out[5, 1]


def test_repeated_timestamp_and_reset() -> None:
    flt = OneEuroFilter(1, 1.0, 0.0)
    assert flt(np.array([1.0]), 0.0)[0] == 1.0
    assert flt(np.array([9.0]), 0.0)[0] == 1.0  # no time passed: no change
    flt.reset()
    assert flt(np.array([9.0]), 0.1)[0] == 9.0


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        OneEuroParams(min_cutoff=0.0)
    with pytest.raises(ValueError):
        OneEuroFilter(3, 1.0, -1.0)


def test_pose_filter_smooths_head_and_keeps_state() -> None:
    flt = PoseFilter(HEAD, FACE)
    rng = np.random.default_rng(2)
    rolls = []
    for i in range(90):
        pose = Pose(
            timestamp_ms=i * 33, state=TrackingState.TRACKED, roll=float(rng.normal(0, 0.5)),
            position=(0.0, 0.001 * float(rng.normal()), 0.0),
            weights=weights_from_mapping({"jawOpen": 0.3}),
        )  # fmt: skip
        out = flt(pose)
        rolls.append(out.roll)
        assert out.state is TrackingState.TRACKED and out.timestamp_ms == i * 33
    assert np.std(rolls[30:]) < 0.25
    assert out.weights[BLENDSHAPE_INDEX["jawOpen"]] == pytest.approx(0.3)
