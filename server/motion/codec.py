"""Binary messages of the motion plane (docs/protocol.md, "Motion plane"). Pure: no I/O.

Uplink (client to server), one message per client per tick at most::

    u8 type (1 = state) | u8 flags (bit 0: a pose follows) | i16 x_cm | i16 z_cm | i16 h
    [69-byte pose record, avatar/codec.py]

Downlink (server to client), one frame per client per tick::

    u8 version (1) | u8 reserved | u32 tick | u16 n_posed | u16 n_plain
    n_posed x (plain entry + compact pose) | n_plain x plain entry

    plain entry (8 B): u16 slot | i16 x_cm | i16 z_cm | i16 h (1e-4 rad)

    compact pose (17 B + one nibble per non-zero weight, rounded up):
    u8 state | 3 x i16 roll, pitch, yaw (0.01 degree) | 3 x i8 head offset (4 mm)
    | 7-byte mask of the non-zero weights (bit i = weight i) | 4-bit weights, low first

The compact pose is the lossy "render" form of a pose record: weights in steps of 1/15 and
head offsets in 4 mm steps are invisible on a small avatar, and the saving is what keeps a
phone's downlink under 10 KB/s with twelve tracked members on the stage at 20 Hz. Full
records stay on the server (and in recordings).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avatar import codec as pose_codec
from avatar.codec import POSE_SIZE
from rooms.errors import Reason, ValidationError

UPLINK_STATE = 1
UPLINK_AUTH = 0
HAS_POSE = 0x01
UPLINK_HEADER = struct.Struct("<BBhhh")
FRAME_VERSION = 1
FRAME_HEADER = struct.Struct("<BBIHH")
PLAIN_ENTRY = np.dtype([("slot", "<u2"), ("x", "<i2"), ("z", "<i2"), ("h", "<i2")])
PLAIN_SIZE = PLAIN_ENTRY.itemsize
COMPACT_HEAD = struct.Struct("<B3h3b7s")
WEIGHT_COUNT = 52
MAX_UPLINK = UPLINK_HEADER.size + POSE_SIZE
#: Longest motion token a client may present (the cluster's signed tokens run to about 200
#: characters for a 64-character room id; a single node's are 24).
MAX_TOKEN_LENGTH = 400
_CM = 100.0
_H = 10_000.0


@dataclass(frozen=True, slots=True)
class Uplink:
    """A client's own state: position, heading, and optionally its latest pose record."""

    x: float
    z: float
    h: float
    pose: bytes | None


def encode_uplink(x: float, z: float, h: float, pose: bytes | None = None) -> bytes:
    flags = HAS_POSE if pose is not None else 0
    head = UPLINK_HEADER.pack(UPLINK_STATE, flags, _cm(x), _cm(z), _heading(h))
    return head + pose if pose is not None else head


def decode_uplink(data: bytes | bytearray | memoryview) -> Uplink:
    """Parse and check an uplink message; the pose record is validated by its codec."""
    raw = bytes(data)
    if len(raw) < UPLINK_HEADER.size:
        raise ValidationError(Reason.BAD_PAYLOAD, "a motion message has an 8-byte header")
    kind, flags, x, z, h = UPLINK_HEADER.unpack_from(raw)
    if kind != UPLINK_STATE:
        raise ValidationError(Reason.BAD_PAYLOAD, f"unknown motion message type {kind}")
    if flags & ~HAS_POSE:
        raise ValidationError(Reason.BAD_PAYLOAD, "unknown motion flags")
    expected = UPLINK_HEADER.size + (POSE_SIZE if flags & HAS_POSE else 0)
    if len(raw) != expected:
        raise ValidationError(Reason.BAD_PAYLOAD, f"this motion message is {expected} bytes")
    pose = None
    if flags & HAS_POSE:
        pose = raw[UPLINK_HEADER.size :]
        pose_codec.decode(pose)  # raises bad_payload for a malformed record
    return Uplink(x / _CM, z / _CM, h / _H, pose)


def uplink_length_ok(length: int) -> bool:
    """Whether an uplink of ``length`` bytes can be well formed (header, or header + pose):
    the only check made on arrival; :func:`decode_uplinks` makes the rest at the tick."""
    return length == UPLINK_HEADER.size or length == MAX_UPLINK


#: An uplink as an array record, the pose slot zero-filled when absent.
UPLINK_RECORD = np.dtype([("kind", "u1"), ("flags", "u1"), ("x", "<i2"), ("z", "<i2"),
                          ("h", "<i2"), ("pose", f"V{POSE_SIZE}")])


@dataclass(frozen=True, slots=True)
class UplinkBatch:
    """Many uplinks decoded at once: ``ok[i]`` says whether message i was well formed (the
    same checks as :func:`decode_uplink`); the other fields are meaningful where it is."""

    ok: npt.NDArray[np.bool_]
    x: npt.NDArray[np.float64]
    z: npt.NDArray[np.float64]
    h: npt.NDArray[np.float64]
    poses: list[bytes | None]


def decode_uplinks(messages: list[bytes]) -> UplinkBatch:
    """Decode and check many uplink messages in one numpy pass; a malformed one is marked
    in ``ok`` and never affects the others."""
    n = len(messages)
    lengths = np.fromiter((len(m) for m in messages), np.intp, n)
    fits = (lengths == UPLINK_HEADER.size) | (lengths == MAX_UPLINK)
    # Each message in a fixed-size slot (a wrong length leaves its slot zero: kind 0, bad).
    raw = b"".join(
        m.ljust(MAX_UPLINK, b"\0") if f else bytes(MAX_UPLINK)
        for m, f in zip(messages, fits.tolist(), strict=True)
    )
    rec = np.frombuffer(raw, dtype=UPLINK_RECORD, count=n)
    flags = rec["flags"]
    has_pose = (flags & HAS_POSE) != 0
    expected = np.where(has_pose, MAX_UPLINK, UPLINK_HEADER.size)
    known_flags = (flags & (0xFF ^ HAS_POSE)) == 0
    ok = fits & (rec["kind"] == UPLINK_STATE) & known_flags & (lengths == expected)
    poses: list[bytes | None] = [None] * n
    for i in np.flatnonzero(ok & has_pose).tolist():
        pose = messages[i][UPLINK_HEADER.size :]
        try:
            pose_codec.decode(pose)  # the record's own checks, as decode_uplink makes them
        except ValidationError:
            ok[i] = False
            continue
        poses[i] = bytes(pose)
    return UplinkBatch(
        ok,
        rec["x"].astype(np.float64) / _CM,
        rec["z"].astype(np.float64) / _CM,
        rec["h"].astype(np.float64) / _H,
        poses,
    )


def cm_many(v: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    """:func:`_cm` of every element (round half to even, as Python's round)."""
    return np.clip(np.rint(v * _CM), -32767, 32767).astype(np.int16)


def heading_many(h: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    """:func:`_heading` of every element (IEEE remainder, as math.remainder)."""
    h = h - math.tau * np.rint(h / math.tau)
    return np.clip(np.rint(h * _H), -31416, 31416).astype(np.int16)


def plain_xz(entry: np.void) -> tuple[float, float]:
    """The position ``(x, z)`` in metres of one :data:`PLAIN_ENTRY` (to the centimetre)."""
    return int(entry["x"]) / _CM, int(entry["z"]) / _CM


def _cm(v: float) -> int:
    return max(-32767, min(32767, round(v * _CM)))


def _heading(h: float) -> int:
    h = math.remainder(h, math.tau)
    return max(-31416, min(31416, round(h * _H)))


def plain_entry(slot: int, x: float, z: float, h: float) -> tuple[int, int, int, int]:
    """One position entry, as a tuple to store in an array of :data:`PLAIN_ENTRY`."""
    return (slot, _cm(x), _cm(z), _heading(h))


def compact_pose(record: bytes) -> bytes:
    """The compact (render) form of a 69-byte pose record."""
    state = record[0] & 0x0F
    roll, pitch, yaw, px, py, pz = struct.unpack_from("<3h3h", record, 5)
    weights = np.frombuffer(record, np.uint8, WEIGHT_COUNT, 17)
    # 0..255 -> 0..15 with rounding; a weight under 1/30 becomes zero.
    q = ((weights.astype(np.uint16) * 15 + 127) // 255).astype(np.uint8)
    nonzero = q > 0
    mask = np.packbits(nonzero, bitorder="little")
    values = q[nonzero]
    if values.size % 2:
        values = np.append(values, np.uint8(0))
    packed = (values[0::2] | (values[1::2] << 4)).astype(np.uint8)
    head = COMPACT_HEAD.pack(state, roll, pitch, yaw, _mm4(px), _mm4(py), _mm4(pz), mask.tobytes())
    return head + packed.tobytes()


def _mm4(mm: int) -> int:
    return max(-127, min(127, round(mm / 4)))


def compact_size(data: bytes | memoryview, at: int = 0) -> int:
    """Length of the compact pose starting at ``at``."""
    mask = np.frombuffer(data, np.uint8, 7, at + 10)
    k = int(np.unpackbits(mask, bitorder="little")[:WEIGHT_COUNT].sum())
    return COMPACT_HEAD.size + (k + 1) // 2


@dataclass(frozen=True, slots=True)
class CompactPose:
    state: int
    roll: float
    pitch: float
    yaw: float
    position_mm: tuple[int, int, int]
    weights: tuple[float, ...]


def decode_compact(data: bytes | memoryview, at: int = 0) -> tuple[CompactPose, int]:
    """A compact pose and the offset just after it; raises ``ValidationError(BAD_PAYLOAD)``
    when ``data`` ends before it does."""
    try:
        state, roll, pitch, yaw, px, py, pz, mask = COMPACT_HEAD.unpack_from(data, at)
        bits = np.unpackbits(np.frombuffer(mask, np.uint8), bitorder="little")[:WEIGHT_COUNT]
        k = int(bits.sum())
        start = at + COMPACT_HEAD.size
        nbytes = (k + 1) // 2
        packed = np.frombuffer(data, np.uint8, nbytes, start)
    except (struct.error, ValueError) as exc:
        raise ValidationError(Reason.BAD_PAYLOAD, "truncated compact pose") from exc
    values = np.empty(nbytes * 2, np.uint8)
    values[0::2] = packed & 0x0F
    values[1::2] = packed >> 4
    weights = np.zeros(WEIGHT_COUNT)
    weights[bits.astype(bool)] = values[:k] / 15.0
    pose = CompactPose(
        state,
        roll / 100,
        pitch / 100,
        yaw / 100,
        (px * 4, py * 4, pz * 4),
        tuple(float(w) for w in weights),
    )
    return pose, start + nbytes


def frame_header(tick: int, n_posed: int, n_plain: int) -> bytes:
    return FRAME_HEADER.pack(FRAME_VERSION, 0, tick & 0xFFFFFFFF, n_posed, n_plain)


@dataclass(frozen=True, slots=True)
class FrameEntry:
    slot: int
    x: float
    z: float
    h: float
    pose: CompactPose | None


def decode_frame(data: bytes | bytearray | memoryview) -> tuple[int, list[FrameEntry]]:
    """The tick and entries of a downlink frame (clients, tests and benchmarks use it)."""
    raw = bytes(data)
    if len(raw) < FRAME_HEADER.size:
        raise ValidationError(Reason.BAD_PAYLOAD, "a motion frame has a 10-byte header")
    version, _, tick, n_posed, n_plain = FRAME_HEADER.unpack_from(raw)
    if version != FRAME_VERSION:
        raise ValidationError(Reason.BAD_PAYLOAD, f"unsupported motion frame {version}")
    at = FRAME_HEADER.size
    entries = []
    try:
        for _ in range(n_posed):
            slot, x, z, h = struct.unpack_from("<H3h", raw, at)
            pose, at = decode_compact(raw, at + PLAIN_SIZE)
            entries.append(FrameEntry(slot, x / _CM, z / _CM, h / _H, pose))
        plain = np.frombuffer(raw, PLAIN_ENTRY, n_plain, at)
    except (struct.error, ValueError) as exc:
        raise ValidationError(Reason.BAD_PAYLOAD, "truncated motion frame") from exc
    if at + n_plain * PLAIN_SIZE != len(raw):
        raise ValidationError(Reason.BAD_PAYLOAD, "motion frame length does not match")
    entries.extend(
        FrameEntry(int(e["slot"]), e["x"] / _CM, e["z"] / _CM, e["h"] / _H, None) for e in plain
    )
    return tick, entries
