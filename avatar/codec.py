"""The pose's wire form: a fixed 69-byte little-endian record, versioned.

Layout of version 1 (documented in ``docs/protocol.md``, "Motion plane: the pose record"):

| offset | size | type | field |
|---|---|---|---|
| 0 | 1 | u8 | ``version << 4 | state`` (version 1; state: 0 tracked, 1 lost, 2 voice, 3 idle) |
| 1 | 4 | u32 | timestamp, milliseconds modulo 2**32 |
| 5 | 6 | 3 x i16 | roll, pitch, yaw in hundredths of a degree |
| 11 | 6 | 3 x i16 | head position x, y, z in millimetres, clamped to ±32767 |
| 17 | 52 | 52 x u8 | blendshape weights x 255, in ``BLENDSHAPE_NAMES`` order |

Quantisation error: angles ≤ 0.005°, position ≤ 0.5 mm inside the range, weights ≤ 1/510.
Decoding refuses anything that is not exactly that: wrong length, unknown version or
state, roll or yaw outside ±180°, pitch outside ±90°, a position of -32768 mm (no encoder
writes it, so a record that holds it would not survive a round trip).

Many poses at once (a motion frame) are simply concatenated records; ``encode_batch`` and
``decode_batch`` do that with numpy in one pass.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avatar.pose import N_BLENDSHAPES, Pose, TrackingState
from rooms.errors import Reason, ValidationError

VERSION = 1
#: numpy's view of one record; ``itemsize`` is the record size.
POSE_DTYPE = np.dtype(
    [
        ("head", "u1"),
        ("t", "<u4"),
        ("rot", "<i2", (3,)),
        ("pos", "<i2", (3,)),
        ("w", "u1", (N_BLENDSHAPES,)),
    ]
)
POSE_SIZE: int = POSE_DTYPE.itemsize
assert POSE_SIZE == 69

_ANGLE_LIMITS = np.array([18000, 9000, 18000], dtype=np.int32)  # roll, pitch, yaw (0.01°)
_N_STATES = len(TrackingState)
#: The one i16 the encoders never write (they clamp to ±32767): refused on decoding.
_POS_NEVER = -32768


@dataclass(frozen=True, eq=False)
class PoseArrays:
    """Many poses as columns (the batch form). Row ``i`` of every array is pose ``i``.

    ``rotation`` holds roll, pitch, yaw in degrees; ``position`` metres; ``weights`` 0..1.
    """

    timestamp_ms: npt.NDArray[np.int64]
    state: npt.NDArray[np.uint8]
    rotation: npt.NDArray[np.float64]
    position: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.timestamp_ms)

    @classmethod
    def from_poses(cls, poses: list[Pose]) -> PoseArrays:
        """Columns from a list of poses."""
        return cls(
            timestamp_ms=np.array([p.timestamp_ms for p in poses], dtype=np.int64),
            state=np.array([int(p.state) for p in poses], dtype=np.uint8),
            rotation=np.array([(p.roll, p.pitch, p.yaw) for p in poses], dtype=np.float64)
            .reshape(-1, 3),
            position=np.array([p.position for p in poses], dtype=np.float64).reshape(-1, 3),
            weights=np.array([p.weights for p in poses], dtype=np.float64)
            .reshape(-1, N_BLENDSHAPES),
        )

    def pose(self, i: int) -> Pose:
        """Row ``i`` as a :class:`Pose`."""
        roll, pitch, yaw = (float(v) for v in self.rotation[i])
        x, y, z = (float(v) for v in self.position[i])
        return Pose(
            timestamp_ms=int(self.timestamp_ms[i]),
            state=TrackingState(int(self.state[i])),
            roll=roll,
            pitch=pitch,
            yaw=yaw,
            position=(x, y, z),
            weights=tuple(float(v) for v in self.weights[i]),
        )


def _bad(message: str) -> ValidationError:
    return ValidationError(Reason.BAD_PAYLOAD, message)


def encode_batch(poses: PoseArrays) -> bytes:
    """Records for every row of ``poses``, concatenated (``len(poses) * POSE_SIZE`` bytes)."""
    n = len(poses)
    out = np.zeros(n, dtype=POSE_DTYPE)
    state = np.asarray(poses.state, dtype=np.int64)
    if n and (state.min() < 0 or state.max() >= _N_STATES):
        raise ValueError("unknown tracking state")
    out["head"] = (VERSION << 4) | state
    out["t"] = np.asarray(poses.timestamp_ms, dtype=np.int64) % (1 << 32)
    rot = np.asarray(poses.rotation, dtype=np.float64).reshape(n, 3)
    # Wrap roll and yaw into (-180, 180] exactly as math.remainder does in encode();
    # pitch is a clamp, not a wrap.
    wrapped = rot - 360.0 * np.rint(rot / 360.0)
    wrapped = np.where(wrapped == -180.0, 180.0, wrapped)
    wrapped[:, 1] = np.clip(rot[:, 1], -90.0, 90.0)
    centi = np.rint(wrapped * 100.0)
    out["rot"] = np.clip(centi, -_ANGLE_LIMITS, _ANGLE_LIMITS).astype(np.int16)
    mm = np.rint(np.asarray(poses.position, dtype=np.float64).reshape(n, 3) * 1000.0)
    out["pos"] = np.clip(mm, -32767, 32767).astype(np.int16)
    w = np.asarray(poses.weights, dtype=np.float64).reshape(n, N_BLENDSHAPES)
    out["w"] = np.rint(np.clip(w, 0.0, 1.0) * 255.0).astype(np.uint8)
    return out.tobytes()


def decode_batch(data: bytes | bytearray | memoryview) -> PoseArrays:
    """Columns from concatenated records; raises ``ValidationError(BAD_PAYLOAD)``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _bad("a pose batch is binary data")
    raw = bytes(data)
    if len(raw) % POSE_SIZE:
        raise _bad(f"a pose batch is a multiple of {POSE_SIZE} bytes, not {len(raw)}")
    rec = np.frombuffer(raw, dtype=POSE_DTYPE)
    version = rec["head"] >> 4
    state = rec["head"] & 0x0F
    if np.any(version != VERSION):
        raise _bad(f"unsupported pose version {int(version[version != VERSION][0])}")
    if np.any(state >= _N_STATES):
        raise _bad(f"unknown tracking state {int(state[state >= _N_STATES][0])}")
    rot = rec["rot"].astype(np.int32)
    if np.any(np.abs(rot) > _ANGLE_LIMITS):
        raise _bad("pose angle out of range")
    if np.any(rec["pos"] == _POS_NEVER):
        raise _bad("pose position out of range")
    return PoseArrays(
        timestamp_ms=rec["t"].astype(np.int64),
        state=state.astype(np.uint8),
        rotation=rot.astype(np.float64) / 100.0,
        position=rec["pos"].astype(np.float64) / 1000.0,
        weights=rec["w"].astype(np.float64) / 255.0,
    )


_HEADER = struct.Struct("<BI3h3h")
_RECORD = struct.Struct("<BI3h3h52B")
assert _RECORD.size == POSE_SIZE


def _centi(angle: float, limit: int) -> int:
    return max(-limit, min(limit, round(angle * 100.0)))


def encode(pose: Pose) -> bytes:
    """The 69-byte record of one pose (same bytes as :func:`encode_batch`, without numpy:
    a single record is a few microseconds this way instead of tens)."""
    state = int(pose.state)
    if not 0 <= state < _N_STATES:
        raise ValueError("unknown tracking state")
    roll = math.remainder(pose.roll, 360.0)  # (-180, 180], ties to even: -180 -> 180
    yaw = math.remainder(pose.yaw, 360.0)
    roll = 180.0 if roll == -180.0 else roll
    yaw = 180.0 if yaw == -180.0 else yaw
    pitch = min(90.0, max(-90.0, pose.pitch))
    mm = [max(-32767, min(32767, round(v * 1000.0))) for v in pose.position]
    weights = np.rint(np.clip(np.array(pose.weights), 0.0, 1.0) * 255.0).astype(np.uint8)
    header = _HEADER.pack(
        (VERSION << 4) | state,
        pose.timestamp_ms % (1 << 32),
        _centi(roll, 18000),
        _centi(pitch, 9000),
        _centi(yaw, 18000),
        *mm,
    )
    return header + bytes(weights.data)


def decode(data: bytes | bytearray | memoryview) -> Pose:
    """One pose from exactly one record; raises ``ValidationError(BAD_PAYLOAD)``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _bad("a pose record is binary data")
    raw = bytes(data)
    if len(raw) != POSE_SIZE:
        raise _bad(f"a pose record is {POSE_SIZE} bytes, not {len(raw)}")
    head, t, roll, pitch, yaw, x, y, z, *weights = _RECORD.unpack(raw)
    if head >> 4 != VERSION:
        raise _bad(f"unsupported pose version {head >> 4}")
    if head & 0x0F >= _N_STATES:
        raise _bad(f"unknown tracking state {head & 0x0F}")
    if abs(roll) > 18000 or abs(pitch) > 9000 or abs(yaw) > 18000:
        raise _bad("pose angle out of range")
    if _POS_NEVER in (x, y, z):
        raise _bad("pose position out of range")
    return Pose(
        timestamp_ms=t,
        state=TrackingState(head & 0x0F),
        roll=roll / 100.0,
        pitch=pitch / 100.0,
        yaw=yaw / 100.0,
        position=(x / 1000.0, y / 1000.0, z / 1000.0),
        weights=tuple(w / 255.0 for w in weights),
    )
