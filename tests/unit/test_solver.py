"""Solver on synthetic MediaPipe output: known angles in, the same angles out, signs as
documented in avatar/pose.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avatar.pose import BLENDSHAPE_INDEX, TrackingState
from avatar.rotation import (
    CAMERA_TO_AVATAR,
    euler_from_matrix,
    matrix_from_euler,
    orthonormalise,
    wrap_degrees,
)
from avatar.solver import (
    LEFT_EYE_OUTER,
    RIGHT_EYE_OUTER,
    FaceObservation,
    RestPosition,
    Solver,
    head_position,
    landmark_roll,
    weights_from_scores,
)


def mediapipe_matrix(
    roll: float, pitch: float, yaw: float, t_cm: tuple[float, float, float] = (0.0, 0.0, -50.0)
) -> np.ndarray:
    """The facial transformation matrix MediaPipe would report for a head pose given in
    the avatar's convention."""
    m = np.eye(4)
    m[:3, :3] = CAMERA_TO_AVATAR @ matrix_from_euler(roll, pitch, yaw) @ CAMERA_TO_AVATAR
    m[:3, 3] = t_cm
    return m


def scores(**named: float) -> np.ndarray:
    s = np.zeros(52)
    for name, value in named.items():
        s[1 + BLENDSHAPE_INDEX[name]] = value
    return s


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-170, 170), st.floats(-85, 85), st.floats(-170, 170),
)  # fmt: skip
def test_euler_round_trip(roll: float, pitch: float, yaw: float) -> None:
    r, p, y = euler_from_matrix(matrix_from_euler(roll, pitch, yaw))
    assert (r, p, y) == pytest.approx((roll, pitch, yaw), abs=1e-6)


@pytest.mark.parametrize(
    "angles", [(0, 0, 0), (15, 0, 0), (-20, 5, 10), (3, -25, 40), (-10, 30, -60)]
)
def test_known_angles_come_back(angles: tuple[float, float, float]) -> None:
    obs = FaceObservation(scores=scores(), matrix=mediapipe_matrix(*angles))
    pose = Solver(roll_from_landmarks=False).solve(obs, 1234)
    assert (pose.roll, pose.pitch, pose.yaw) == pytest.approx(angles, abs=1e-6)
    assert pose.state is TrackingState.TRACKED and pose.timestamp_ms == 1234


def test_sign_conventions_in_camera_terms() -> None:
    # Turning the face toward the image's right (the person's left) is positive yaw: the
    # face's forward axis, +z in MediaPipe's canonical model, swings toward camera +x.
    turn = np.eye(4)
    a = math.radians(20)
    turn[:3, :3] = [[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]]
    assert Solver().solve(FaceObservation(scores(), turn), 0).yaw == pytest.approx(20)
    # Chin up: forward axis swings toward camera +y.
    up = np.eye(4)
    up[:3, :3] = [[1, 0, 0], [0, math.cos(a), math.sin(a)], [0, -math.sin(a), math.cos(a)]]
    assert Solver().solve(FaceObservation(scores(), up), 0).pitch == pytest.approx(20)
    # Head tilted toward the person's left shoulder: seen by the camera, the face turns
    # clockwise (about camera -z), since the person's left is the image's right.
    tilt = np.eye(4)
    tilt[:3, :3] = [[math.cos(a), math.sin(a), 0], [-math.sin(a), math.cos(a), 0], [0, 0, 1]]
    assert Solver(roll_from_landmarks=False).solve(
        FaceObservation(scores(), tilt), 0
    ).roll == pytest.approx(20)


def eye_landmarks(roll_deg: float, width: int, height: int) -> np.ndarray:
    """Landmarks whose outer eye corners lie on a line tilted as a head with that roll."""
    pts = np.full((478, 3), 0.5)
    a = math.radians(roll_deg)
    half = 40.0  # pixels from the face centre to each corner
    cx, cy = width / 2, height / 2
    # Image y points down; a positive roll (left shoulder) lowers the image-right corner.
    dx, dy = half * math.cos(a), half * math.sin(a)
    pts[RIGHT_EYE_OUTER, :2] = ((cx - dx) / width, (cy - dy) / height)
    pts[LEFT_EYE_OUTER, :2] = ((cx + dx) / width, (cy + dy) / height)
    return pts


@pytest.mark.parametrize("roll", [-20.0, -3.0, 0.0, 7.5, 20.0])
def test_landmark_roll_agrees_with_matrix_roll(roll: float) -> None:
    lm = eye_landmarks(roll, 320, 240)
    assert landmark_roll(lm, 320, 240) == pytest.approx(roll, abs=1e-9)
    obs = FaceObservation(scores(), mediapipe_matrix(roll, 0, 0), lm, 320, 240)
    assert Solver().solve(obs, 0).roll == pytest.approx(roll, abs=1e-9)


def test_landmarks_are_not_used_for_roll_on_a_turned_head() -> None:
    obs = FaceObservation(scores(), mediapipe_matrix(5, 0, 40), eye_landmarks(-30, 320, 240),
                          320, 240)  # fmt: skip
    assert Solver().solve(obs, 0).roll == pytest.approx(5)


def test_scale_in_the_matrix_is_ignored() -> None:
    m = mediapipe_matrix(10, -5, 20)
    m[:3, :3] *= 1.3
    pose = Solver(roll_from_landmarks=False).solve(FaceObservation(scores(), m), 0)
    assert (pose.roll, pose.pitch, pose.yaw) == pytest.approx((10, -5, 20), abs=1e-6)
    assert np.allclose(orthonormalise(m) @ orthonormalise(m).T, np.eye(3))


def test_position_in_metres_in_avatar_frame() -> None:
    # 10 cm to the image's right is 10 cm to the person's left (avatar -x); 60 cm away.
    m = mediapipe_matrix(0, 0, 0, (10.0, 5.0, -60.0))
    assert head_position(m) == pytest.approx((-0.10, 0.05, 0.60))


def test_weights_from_scores() -> None:
    w = weights_from_scores(scores(jawOpen=0.7, eyeBlinkLeft=1.2))
    assert w[BLENDSHAPE_INDEX["jawOpen"]] == pytest.approx(0.7)
    assert w[BLENDSHAPE_INDEX["eyeBlinkLeft"]] == 1.0
    assert w[BLENDSHAPE_INDEX["tongueOut"]] == 0.0
    with pytest.raises(ValueError):
        weights_from_scores(np.zeros(51))


def test_rest_position_makes_offsets() -> None:
    rest = RestPosition(time_constant_s=10.0)
    assert rest.offset((0.1, 0.0, 0.6), 0.0) == (0.0, 0.0, 0.0)
    lean = rest.offset((0.1, 0.0, 0.5), 0.1)
    assert lean[2] == pytest.approx(-0.1, abs=0.002)
    for i in range(600):
        last = rest.offset((0.1, 0.0, 0.5), 0.1 + i * 0.1)
    assert abs(last[2]) < 0.001


def test_wrap_degrees() -> None:
    assert wrap_degrees(190) == -170 and wrap_degrees(-180) == 180 and wrap_degrees(45) == 45
