"""The pose record: size, round-trip error bounds, batch form, and refusal of garbage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avatar import codec
from avatar.pose import (
    BLENDSHAPE_NAMES,
    N_BLENDSHAPES,
    Pose,
    TrackingState,
    weights_from_mapping,
)
from rooms.errors import Reason, ValidationError

angle = st.floats(-180.0, 180.0, allow_nan=False)
pitch = st.floats(-90.0, 90.0, allow_nan=False)
coord = st.floats(-32.0, 32.0, allow_nan=False)  # metres; the record holds ±32.767 m
weight = st.floats(0.0, 1.0, allow_nan=False)
poses = st.builds(
    Pose,
    timestamp_ms=st.integers(0, 2**32 - 1),
    state=st.sampled_from(list(TrackingState)),
    roll=angle,
    pitch=pitch,
    yaw=angle,
    position=st.tuples(coord, coord, coord),
    weights=st.lists(weight, min_size=N_BLENDSHAPES, max_size=N_BLENDSHAPES).map(tuple),
)


def angle_error(a: float, b: float) -> float:
    d = math.fmod(a - b, 360.0)
    return min(abs(d), 360.0 - abs(d))


def test_names_are_the_52_arkit_shapes_in_mediapipe_order() -> None:
    assert len(BLENDSHAPE_NAMES) == 52 == len(set(BLENDSHAPE_NAMES))
    assert BLENDSHAPE_NAMES[:3] == ("browDownLeft", "browDownRight", "browInnerUp")
    assert BLENDSHAPE_NAMES[24] == "jawOpen"
    assert BLENDSHAPE_NAMES[-2:] == ("noseSneerRight", "tongueOut")


@settings(max_examples=300, deadline=None)
@given(poses)
def test_round_trip_is_within_bounds(pose: Pose) -> None:
    record = codec.encode(pose)
    assert len(record) == codec.POSE_SIZE <= 70
    back = codec.decode(record)
    assert back.state is pose.state
    assert back.timestamp_ms == pose.timestamp_ms
    for a, b in ((back.roll, pose.roll), (back.pitch, pose.pitch), (back.yaw, pose.yaw)):
        assert angle_error(a, b) <= 0.5
    for a, b in zip(back.position, pose.position, strict=True):
        assert abs(a - b) <= 0.001
    for a, b in zip(back.weights, pose.weights, strict=True):
        assert abs(a - b) <= 1 / 255 + 1e-9


def test_rotation_error_is_far_below_the_bound() -> None:
    rng = np.random.default_rng(0)
    rot = rng.uniform([-180, -90, -180], [180, 90, 180], (2000, 3))
    arrays = codec.PoseArrays(
        timestamp_ms=np.zeros(2000, dtype=np.int64),
        state=np.zeros(2000, dtype=np.uint8),
        rotation=rot,
        position=np.zeros((2000, 3)),
        weights=np.zeros((2000, N_BLENDSHAPES)),
    )
    back = codec.decode_batch(codec.encode_batch(arrays))
    err = np.abs(np.remainder(back.rotation - rot + 180, 360) - 180)
    assert err.max() <= 0.005 + 1e-9


def test_out_of_range_values_are_clamped_or_wrapped() -> None:
    pose = Pose(timestamp_ms=2**32 + 5, roll=190.0, pitch=120.0, yaw=-540.0,
                position=(50.0, -50.0, 0.0))  # fmt: skip
    back = codec.decode(codec.encode(pose))
    assert back.timestamp_ms == 5
    assert back.roll == pytest.approx(-170.0)
    assert back.pitch == 90.0
    assert back.yaw == pytest.approx(180.0)
    assert back.position == (32.767, -32.767, 0.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(poses, min_size=0, max_size=40))
def test_batch_matches_single_records(batch: list[Pose]) -> None:
    blob = codec.encode_batch(codec.PoseArrays.from_poses(batch))
    assert blob == b"".join(codec.encode(p) for p in batch)
    back = codec.decode_batch(blob)
    assert len(back) == len(batch)
    for i, pose in enumerate(batch):
        assert back.pose(i) == codec.decode(codec.encode(pose))


def test_layout_is_as_documented() -> None:
    weights = weights_from_mapping({"jawOpen": 1.0, "browDownLeft": 0.5})
    pose = Pose(timestamp_ms=0x01020304, state=TrackingState.VOICE, roll=1.0, pitch=-2.0,
                yaw=3.5, position=(0.001, -0.002, 0.25), weights=weights)  # fmt: skip
    r = codec.encode(pose)
    assert r[0] == 0x12  # version 1, state 2
    assert r[1:5] == bytes([4, 3, 2, 1])
    assert np.frombuffer(r[5:11], "<i2").tolist() == [100, -200, 350]
    assert np.frombuffer(r[11:17], "<i2").tolist() == [1, -2, 250]
    assert r[17] == 128 and r[17 + 24] == 255


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_raises_only_validation_error(data: bytes) -> None:
    try:
        codec.decode(data)
    except ValidationError as exc:
        assert exc.reason is Reason.BAD_PAYLOAD
    try:
        codec.decode_batch(data)
    except ValidationError as exc:
        assert exc.reason is Reason.BAD_PAYLOAD


@pytest.mark.parametrize(
    "record",
    [
        b"",
        bytes(68),
        bytes(70),
        bytes([0x22]) + bytes(68),  # version 2
        bytes([0x14]) + bytes(68),  # state 4
        bytes([0x10, 0, 0, 0, 0]) + np.array([18001, 0, 0], "<i2").tobytes() + bytes(58),
        bytes([0x10, 0, 0, 0, 0]) + np.array([0, -9001, 0], "<i2").tobytes() + bytes(58),
        # -32768 mm: the encoders clamp to ±32767, so this would not round-trip.
        bytes([0x10]) + bytes(14) + np.array([-32768], "<i2").tobytes() + bytes(52),
        bytes([0x10]) + bytes(10) + np.array([-32768, 0, 0], "<i2").tobytes() + bytes(52),
    ],
)
def test_malformed_records_are_refused(record: bytes) -> None:
    with pytest.raises(ValidationError) as info:
        codec.decode(record)
    assert info.value.reason is Reason.BAD_PAYLOAD
    if record and len(record) % codec.POSE_SIZE == 0:
        with pytest.raises(ValidationError) as info:
            codec.decode_batch(record * 2)
        assert info.value.reason is Reason.BAD_PAYLOAD


def test_non_binary_is_refused() -> None:
    with pytest.raises(ValidationError):
        codec.decode("x" * 69)  # type: ignore[arg-type]


def test_pose_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        Pose(timestamp_ms=0, weights=(0.0,) * 51)
    with pytest.raises(ValueError):
        Pose(timestamp_ms=0, roll=math.nan)
    with pytest.raises(ValueError):
        weights_from_mapping({"smile": 1.0})


def test_protocol_page_lists_the_weights_in_order() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    section = text.split("Weight order", 1)[1].split("Quantisation error", 1)[0]
    listed = re.findall(r"(\d+) ([a-zA-Z]+)[,.]", section)
    assert [(int(i), n) for i, n in listed] == list(enumerate(BLENDSHAPE_NAMES))
    assert f"{codec.POSE_SIZE} bytes" in text
