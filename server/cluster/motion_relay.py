"""The motion plane across nodes: the leader's room state once per tick, uplinks batched.

The leader's plane is the truth (it checks every move against the room's rules). Once per
tick it publishes, in one message, the state of every room that has people on other
nodes: who is there, their plain entries, stage and echo flags and pose records. Every
other node keeps a replica of those rooms in its own plane and, on each message, runs the
ordinary tick over it, so frames are assembled and sent by the node that holds the
receivers' connections. Uplinks go the other way: a node keeps the latest uplink of each
of its clients and sends them to the leader in one message per tick, a few milliseconds
before the leader's next tick.

State message: ``u32 header length``, a JSON header
``{"t": tick, "at": wall-clock start of the tick, "rooms": [{"id", "pids", "stage", "echo",
"rec"}]}`` (``stage``/``echo``:
strings of 0/1 per person; ``rec``: indexes of people with a pose record), then per room
the plain entries (``len(pids)`` x :data:`codec.PLAIN_ENTRY`) and the records (69 bytes
each, in ``rec`` order). Uplink batch: repeated ``u8 room length, room, u8 pid length,
pid, u16 length, uplink``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from rooms.errors import Reason, ValidationError
from server.cluster.wire import put_short, take_short
from server.motion import codec
from server.motion.plane import MotionPlane, RoomMotion
from server.motion.transport import MotionTransport

_LEN = struct.Struct("!I")
_U16 = struct.Struct("!H")
RECORD_SIZE = 69


@dataclass
class RoomState:
    room: str
    pids: list[str]
    plain: np.ndarray
    stage: str
    echo: str
    records: dict[int, bytes]


def encode_state(plane: MotionPlane, rooms: Iterable[str], at: float = 0.0) -> bytes:
    """The state of ``rooms`` (those the plane has) as one message; ``at``: the wall-clock
    time the leader's tick started (other nodes time their frames and uplinks by it)."""
    header: list[dict[str, object]] = []
    body: list[bytes] = []
    for room_id in rooms:
        room = plane.rooms.get(room_id)
        if room is None or not room.pids:
            continue
        rows = sorted(room.pids)
        table = room.table
        rec = [i for i, row in enumerate(rows) if room.records[row] is not None]
        header.append({
            "id": room_id,
            "pids": [room.pids[r] for r in rows],
            "stage": "".join("1" if table.on_stage[r] else "0" for r in rows),
            "echo": "".join("1" if table.echo[r] else "0" for r in rows),
            "rec": rec,
        })  # fmt: skip
        body.append(room.plain[rows].tobytes())
        body.extend(room.records[rows[i]] or b"" for i in rec)
    head = json.dumps({"t": plane.tick_number, "at": at, "rooms": header},
                      separators=(",", ":")).encode()
    return _LEN.pack(len(head)) + head + b"".join(body)


def decode_state(data: bytes) -> tuple[int, float, list[RoomState]]:
    try:
        (n,) = _LEN.unpack_from(data, 0)
        head = json.loads(data[4 : 4 + n])
        at = 4 + n
        states = []
        for r in head["rooms"]:
            pids = [str(p) for p in r["pids"]]
            plain = np.frombuffer(data, codec.PLAIN_ENTRY, len(pids), at)
            at += len(pids) * codec.PLAIN_SIZE
            records = {}
            for i in r["rec"]:
                records[int(i)] = data[at : at + RECORD_SIZE]
                at += RECORD_SIZE
            states.append(RoomState(str(r["id"]), pids, plain, str(r["stage"]),
                                    str(r["echo"]), records))
        return int(head["t"]), float(head.get("at", 0.0)), states
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise ValidationError(Reason.BAD_PAYLOAD, "malformed motion state") from exc


def apply_state(
    plane: MotionPlane, state: RoomState, now: float, held: set[str]
) -> list[MotionTransport]:
    """Bring this node's replica of a room to ``state``; returns the transports of local
    clients who are no longer in it (to close). ``held``: ids with a placeholder row not
    yet confirmed by a state (kept until they appear)."""
    if state.room not in plane.rooms:
        plane.add_room(state.room, plane.capacity_of(state.room))
    room: RoomMotion = plane.rooms[state.room]
    table = room.table
    gone: list[MotionTransport] = []
    present = set(state.pids)
    for pid in list(room.pids.values()):
        if pid not in present and pid not in held:
            transport = room.remove(pid)
            if transport is not None:
                gone.append(transport)
    for i, pid in enumerate(state.pids):
        held.discard(pid)
        entry = state.plain[i]
        stage = state.stage[i] == "1"
        if pid not in table:
            x, z = codec.plain_xz(entry)
            row = room.add(pid, int(entry["slot"]), x, z, 0.0, stage)
            room.plain[row] = entry
        else:
            row = table.row(pid)
            if room.plain[row].tobytes() != entry.tobytes():
                room.plain[row] = entry
                table.moved(pid, *codec.plain_xz(entry))
                room.posed[row] = None
                room.arrived[row] = now
            if bool(table.on_stage[row]) != stage:
                table.set_on_stage(pid, stage)
        record = state.records.get(i)
        if record != room.records[row]:
            room.set_pose(row, record, now)
        echo = state.echo[i] == "1"
        if bool(table.echo[row]) != echo:
            table.set_echo(pid, echo)
    return gone


def encode_uplinks(uplinks: dict[tuple[str, str], bytes]) -> bytes:
    out = bytearray()
    for (room, pid), data in uplinks.items():
        put_short(out, room)
        put_short(out, pid)
        out += _U16.pack(len(data)) + data
    return bytes(out)


def decode_uplinks(data: bytes) -> list[tuple[str, str, bytes]]:
    out = []
    at = 0
    try:
        while at < len(data):
            room, at = take_short(data, at)
            pid, at = take_short(data, at)
            (n,) = _U16.unpack_from(data, at)
            out.append((room, pid, data[at + 2 : at + 2 + n]))
            at += 2 + n
    except (IndexError, UnicodeDecodeError, struct.error) as exc:
        raise ValidationError(Reason.BAD_PAYLOAD, "malformed uplink batch") from exc
    return out
