"""Assembling every client's frame of one tick at once, with numpy. Pure: no I/O.

Interest management hands over (receiver, entity) pairs; a frame is a header, the posed
entries of its receiver (plain entry + compact pose, variable length) and then its plain
entries (8 bytes each), in entity order (:mod:`server.motion.codec`). Building those frames
one receiver at a time costs a Python loop over every pair (tens of thousands a tick at
500 clients); here the output offset of every piece is computed with array arithmetic and
all frames are copied out of one source buffer by a single fancy-indexing gather. The
caller then sends ``buffer[start:end]`` to each receiver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from server.motion import codec

Indices = npt.NDArray[np.intp]

#: The frame header as a numpy record, byte for byte :data:`codec.FRAME_HEADER`.
HEADER = np.dtype(
    [("version", "u1"), ("delay", "u1"), ("tick", "<u4"), ("n_posed", "<u2"), ("n_plain", "<u2")]
)
assert HEADER.itemsize == codec.FRAME_HEADER.size


@dataclass(frozen=True, slots=True)
class TickFrames:
    """All frames of a tick, back to back in ``buffer``; frame i is for ``receivers[i]``."""

    buffer: npt.NDArray[np.uint8]
    receivers: Indices
    starts: Indices
    ends: Indices

    def __len__(self) -> int:
        return int(self.receivers.size)


def assemble(
    tick: int,
    plain: npt.NDArray[np.void],
    posed: Sequence[bytes | None],
    receivers: Indices,
    entities: Indices,
) -> TickFrames:
    """The frames for ``(receivers[k], entities[k])`` pairs, sorted by receiver.

    ``plain`` holds every row's plain entry (:data:`codec.PLAIN_ENTRY`), ``posed`` every
    row's posed entry (plain entry + compact pose) or None for a row without a pose.
    """
    empty = np.zeros(0, np.intp)
    if receivers.size == 0:
        return TickFrames(np.zeros(0, np.uint8), empty, empty, empty)
    n = len(plain)
    plain_size = codec.PLAIN_SIZE
    head_size = HEADER.itemsize

    # Source: the posed blocks, then every plain entry, then the headers.
    posed_len = np.zeros(n, np.intp)
    posed_off = np.zeros(n, np.intp)
    blocks = []
    at = 0
    for row, block in enumerate(posed):
        if block is not None:
            posed_len[row] = len(block)
            posed_off[row] = at
            at += len(block)
            blocks.append(block)
    plain_base = at
    header_base = plain_base + n * plain_size

    # Groups: one per receiver (pairs arrive sorted by receiver).
    first = np.flatnonzero(np.r_[True, receivers[1:] != receivers[:-1]])
    counts = np.diff(np.r_[first, receivers.size])
    group = np.repeat(np.arange(first.size), counts)

    is_posed = posed_len[entities] > 0
    piece_posed = np.where(is_posed, posed_len[entities], 0)
    before_posed = np.cumsum(piece_posed) - piece_posed
    posed_total = np.add.reduceat(piece_posed, first)
    plain_flag = (~is_posed).astype(np.intp)
    before_plain = np.cumsum(plain_flag) - plain_flag
    n_plain = np.add.reduceat(plain_flag, first)
    frame_len = head_size + posed_total + plain_size * n_plain
    starts = np.cumsum(frame_len) - frame_len

    # Where each piece goes in its frame: posed entries first, then the plain ones.
    within = np.where(
        is_posed,
        before_posed - before_posed[first][group],
        posed_total[group] + plain_size * (before_plain - before_plain[first][group]),
    )
    piece_dst = starts[group] + head_size + within
    piece_src = np.where(is_posed, posed_off[entities], plain_base + plain_size * entities)
    piece_len = np.where(is_posed, piece_posed, plain_size)

    headers = np.zeros(first.size, HEADER)
    headers["version"] = codec.FRAME_VERSION
    headers["tick"] = tick & 0xFFFFFFFF
    headers["n_posed"] = counts - n_plain
    headers["n_plain"] = n_plain
    source = np.frombuffer(
        b"".join((*blocks, np.ascontiguousarray(plain).tobytes(), headers.tobytes())), np.uint8
    )

    src = np.concatenate((piece_src, header_base + head_size * np.arange(first.size)))
    dst = np.concatenate((piece_dst, starts))
    length = np.concatenate((piece_len, np.full(first.size, head_size)))
    total = int(starts[-1] + frame_len[-1])
    # Byte k of segment s: out[dst_s + k] = source[src_s + k], for every segment at once.
    before = np.cumsum(length) - length
    step = np.arange(total) - np.repeat(before, length)
    buffer = np.empty(total, np.uint8)
    buffer[np.repeat(dst, length) + step] = source[np.repeat(src, length) + step]
    return TickFrames(buffer, receivers[first], starts, starts + frame_len)


def stamp_delay(frames: TickFrames, index: int, delay_ms: float) -> None:
    """Write into frame ``index``'s header how long after the tick began it is sent.

    Clients subtract it from the frame's arrival time to find the tick's phase and send
    their uplink just before the next tick (docs/protocol.md, "Motion plane").
    """
    frames.buffer[frames.starts[index] + 1] = delay_byte(delay_ms)


def delay_byte(delay_ms: float) -> int:
    """The header's delay byte for ``delay_ms``: whole milliseconds, held to 0-255."""
    return min(255, max(0, round(delay_ms)))
