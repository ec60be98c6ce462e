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
"held", "rec"}]}`` (``stage``/``echo``/``held``: strings of 0/1 per person, ``held``
marking those held out of a closed session, 秘密会, who are sent no frame on any node;
``rec``: indexes of people with a pose record), then per room
the plain entries (``len(pids)`` x :data:`codec.PLAIN_ENTRY`) and the records (69 bytes
each, in ``rec`` order). Uplink batch: repeated ``u8 room length, room, u8 pid length,
pid, u16 length, uplink``.

:class:`MotionRelay` runs both sides on a node; :class:`MotionTokens` lets any node check
the motion token a client brings to its ``/motion``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from moderation.tokens import encode, signed_claims
from rooms.errors import HirobaError, Reason, ValidationError
from server.cluster.bus import RedisBus, channel
from server.cluster.wire import put_short, take_short
from server.motion import codec
from server.motion.plane import MotionPlane
from server.motion.transport import MotionTransport
from server.sockets.hub import Hub

STATE_CHANNEL = channel("motion", "state")
UPLINKS_CHANNEL = channel("motion", "uplinks")
#: An uplink batch leaves this long before the leader's next tick is due (by the wall-clock
#: start the leader's state carries): the leader is busiest just before its tick, with its
#: own clients' uplinks, and the batch must be through by then.
UPLINK_LEAD = 0.008
#: This node's frames tell its clients the tick began this much earlier than it did, so
#: they send their uplinks that much before the batch leaves. Measured with bench.motion
#: (200 + 12 clients, two nodes): timing by this node's own arrival put the edge's people
#: two ticks late, by the leader's tick one tick late; with both, as early as the leader's.
EDGE_EARLY = 0.005

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
    #: Those held out of the room's closed session (no frames for them on any node).
    held: frozenset[str] = frozenset()


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
        held = plane.withheld.get(room_id, frozenset())
        header.append({
            "id": room_id,
            "pids": [room.pids[r] for r in rows],
            "stage": "".join("1" if table.on_stage[r] else "0" for r in rows),
            "echo": "".join("1" if table.echo[r] else "0" for r in rows),
            "held": "".join("1" if room.pids[r] in held else "0" for r in rows),
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
            # A held string of another length than pids: ValueError, a malformed state.
            held = frozenset(p for p, h in zip(pids, str(r["held"]), strict=True) if h == "1")
            states.append(RoomState(str(r["id"]), pids, plain, str(r["stage"]),
                                    str(r["echo"]), records, held))
        return int(head["t"]), float(head.get("at", 0.0)), states
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise ValidationError(Reason.BAD_PAYLOAD, "malformed motion state") from exc


def apply_state(
    plane: MotionPlane, state: RoomState, now: float, held: set[str]
) -> list[MotionTransport]:
    """Bring this node's replica of a room to ``state``; returns the transports of local
    clients who are no longer in it (to close). ``held``: ids with a placeholder row not
    yet confirmed by a state (kept until they appear)."""
    room = plane.room_for(state.room)
    if room is None:
        return []  # a room this node does not know yet (an edge loads them at start)
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


class MotionTokens:
    """Motion tokens any node can check: room and participant id, signed (with a key of
    their own, derived from the secret, so that no other kind of token passes)."""

    def __init__(self, secret: bytes) -> None:
        self.key = hashlib.sha256(b"hiroba-motion-token\0" + secret).digest()

    def make(self, room: str, pid: str) -> str:
        return encode(self.key, {"typ": "motion", "room": room, "pid": pid})

    def resolve(self, token: str) -> tuple[str, str] | None:
        try:
            data = signed_claims(self.key, token, codec.MAX_TOKEN_LENGTH)
            if data["typ"] == "motion":
                return str(data["room"]), str(data["pid"])
        except (HirobaError, KeyError, TypeError):
            pass
        return None


class MotionRelay:
    """This node's side of the motion plane across nodes: the leader publishes its state
    at every tick; the others apply it to their replica, tick over it and send their
    clients' uplinks back in one batch per tick."""

    def __init__(
        self,
        plane: MotionPlane,
        hub: Hub,
        bus: RedisBus,
        motion_hz: float,
        is_leader: Callable[[], bool],
        remote_sockets: Callable[[], Iterable[str]],
        spawn: Callable[[Awaitable[Any]], None],
    ) -> None:
        """``is_leader()``: whether this node leads now; ``remote_sockets()``: the leader's
        sockets of other nodes (their rooms go into the state)."""
        self.plane = plane
        self.hub = hub
        self.bus = bus
        self.period = 1.0 / motion_hz
        self._is_leader = is_leader
        self._remote_sockets = remote_sockets
        self._spawn = spawn
        self._tokens: MotionTokens | None = None
        #: Edge: ids with a placeholder row (a /motion opened before the state had them).
        self._held: dict[str, set[str]] = {}
        self._uplinks: dict[tuple[str, str], bytes] = {}
        self._flush: asyncio.TimerHandle | None = None
        self._state_in_flight = False
        self.states_applied = 0
        self.uplink_batches = 0
        #: Leader: rooms whose state goes to every node whoever is where (the meeting
        #: rooms, whose public gallery may watch from any node: issue 19).
        self.watched: Callable[[], Iterable[str]] = lambda: ()

    def start(self, secret: bytes) -> None:
        """Sign and check motion tokens with the cluster's shared secret."""
        self._tokens = MotionTokens(secret)
        self.plane.use_tokens(self._tokens.make, self._resolve_token)

    def _resolve_token(self, token: str) -> tuple[str, str] | None:
        found = self._tokens.resolve(token) if self._tokens is not None else None
        if found is not None and not self._is_leader():
            self._held.setdefault(found[0], set()).add(found[1])
        return found

    def follow(self) -> None:
        """This node does not lead: its plane relays uplinks and takes the leader's state."""
        self.plane.relay_uplinks_to(self._relay_uplink)

    async def lead(self, ours: set[str] | None) -> None:
        """This node leads now: its plane is the truth, other nodes' uplinks come here.
        ``ours``: after a failover, the ids of this node's people; the replica's others
        come back through their joins."""
        self.plane.relay_uplinks_to(None)
        await self.bus.unsubscribe(STATE_CHANNEL)
        await self.bus.subscribe(UPLINKS_CHANNEL)
        if ours is None:
            return
        for room in self.plane.rooms.values():
            for pid in list(room.pids.values()):
                if pid not in ours:
                    transport = room.remove(pid)
                    if transport is not None:
                        self._spawn(transport.close())

    def publish_state(self, plane: MotionPlane) -> None:
        """Leader, at the start of every tick: the rooms people on other nodes are in."""
        rooms = {
            s.room
            for sid in self._remote_sockets()
            if (s := self.hub.sessions.get(sid)) is not None and s.room is not None
        }
        rooms.update(self.watched())  # (empty ones are left out of the state)
        # One state in flight at most: while Redis is away, ticks are dropped, not queued.
        if rooms and self.bus.connected and not self._state_in_flight:
            self._state_in_flight = True
            self._spawn(self._publish_state(encode_state(plane, rooms, time.time())))

    async def _publish_state(self, data: bytes) -> None:
        try:
            await self.bus.publish(STATE_CHANNEL, data)
        finally:
            self._state_in_flight = False

    async def apply_state(self, data: bytes) -> None:
        """Edge: the leader's state (``ValidationError`` if malformed): update the replica
        and tick over it."""
        if self._is_leader():
            return
        tick, at, states = decode_state(data)
        now = self.plane.clock()
        for state in states:
            held = self._held.setdefault(state.room, set())
            for transport in apply_state(self.plane, state, now, held):
                self._spawn(transport.close())
            # Held out of a closed session by the leader: this node's tick over the
            # replica sends them no frame either, from this very tick.
            self.plane.set_withheld(state.room, state.held)
        self.states_applied += 1
        # How long ago the leader's tick began, by the wall clocks (synchronised machines;
        # a skew beyond a tick counts as none). Frames carry it, so this node's clients
        # aim their uplinks at the leader's next tick, and the batch leaves just before it.
        lag = time.time() - at
        if not 0.0 <= lag < self.period:
            lag = 0.0
        if self._flush is None:
            delay = max(0.0, self.period - lag - UPLINK_LEAD)
            self._flush = asyncio.get_running_loop().call_later(delay, self._flush_uplinks)
        await self.plane.tick(lag + EDGE_EARLY, number=tick)

    def _relay_uplink(self, room: str, pid: str, data: bytes) -> None:
        self._uplinks[(room, pid)] = data

    def _flush_uplinks(self) -> None:
        self._flush = None
        if not self._uplinks:
            return
        batch, self._uplinks = self._uplinks, {}
        self.uplink_batches += 1
        self._spawn(self.bus.publish(UPLINKS_CHANNEL, encode_uplinks(batch)))

    def apply_uplinks(self, data: bytes) -> None:
        """Leader: another node's uplink batch (``ValidationError`` if malformed)."""
        if not self._is_leader():
            return
        for room, pid, uplink in decode_uplinks(data):
            try:
                # Waiting for the tick's batch with the leader's own clients' uplinks (one
                # numpy pass a room, docs/performance.md "Motion plane"), not applied one
                # at a time: the edge checked each already, the batch checks them again.
                self.plane.offer(room, pid, uplink)
            except (HirobaError, KeyError):
                continue  # left meanwhile, or the wrong length
