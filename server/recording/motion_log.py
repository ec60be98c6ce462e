"""The motion log of a recording: stage avatars' pose records and plaza positions.

Pure format code (no threads, no asyncio); the recorder drives :class:`MotionLogWriter`
from its worker thread. Byte layout, little-endian (also in ``docs/recording.md``)::

    file   = "HRBM" | u8 version (1) | u8 reserved | u16 reserved | chunk*
    chunk  = u32 length (of body) | u32 crc32 (zlib's, over the 5 header bytes after it
             and the body) | u32 t0_ms | u8 flags (1: body is zlib, 2: keyframe) | body
    body   = record*   (after inflating, when flag 1 is set)
    record = u8 kind | u32 t_ms | ...
      kind 1 pose:      u16 slot | 69-byte pose record (avatar/codec.py)
      kind 2 positions: u16 n | n x (u16 slot | i16 x_cm | i16 z_cm | i16 heading 1e-4 rad)
      kind 3 gone:      u16 slot (the avatar left the stage or the room)

``t_ms`` is milliseconds since the recording started. A chunk is written each time the
recorder flushes (once a second); a *keyframe* chunk, every ``keyframe_ms``, restates the
last pose of every stage avatar and the last positions, so that :meth:`MotionLog.state_at`
reads from the keyframe before ``t`` instead of from the start of the file. A reader stops
at the first chunk that is short or whose CRC fails: that is the torn tail a killed
writer leaves, and :func:`repair` truncates it.
"""

from __future__ import annotations

import bisect
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from avatar.codec import POSE_SIZE
from rooms.errors import Reason, ValidationError

MAGIC = b"HRBM"
VERSION = 1
FILE_HEADER = struct.Struct("<4sBBH")
CHUNK_HEADER = struct.Struct("<IIIB")
FLAG_ZLIB = 0x01
FLAG_KEYFRAME = 0x02
KIND_POSE = 1
KIND_POSITIONS = 2
KIND_GONE = 3
_REC = struct.Struct("<BIH")  # kind, t_ms, slot (or n for positions)
_ENTRY = struct.Struct("<Hhhh")
#: Largest chunk body accepted when reading (a guard against a corrupt length).
MAX_CHUNK = 16 << 20

#: (slot, x_cm, z_cm, heading) as in the motion plane's plain entry.
Position = tuple[int, int, int, int]


@dataclass
class MotionState:
    """What the stage and the plaza look like at one time: the last pose record of each
    stage avatar, and the last known position of each avatar."""

    t_ms: int = 0
    poses: dict[int, bytes] = field(default_factory=dict)
    pose_times: dict[int, int] = field(default_factory=dict)
    positions: dict[int, Position] = field(default_factory=dict)

    def apply(self, kind: int, t_ms: int, slot: int, payload: bytes | list[Position]) -> None:
        self.t_ms = max(self.t_ms, t_ms)
        if kind == KIND_POSE:
            assert isinstance(payload, bytes)
            self.poses[slot] = payload
            self.pose_times[slot] = t_ms
        elif kind == KIND_POSITIONS:
            assert isinstance(payload, list)
            for entry in payload:
                self.positions[entry[0]] = entry
        elif kind == KIND_GONE:
            self.poses.pop(slot, None)
            self.pose_times.pop(slot, None)
            self.positions.pop(slot, None)


def pose_record(t_ms: int, slot: int, record: bytes) -> bytes:
    """One kind-1 record (76 bytes)."""
    if len(record) != POSE_SIZE:
        raise ValidationError(Reason.BAD_PAYLOAD, f"a pose record is {POSE_SIZE} bytes")
    return _REC.pack(KIND_POSE, t_ms, slot) + record


def positions_record(t_ms: int, entries: list[Position]) -> bytes:
    """One kind-2 record: the positions of many avatars at ``t_ms``."""
    return _REC.pack(KIND_POSITIONS, t_ms, len(entries)) + b"".join(
        _ENTRY.pack(*e) for e in entries
    )


def gone_record(t_ms: int, slot: int) -> bytes:
    return _REC.pack(KIND_GONE, t_ms, slot)


def iter_records(body: bytes) -> Iterator[tuple[int, int, int, bytes | list[Position]]]:
    """(kind, t_ms, slot, payload) of each record of a chunk body (slot is 0 for
    positions, whose payload is the list of entries)."""
    at = 0
    while at < len(body):
        try:
            kind, t_ms, slot = _REC.unpack_from(body, at)
            at += _REC.size
            if kind == KIND_POSE and at + POSE_SIZE > len(body):
                raise struct.error("short pose record")
            if kind == KIND_POSITIONS:
                entries = [_ENTRY.unpack_from(body, at + i * _ENTRY.size) for i in range(slot)]
        except struct.error as exc:
            # The chunk's CRC only proves the bytes are what a writer wrote.
            raise ValidationError(Reason.BAD_PAYLOAD, "truncated motion record") from exc
        if kind == KIND_POSE:
            yield kind, t_ms, slot, body[at : at + POSE_SIZE]
            at += POSE_SIZE
        elif kind == KIND_POSITIONS:
            at += slot * _ENTRY.size
            yield kind, t_ms, 0, entries
        elif kind == KIND_GONE:
            yield kind, t_ms, slot, b""
        else:
            raise ValidationError(Reason.BAD_PAYLOAD, f"unknown motion record kind {kind}")


def encode_chunk(t0_ms: int, body: bytes, *, compress: bool, keyframe: bool) -> bytes:
    """A framed chunk (header + body, deflated when that is smaller)."""
    flags = FLAG_KEYFRAME if keyframe else 0
    if compress:
        packed = zlib.compress(body, 6)
        if len(packed) < len(body):
            body, flags = packed, flags | FLAG_ZLIB
    tail = struct.pack("<IB", t0_ms, flags) + body
    return struct.pack("<II", len(body), zlib.crc32(tail)) + tail


@dataclass
class MotionLogWriter:
    """Appends records to ``fh``; :meth:`flush` frames what was added into one chunk."""

    fh: BinaryIO
    compress: bool = True
    keyframe_ms: int = 10_000

    def __post_init__(self) -> None:
        self.fh.write(FILE_HEADER.pack(MAGIC, VERSION, 0, 0))
        self._body = bytearray()
        self._t0: int | None = None
        # The state at the start of the pending chunk, and what the chunk changes in it.
        self._state = MotionState()
        self._updates: list[tuple[int, int, int, bytes | list[Position]]] = []
        self._last_keyframe = -self.keyframe_ms
        self.raw_bytes = 0

    def _add(self, t_ms: int, record: bytes) -> None:
        if self._t0 is None:
            self._t0 = t_ms
        self._body += record

    def pose(self, t_ms: int, slot: int, record: bytes) -> None:
        """A stage avatar's pose record at ``t_ms``."""
        self._add(t_ms, pose_record(t_ms, slot, record))
        self._updates.append((KIND_POSE, t_ms, slot, bytes(record)))

    def positions(self, t_ms: int, entries: list[Position]) -> None:
        """Positions of avatars at ``t_ms`` (the caller thins them to a low rate)."""
        self._add(t_ms, positions_record(t_ms, entries))
        self._updates.append((KIND_POSITIONS, t_ms, 0, list(entries)))

    def gone(self, t_ms: int, slot: int) -> None:
        """A stage avatar left (replay removes it)."""
        self._add(t_ms, gone_record(t_ms, slot))
        self._updates.append((KIND_GONE, t_ms, slot, b""))

    def flush(self, now_ms: int) -> int:
        """Write the records added since the last flush as one chunk (a keyframe chunk
        when ``keyframe_ms`` have passed); returns the bytes written."""
        keyframe = now_ms - self._last_keyframe >= self.keyframe_ms
        t0 = self._t0 if self._t0 is not None else now_ms
        body = bytes(self._body)
        if keyframe:
            # Restate the state at the chunk's start (every time <= t0), so that a reader
            # seeking to t >= t0 needs nothing before this chunk.
            snap = bytearray()
            for slot, rec in sorted(self._state.poses.items()):
                snap += pose_record(self._state.pose_times[slot], slot, rec)
            if self._state.positions:
                snap += positions_record(self._state.t_ms, sorted(self._state.positions.values()))
            body = bytes(snap) + body
            self._last_keyframe = now_ms
        for update in self._updates:
            self._state.apply(*update)
        self._updates = []
        self._body = bytearray()
        self._t0 = None
        if not body:
            return 0
        chunk = encode_chunk(t0, body, compress=self.compress, keyframe=keyframe)
        self.raw_bytes += len(body)
        self.fh.write(chunk)
        return len(chunk)


@dataclass(frozen=True)
class ChunkInfo:
    offset: int
    t0_ms: int
    keyframe: bool


def _read_chunks(data: bytes) -> tuple[list[ChunkInfo], int]:
    """Valid chunks of a motion log and the end offset of the last one."""
    if len(data) < FILE_HEADER.size:
        return [], 0
    magic, version, _, _ = FILE_HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION:
        raise ValidationError(Reason.BAD_PAYLOAD, "not a Hiroba motion log (version 1)")
    at = FILE_HEADER.size
    chunks = []
    while at + CHUNK_HEADER.size <= len(data):
        length, crc, t0, flags = CHUNK_HEADER.unpack_from(data, at)
        end = at + CHUNK_HEADER.size + length
        if length > MAX_CHUNK or end > len(data):
            break
        if zlib.crc32(data[at + 8 : end]) != crc:
            break
        chunks.append(ChunkInfo(at, t0, bool(flags & FLAG_KEYFRAME)))
        at = end
    return chunks, at


class MotionLog:
    """A motion log read into memory, with an index of its chunks for seeking."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.chunks, self.end = _read_chunks(data)
        self.torn_bytes = len(data) - self.end if data else 0
        self._keyframes = [c for c in self.chunks if c.keyframe]

    @classmethod
    def open(cls, path: Path) -> MotionLog:
        """Blocking read: run it off the event loop."""
        return cls(path.read_bytes())

    def _body(self, chunk: ChunkInfo) -> bytes:
        length, _crc, _t0, flags = CHUNK_HEADER.unpack_from(self._data, chunk.offset)
        start = chunk.offset + CHUNK_HEADER.size
        body = self._data[start : start + length]
        try:
            return zlib.decompress(body) if flags & FLAG_ZLIB else body
        except zlib.error as exc:
            raise ValidationError(Reason.BAD_PAYLOAD, "a motion chunk does not inflate") from exc

    def records(self, start: int = 0) -> Iterator[tuple[int, int, int, bytes | list[Position]]]:
        """Every record from chunk number ``start`` on, in file order."""
        for chunk in self.chunks[start:]:
            yield from iter_records(self._body(chunk))

    def state_at(self, t_ms: int) -> MotionState:
        """The last pose of each stage avatar and the last positions at or before ``t_ms``,
        read from the last keyframe chunk that starts at or before ``t_ms``."""
        times = [k.t0_ms for k in self._keyframes]
        i = bisect.bisect_right(times, t_ms) - 1
        start = self.chunks.index(self._keyframes[i]) if i >= 0 else 0
        state = MotionState()
        for chunk in self.chunks[start:]:
            if chunk.t0_ms > t_ms:
                break
            for kind, t, slot, payload in iter_records(self._body(chunk)):
                if t <= t_ms:
                    state.apply(kind, t, slot, payload)
        return state

    @property
    def last_t_ms(self) -> int:
        """Time of the last record (0 for an empty log)."""
        last = 0
        if self.chunks:
            for _kind, t, _slot, _payload in self.records(len(self.chunks) - 1):
                last = max(last, t)
        return last


def repair(path: Path) -> int:
    """Truncate a motion log to its last valid chunk; returns the bytes cut."""
    data = path.read_bytes()
    if len(data) < FILE_HEADER.size:
        with path.open("wb") as fh:
            fh.write(FILE_HEADER.pack(MAGIC, VERSION, 0, 0))
        return len(data)
    _chunks, end = _read_chunks(data)
    with path.open("r+b") as fh:
        fh.truncate(end)
        fh.flush()
        os.fsync(fh.fileno())
    return len(data) - end
