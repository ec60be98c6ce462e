"""Floor and plaza voices across cluster nodes: every node's uplink packets, batched.

Each node receives the microphones of its own sockets. Every 20 ms (one Opus frame) it
publishes the packets its uplinks received since the last batch in one message on
``hiroba:audio:packets``; every other node hands them to its audio plane, which forwards
them to its own listeners by the same routing as local ones (floor speakers from the
leader, proximity ranking from the level each packet carries) and, on the leader, to the
recorder. Nothing is decoded on the way.

Batch: ``u8 node length, node``, then repeated ``u8 room length, room, u8 pid length,
pid, u32 RTP timestamp, f32 level (dBov), u8 loud, u16 payload length, payload``.
"""

from __future__ import annotations

import struct

from rooms.errors import Reason, ValidationError
from server.cluster.wire import put_short, take_short

_ENTRY = struct.Struct("!IfBH")
#: The batch period: one 20 ms Opus frame.
BATCH_SECONDS = 0.02

Packet = tuple[str, str, bytes, int, float, bool]


def encode_packets(node: str, packets: list[Packet]) -> bytes:
    out = bytearray()
    put_short(out, node)
    for room, pid, payload, ts, level, loud in packets:
        put_short(out, room)
        put_short(out, pid)
        out += _ENTRY.pack(ts & 0xFFFFFFFF, level, 1 if loud else 0, len(payload)) + payload
    return bytes(out)


def decode_packets(data: bytes) -> tuple[str, list[Packet]]:
    try:
        node, at = take_short(data, 0)
        out: list[Packet] = []
        while at < len(data):
            room, at = take_short(data, at)
            pid, at = take_short(data, at)
            ts, level, loud, size = _ENTRY.unpack_from(data, at)
            at += _ENTRY.size
            out.append((room, pid, data[at : at + size], ts, level, bool(loud)))
            at += size
        return node, out
    except (IndexError, UnicodeDecodeError, struct.error) as exc:
        raise ValidationError(Reason.BAD_PAYLOAD, "malformed audio batch") from exc
