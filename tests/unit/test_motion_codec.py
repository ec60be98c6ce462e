"""Motion-plane messages: uplink parsing, compact poses, frames."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avatar import codec as pose_codec
from avatar.pose import N_BLENDSHAPES, Pose, TrackingState
from rooms.errors import HirobaError, Reason
from server.motion import codec

weights = st.lists(st.floats(0, 1), min_size=N_BLENDSHAPES, max_size=N_BLENDSHAPES)
poses = st.builds(
    Pose,
    timestamp_ms=st.integers(0, 2**32 - 1),
    state=st.sampled_from(list(TrackingState)),
    roll=st.floats(-180, 180), pitch=st.floats(-90, 90), yaw=st.floats(-180, 180),
    position=st.tuples(*[st.floats(-0.4, 0.4)] * 3),
    weights=weights.map(tuple),
)


@settings(max_examples=200, deadline=None)
@given(pose=poses)
def test_compact_pose_keeps_what_an_avatar_shows(pose: Pose) -> None:
    record = pose_codec.encode(pose)
    compact = codec.compact_pose(record)
    decoded, end = codec.decode_compact(compact)
    assert end == len(compact) == codec.compact_size(compact)
    assert len(compact) <= 17 + 26
    assert decoded.state == int(pose.state)
    for got, want in ((decoded.roll, pose.roll), (decoded.pitch, pose.pitch),
                      (decoded.yaw, pose.yaw)):
        assert abs(math.remainder(got - want, 360)) <= 0.006  # -180 and 180 are one angle
    for got, want in zip(decoded.weights, pose.weights, strict=True):
        assert abs(got - want) <= 1 / 30 + 1 / 255 + 1e-9
    for got, want in zip(decoded.position_mm, pose.position, strict=True):
        assert abs(got / 1000 - want) <= 0.0025


def test_typical_face_is_small() -> None:
    w = [0.0] * N_BLENDSHAPES
    for i in (2, 8, 9, 24, 43, 44, 31, 26):  # a few active shapes, the rest at rest
        w[i] = 0.5
    compact = codec.compact_pose(pose_codec.encode(Pose(0, TrackingState.TRACKED, 3, -2, 10,
                                                        weights=tuple(w))))
    assert len(compact) == 17 + 4


@given(x=st.floats(-300, 300), z=st.floats(-300, 300), h=st.floats(-10, 10),
       with_pose=st.booleans())
def test_uplink_round_trip(x: float, z: float, h: float, with_pose: bool) -> None:
    record = pose_codec.encode(Pose(5)) if with_pose else None
    up = codec.decode_uplink(codec.encode_uplink(x, z, h, record))
    # Centimetres: half a step at most (and the float error of 0.875 -> 0.88).
    assert abs(up.x - x) <= 0.005 + 1e-9 and abs(up.z - z) <= 0.005 + 1e-9
    assert abs(math.remainder(up.h - h, math.tau)) <= 1e-4
    assert up.pose == record


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x01", b"\x02\x00" + bytes(6), b"\x01\x02" + bytes(6), b"\x01\x01" + bytes(6),
     b"\x01\x00" + bytes(7), b"\x01\x01" + bytes(6) + b"\xff" * 69],
)
def test_bad_uplinks(raw: bytes) -> None:
    with pytest.raises(HirobaError) as err:
        codec.decode_uplink(raw)
    assert err.value.reason is Reason.BAD_PAYLOAD


@given(st.binary(max_size=200))
def test_uplink_garbage_is_only_ever_bad_payload(raw: bytes) -> None:
    try:
        codec.decode_uplink(raw)
    except HirobaError as exc:
        assert exc.reason is Reason.BAD_PAYLOAD


def test_frame_round_trip() -> None:
    record = pose_codec.encode(Pose(1, TrackingState.TRACKED, roll=12.5))
    posed = np.array(codec.plain_entry(7, 1.0, -2.0, 0.5), dtype=codec.PLAIN_ENTRY).tobytes()
    posed += codec.compact_pose(record)
    plain = np.array([codec.plain_entry(3, 4.0, 5.0, -1.0), codec.plain_entry(9, 0, 0, 0)],
                     dtype=codec.PLAIN_ENTRY)
    frame = codec.frame_header(42, 1, 2) + posed + plain.tobytes()
    tick, entries = codec.decode_frame(frame)
    assert tick == 42
    assert [e.slot for e in entries] == [7, 3, 9]
    assert entries[0].pose is not None and abs(entries[0].pose.roll - 12.5) < 0.01
    assert (entries[1].x, entries[1].z) == (4.0, 5.0) and entries[1].pose is None
    with pytest.raises(HirobaError):
        codec.decode_frame(frame[:-1])
    with pytest.raises(HirobaError):
        codec.decode_frame(b"\x02" + frame[1:])
