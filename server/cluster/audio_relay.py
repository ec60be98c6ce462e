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

_ENTRY = struct.Struct("!IfBH")
#: The batch period: one 20 ms Opus frame.
BATCH_SECONDS = 0.02

Packet = tuple[str, str, bytes, int, float, bool]


def encode_packets(node: str, packets: list[Packet]) -> bytes:
    n = node.encode()
    out = bytearray((len(n),)) + n
    for room, pid, payload, ts, level, loud in packets:
        r, p = room.encode(), pid.encode()
        out += bytes((len(r),)) + r + bytes((len(p),)) + p
        out += _ENTRY.pack(ts & 0xFFFFFFFF, level, 1 if loud else 0, len(payload)) + payload
    return bytes(out)


def decode_packets(data: bytes) -> tuple[str, list[Packet]]:
    try:
        n = data[0]
        node = data[1 : 1 + n].decode()
        at = 1 + n
        out: list[Packet] = []
        while at < len(data):
            n = data[at]
            room = data[at + 1 : at + 1 + n].decode()
            at += 1 + n
            n = data[at]
            pid = data[at + 1 : at + 1 + n].decode()
            at += 1 + n
            ts, level, loud, size = _ENTRY.unpack_from(data, at)
            at += _ENTRY.size
            out.append((room, pid, data[at : at + size], ts, level, bool(loud)))
            at += size
        return node, out
    except (IndexError, UnicodeDecodeError, struct.error) as exc:
        raise ValidationError(Reason.BAD_PAYLOAD, "malformed audio batch") from exc
