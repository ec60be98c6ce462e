"""The pose frame: many pose records in one binary message, each tagged with a slot.

Layout of version 1 (little-endian, no padding; ``docs/protocol.md``, "Pose frames"):

| offset | size | type | field |
|---|---|---|---|
| 0 | 1 | u8 | frame version, 1 |
| 1 | 2 | u16 | ``count``, number of entries |
| 3 | 71 x count | entries | u16 ``slot``, then that participant's 69-byte pose record |

``slot`` is the participant's ``slot`` in the room (snapshot and ``joined`` records); the
record is :mod:`avatar.codec`'s.

A frame holds each slot at most once. Pure: no I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from avatar import codec
from avatar.codec import POSE_SIZE
from rooms.errors import Reason, ValidationError

FRAME_VERSION = 1
HEADER = struct.Struct("<BH")
SLOT = struct.Struct("<H")
ENTRY_SIZE = SLOT.size + POSE_SIZE
MAX_ENTRIES = 0xFFFF


def frame_size(count: int) -> int:
    """Bytes of a frame holding ``count`` poses."""
    return HEADER.size + count * ENTRY_SIZE


def encode_frame(entries: Sequence[tuple[int, bytes]]) -> bytes:
    """A frame from ``(slot, record)`` pairs; records must be exactly one pose each."""
    if len(entries) > MAX_ENTRIES:
        raise ValueError(f"a frame holds at most {MAX_ENTRIES} poses")
    parts = [HEADER.pack(FRAME_VERSION, len(entries))]
    seen: set[int] = set()
    for slot, record in entries:
        if not 0 <= slot <= 0xFFFF or slot in seen:
            raise ValueError(f"bad or repeated slot {slot}")
        if len(record) != POSE_SIZE:
            raise ValueError(f"a pose record is {POSE_SIZE} bytes, not {len(record)}")
        seen.add(slot)
        parts.append(SLOT.pack(slot))
        parts.append(bytes(record))
    return b"".join(parts)


def decode_frame(data: bytes | bytearray | memoryview) -> list[tuple[int, bytes]]:
    """``(slot, record)`` pairs of a frame; every record is checked by the pose codec.

    Raises ``ValidationError(BAD_PAYLOAD)`` for anything malformed.
    """
    raw = bytes(data)
    if len(raw) < HEADER.size:
        raise ValidationError(Reason.BAD_PAYLOAD, "a pose frame starts with 3 header bytes")
    version, count = HEADER.unpack_from(raw)
    if version != FRAME_VERSION:
        raise ValidationError(Reason.BAD_PAYLOAD, f"unsupported pose frame version {version}")
    if len(raw) != frame_size(count):
        raise ValidationError(
            Reason.BAD_PAYLOAD, f"a frame of {count} poses is {frame_size(count)} bytes"
        )
    out = []
    for i in range(count):
        at = HEADER.size + i * ENTRY_SIZE
        (slot,) = SLOT.unpack_from(raw, at)
        out.append((slot, raw[at + SLOT.size : at + ENTRY_SIZE]))
    if len({slot for slot, _ in out}) != count:
        raise ValidationError(Reason.BAD_PAYLOAD, "a pose frame names a slot twice")
    codec.decode_batch(b"".join(record for _, record in out))
    return out
