"""The motion plane: latest state per person in, one batched frame per client per tick out.

Uplinks are kept raw on arrival, the latest one per person (an earlier one not yet applied
is overwritten and counted), and applied at the start of the next tick in one batch per
room: decoded and checked with numpy (the header, the pose record by its codec), moved by
the room's rules as array operations (:meth:`rooms.room.Room.check_moves`), and written into
the arrays the frames are made from; the room keeps the moves once the tick's frames are
written (:meth:`MotionPlane.commit_moves`). Nothing else queues. Each tick, interest management
(:mod:`rooms.interest`) picks for all clients at once what each needs, and each frame
is assembled from per-entity byte blocks encoded once per change, not per receiver: a
frame is a header, the posed entries (joined bytes) and the plain entries (one numpy gather).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from rooms.errors import HirobaError, Reason, ValidationError
from rooms.interest import InterestConfig, InterestTable
from server.common.histogram import TICK_SECONDS, Histogram
from server.motion import codec
from server.motion.assembly import FRAME_LEADS, TickFrames, assemble
from server.motion.transport import MotionTransport, Written

log = logging.getLogger(__name__)

#: Latency samples kept per room per tick (of up to tens of thousands of pairs).
LATENCY_SAMPLES_PER_TICK = 500

#: Validates a move with the room's rules and returns the accepted (x, z, h).
Mover = Callable[[str, str, float, float, float], tuple[float, float, float]]
FloatArray = npt.NDArray[np.float64]


class Moves(Protocol):
    """Many people's moves, checked by the room's rules: ``present`` (the pid is still in
    the room) and each one's accepted ``x``, ``z``, ``h``. The room keeps them on
    :meth:`commit`, which the tick calls once its frames are written
    (:class:`rooms.room.CheckedMoves`)."""

    @property
    def present(self) -> npt.NDArray[np.bool_]: ...
    @property
    def x(self) -> FloatArray: ...
    @property
    def z(self) -> FloatArray: ...
    @property
    def h(self) -> FloatArray: ...

    def commit(self) -> None: ...


#: :data:`Mover` for many people of one room at once: ``(room, pids, x, z, h)`` →
#: their checked :class:`Moves`.
BatchMover = Callable[[str, Sequence[str], FloatArray, FloatArray, FloatArray], Moves]


@dataclass(frozen=True, slots=True)
class KeptMoves:
    """:class:`Moves` the room has kept already (nothing left to commit)."""

    present: npt.NDArray[np.bool_]
    x: FloatArray
    z: FloatArray
    h: FloatArray

    def commit(self) -> None:
        pass


class UplinkSink(Protocol):
    """Who sent a queued uplink: told when the tick's batch finds it malformed."""

    def rejected(self) -> None: ...


class _NoSink:
    def rejected(self) -> None:
        pass


NO_SINK = _NoSink()
#: Makes the motion token of ``(room, pid)``; resolves a token no join of this process made.
TokenMaker = Callable[[str, str], str]
TokenResolver = Callable[[str], "tuple[str, str] | None"]
#: Takes a checked uplink instead of applying it here: ``relay(room, pid, raw)`` (a cluster
#: node that is not the leader sends it on, server/cluster/motion_relay.py).
UplinkRelay = Callable[[str, str, bytes], None]
#: Called with the plane at the start of every tick (the recorder reads each room's
#: latest state there, once per tick, instead of decoding frames per client).
TickListener = Callable[["MotionPlane"], None]
#: The capacity of a room this process knows (its hub's), or None for a room it does not.
CapacityOf = Callable[[str], "int | None"]


@dataclass
class MotionStats:
    """Counters since start; latencies in seconds, a bounded window of recent samples."""

    ticks: int = 0
    frames_sent: int = 0
    bytes_sent: int = 0
    frames_skipped_busy: int = 0
    uplinks: int = 0
    uplinks_rejected: int = 0
    #: Uplinks replaced by a newer one from the same person before a tick applied them.
    uplinks_overwritten: int = 0
    #: Uplinks applied by ticks (each the latest of its sender when its tick began).
    uplinks_applied: int = 0
    tick_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    #: Every tick's duration added up (the window above forgets; a summary's _sum must not).
    tick_seconds_sum: float = 0.0
    #: Every tick's duration in buckets since start, for /metrics (adds up across nodes).
    tick_histogram: Histogram = field(default_factory=lambda: Histogram(TICK_SECONDS))
    #: From an uplink's arrival to the first frame carrying it being written.
    arrival_to_send: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    #: From the tick's start to a frame being written (the assembly queue within a tick).
    tick_to_send: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))

    def summary(self) -> dict[str, object]:
        def pct(values: deque[float], q: float) -> float | None:
            return (
                round(float(np.percentile(np.fromiter(values, float), q)) * 1000, 3)
                if values
                else None
            )

        return {
            "ticks": self.ticks,
            "frames_sent": self.frames_sent,
            "bytes_sent": self.bytes_sent,
            "frames_skipped_busy": self.frames_skipped_busy,
            "uplinks": self.uplinks,
            "uplinks_rejected": self.uplinks_rejected,
            "uplinks_overwritten": self.uplinks_overwritten,
            "uplinks_applied": self.uplinks_applied,
            "tick_ms_p50": pct(self.tick_seconds, 50),
            "tick_ms_p99": pct(self.tick_seconds, 99),
            "arrival_to_send_ms_p50": pct(self.arrival_to_send, 50),
            # p90 and p95 too: the distribution is bimodal (most uplinks make their tick,
            # the few that arrive after it began wait a whole period more).
            "arrival_to_send_ms_p90": pct(self.arrival_to_send, 90),
            "arrival_to_send_ms_p95": pct(self.arrival_to_send, 95),
            "arrival_to_send_ms_p99": pct(self.arrival_to_send, 99),
            "tick_to_send_ms_p50": pct(self.tick_to_send, 50),
            "tick_to_send_ms_p99": pct(self.tick_to_send, 99),
        }


class RoomMotion:
    """One room's motion state, indexed by interest-table row."""

    def __init__(self, room_id: str, capacity: int, config: InterestConfig) -> None:
        self.room_id = room_id
        self.table = InterestTable(config, capacity)
        self.plain = np.zeros(capacity, dtype=codec.PLAIN_ENTRY)
        self.posed: list[bytes | None] = [None] * capacity
        self.records: list[bytes | None] = [None] * capacity
        self.arrived = np.zeros(capacity, np.float64)
        self.pids: dict[int, str] = {}
        self.transports: dict[int, MotionTransport] = {}
        #: pid → (its latest raw uplink, when it arrived, its sender), for the next tick.
        #: One entry per person in the room at most: bounded by the room's capacity.
        self.pending: dict[str, tuple[bytes, float, UplinkSink]] = {}

    def add(self, pid: str, slot: int, x: float, z: float, h: float, on_stage: bool) -> int:
        # Someone already here joins again (a resumed id, a cluster's new leader taking
        # over its replica): a fresh row, the same connection.
        transport = self.remove(pid) if pid in self.table else None
        row = self.table.add(pid, x, z, on_stage=on_stage, receiving=transport is not None)
        self.plain[row] = codec.plain_entry(slot, x, z, h)
        self.posed[row] = self.records[row] = None
        self.pids[row] = pid
        if transport is not None:
            self.transports[row] = transport
        return row

    def remove(self, pid: str) -> MotionTransport | None:
        row = self.table.row(pid)
        self.pending.pop(pid, None)
        self.table.remove(pid)
        self.pids.pop(row, None)
        self.posed[row] = self.records[row] = None
        return self.transports.pop(row, None)

    def update(
        self, row: int, x: float, z: float, h: float, pose: bytes | None, now: float
    ) -> None:
        entry = self.plain[row]
        self.plain[row] = codec.plain_entry(int(entry["slot"]), x, z, h)
        self.table.moved(self.pids[row], x, z)
        # The cached posed entry starts with the plain one: re-encoded lazily, once, at the
        # next tick (keeping it would send a posed person's old position).
        self.posed[row] = None
        if pose is not None:
            self.records[row] = pose
        self.arrived[row] = now

    def update_many(
        self,
        rows: npt.NDArray[np.intp],
        x: FloatArray,
        z: FloatArray,
        h: FloatArray,
        poses: Sequence[bytes | None],
        arrived: FloatArray,
    ) -> None:
        """:meth:`update` for many distinct rows at once (one tick's batch of uplinks)."""
        plain = self.plain
        plain["x"][rows] = codec.cm_many(x)
        plain["z"][rows] = codec.cm_many(z)
        plain["h"][rows] = codec.heading_many(h)
        self.table.moved_many(rows, x, z)
        posed, records = self.posed, self.records
        for row, pose in zip(rows.tolist(), poses, strict=True):
            posed[row] = None
            if pose is not None:
                records[row] = pose
        self.arrived[rows] = arrived

    def set_pose(self, row: int, pose: bytes | None, now: float) -> None:
        """A new latest pose (None: none any more) without a new position."""
        self.records[row] = pose
        self.posed[row] = None
        self.table.changed(self.pids[row])
        self.arrived[row] = now

    def posed_entries(self) -> list[bytes | None]:
        """:meth:`entity_bytes` of every row (None for most: only the posed have one)."""
        out: list[bytes | None] = [None] * len(self.records)
        for row, record in enumerate(self.records):
            if record is not None:
                out[row] = self.entity_bytes(row)
        return out

    def entity_bytes(self, row: int) -> bytes | None:
        """The posed entry of ``row`` (plain entry + compact pose), or None without a pose."""
        record = self.records[row]
        if record is None:
            return None
        cached = self.posed[row]
        if cached is None:
            cached = self.plain[row].tobytes() + codec.compact_pose(record)
            self.posed[row] = cached
        return cached


class MotionPlane:
    """All rooms' motion state in this process, and the per-tick fan-out."""

    def __init__(
        self,
        config: InterestConfig,
        mover: Mover,
        clock: Callable[[], float] = time.monotonic,
        *,
        mover_many: BatchMover | None = None,
        capacity_of: CapacityOf = lambda _room: None,
        tick_listeners: Sequence[TickListener] = (),
    ) -> None:
        self.config = config
        self.mover = mover
        self.mover_many: BatchMover = mover_many or self._move_one_by_one
        self.clock = clock
        self.rooms: dict[str, RoomMotion] = {}
        self.tokens: dict[str, tuple[str, str]] = {}
        self._token_of: dict[tuple[str, str], str] = {}
        self._tick_number = 0
        self.stats = MotionStats()
        self._last_tick_started = clock()
        self.tick_listeners: list[TickListener] = list(tick_listeners)
        # Cluster mode (server/cluster/motion_relay.py sets them through use_tokens and
        # relay_uplinks_to): tokens any node can check, uplinks relayed to the leader.
        self._token_maker: TokenMaker | None = None
        self._token_resolver: TokenResolver | None = None
        self._relay: UplinkRelay | None = None
        #: Sizes a room first met through another node's token or state (room_for).
        self.capacity_of = capacity_of
        #: room → participant ids held out of its closed session (秘密会): no frames.
        self.withheld: dict[str, frozenset[str]] = {}
        #: This tick's checked moves, kept by their rooms once its frames are written.
        self._uncommitted: list[Moves] = []

    def set_withheld(self, room_id: str, pids: frozenset[str]) -> None:
        """The people of ``room_id`` held out of its closed session (秘密会; empty: none):
        they are sent no frame while it lasts, and the latest state when it reopens."""
        if pids:
            self.withheld[room_id] = frozenset(pids)
        else:
            self.withheld.pop(room_id, None)

    def add_room(self, room_id: str, capacity: int) -> None:
        self.rooms[room_id] = RoomMotion(room_id, capacity, self.config)

    def room_for(self, room_id: str) -> RoomMotion | None:
        """The motion state of ``room_id``, made with the room's capacity on first use;
        None for a room this process does not know. Its rows are sized once, so guessing
        a capacity would overflow a larger room for good: the caller refuses instead (a
        cluster edge meets its rooms' states and tokens before its hub has the rooms)."""
        room = self.rooms.get(room_id)
        if room is None:
            capacity = self.capacity_of(room_id)
            if capacity is None:
                return None
            room = self.rooms[room_id] = RoomMotion(room_id, capacity, self.config)
        return room

    @property
    def tick_number(self) -> int:
        """The number of the last tick (0 before the first)."""
        return self._tick_number

    def use_tokens(self, maker: TokenMaker, resolver: TokenResolver) -> None:
        """Make motion tokens with ``maker`` instead of random ones, and accept a token
        no join of this process made when ``resolver`` names its ``(room, pid)``: a
        cluster node, whose clients may open ``/motion`` with another node's token."""
        self._token_maker = maker
        self._token_resolver = resolver

    def relay_uplinks_to(self, relay: UplinkRelay | None) -> None:
        """Hand every checked uplink to ``relay(room, pid, raw)`` instead of applying it
        here (a cluster node that follows sends it to the leader); None applies them here
        again (the node leads now). The switch takes effect from the next uplink."""
        self._relay = relay

    def add_tick_listener(self, listener: TickListener) -> None:
        """Call ``listener`` at the start of every tick, after those given at construction.
        For a listener that needs the plane to be built first (a cluster node)."""
        self.tick_listeners.append(listener)

    def join(
        self, room_id: str, pid: str, slot: int, x: float, z: float, h: float, on_stage: bool
    ) -> str:
        """Register a participant; returns the token its client opens the plane with."""
        self.rooms[room_id].add(pid, slot, x, z, h, on_stage)
        old = self._token_of.get((room_id, pid))
        if old is not None:
            self.tokens.pop(old, None)
        token = (
            self._token_maker(room_id, pid) if self._token_maker else secrets.token_urlsafe(18)
        )
        self.tokens[token] = (room_id, pid)
        self._token_of[(room_id, pid)] = token
        return token

    def leave(self, room_id: str, pid: str) -> MotionTransport | None:
        token = self._token_of.pop((room_id, pid), None)
        if token is not None:
            self.tokens.pop(token, None)
        room = self.rooms.get(room_id)
        if room is None or pid not in room.table:
            return None
        return room.remove(pid)

    def attach(self, token: str, transport: MotionTransport) -> tuple[str, str] | None:
        """Bind a transport to the participant a token names; None for an unknown token."""
        found = self.tokens.get(token)
        if found is None and self._token_resolver is not None:
            found = self._token_resolver(token)
            if found is not None and not self._placeholder(*found):
                found = None  # a room this process does not know (yet): as a bad token
        if found is None:
            return None
        room_id, pid = found
        room = self.rooms[room_id]
        row = room.table.row(pid)
        room.transports[row] = transport
        room.table.set_receiving(pid, True)
        return found

    def _placeholder(self, room_id: str, pid: str) -> bool:
        """A row for someone whose join another node made (its state arrives next tick);
        False in a room this process does not know."""
        room = self.room_for(room_id)
        if room is None:
            return False
        if pid not in room.table:
            room.add(pid, 0, 0.0, 0.0, 0.0, False)
        return True

    def detach(self, room_id: str, pid: str, transport: MotionTransport) -> None:
        room = self.rooms.get(room_id)
        if room is None or pid not in room.table:
            return
        row = room.table.row(pid)
        if room.transports.get(row) is transport:
            del room.transports[row]
            room.table.set_receiving(pid, False)

    def offer(
        self, room_id: str, pid: str, data: bytes, sink: UplinkSink = NO_SINK
    ) -> None:
        """Keep ``data`` as ``pid``'s latest uplink, applied at the start of the next tick
        (an earlier one still waiting is overwritten and counted). Only its length is
        checked now (``HirobaError`` bad_payload); the rest is checked in the tick's batch,
        which tells ``sink`` when it finds the uplink malformed. ``KeyError``: ``pid`` is
        not in the plane's room (left). A node that relays its uplinks checks and relays
        each at once, as before (:meth:`uplink`)."""
        if self._relay is not None:
            self.uplink(room_id, pid, data)
            return
        room = self.rooms[room_id]
        if pid not in room.table:
            raise KeyError(pid)
        self.stats.uplinks += 1
        if not codec.uplink_length_ok(len(data)):
            self.stats.uplinks_rejected += 1
            raise ValidationError(Reason.BAD_PAYLOAD, "a motion message is 8 or 77 bytes")
        if pid in room.pending:
            self.stats.uplinks_overwritten += 1
        room.pending[pid] = (data, self.clock(), sink)

    def apply_pending(self, *, commit: bool = True) -> None:
        """Apply every room's waiting uplinks to the plane's state (the start of each
        tick; tests call it). ``commit``: the rooms keep the moves at once; a tick passes
        False and calls :meth:`commit_moves` once its frames are written."""
        for room in self.rooms.values():
            if room.pending:
                self._apply_batch(room)
        if commit:
            self.commit_moves()

    def commit_moves(self) -> None:
        """Let the rooms keep the moves applied since the last call (each person's
        position in the room, its grid and deltas: :meth:`rooms.room.CheckedMoves.commit`)."""
        moves, self._uncommitted = self._uncommitted, []
        for batch in moves:
            batch.commit()

    def _apply_batch(self, room: RoomMotion) -> None:
        batch, room.pending = room.pending, {}
        pids = list(batch)
        items = list(batch.values())
        decoded = codec.decode_uplinks([data for data, _, _ in items])
        ok = decoded.ok
        for i in np.flatnonzero(~ok).tolist():
            items[i][2].rejected()
        self.stats.uplinks_rejected += int(ok.size - np.count_nonzero(ok))
        good = np.flatnonzero(ok)
        if good.size == 0:
            return
        if self._relay is not None:  # became a follower since these arrived
            for i in good.tolist():
                self._relay(room.room_id, pids[i], items[i][0])
            return
        good_pids = [pids[i] for i in good.tolist()]
        moves = self.mover_many(
            room.room_id, good_pids, decoded.x[good], decoded.z[good], decoded.h[good])
        # The rooms keep them on commit_moves (a tick's: once its frames are out).
        self._uncommitted.append(moves)
        present, x, z, h = moves.present, moves.x, moves.z, moves.h
        table = room.table
        keep = [
            i for i, (pid, here) in enumerate(zip(good_pids, present.tolist(), strict=True))
            if here and pid in table
        ]
        if not keep:
            return
        rows = np.fromiter((table.row(good_pids[i]) for i in keep), np.intp, len(keep))
        picked = good[keep]
        echo = table.echo[rows].tolist()
        poses = [
            None if echoed else decoded.poses[i]
            for i, echoed in zip(picked.tolist(), echo, strict=True)
        ]
        arrived = np.fromiter((items[i][1] for i in picked.tolist()), np.float64, len(keep))
        room.update_many(rows, x[keep], z[keep], h[keep], poses, arrived)
        self.stats.uplinks_applied += len(keep)

    def _move_one_by_one(
        self, room_id: str, pids: Sequence[str], x: FloatArray, z: FloatArray, h: FloatArray
    ) -> Moves:
        """The batch mover made of :attr:`mover` (a plane built without ``mover_many``)."""
        n = len(pids)
        present = np.ones(n, dtype=bool)
        out = np.zeros((3, n))
        for i, pid in enumerate(pids):
            try:
                out[:, i] = self.mover(room_id, pid, float(x[i]), float(z[i]), float(h[i]))
            except (KeyError, HirobaError):
                present[i] = False
        return KeptMoves(present, out[0], out[1], out[2])

    def uplink(self, room_id: str, pid: str, data: bytes) -> None:
        """Apply one uplink message at once; raises HirobaError (bad_payload) for a
        malformed one. The WebSocket and data channel queue theirs (:meth:`offer`)."""
        self.stats.uplinks += 1
        try:
            up = codec.decode_uplink(data)
        except Exception:
            self.stats.uplinks_rejected += 1
            raise
        if self._relay is not None:
            self._relay(room_id, pid, bytes(data))
            return
        x, z, h = self.mover(room_id, pid, up.x, up.z, up.h)
        room = self.rooms[room_id]
        row = room.table.row(pid)
        # While the server makes this person's poses (server-side tracking), the server's
        # win, as with the socket.io upload (wrong_state there).
        pose = None if room.table.echo[row] else up.pose
        room.update(row, x, z, h, pose, self.clock())

    def set_pose(
        self, room_id: str, pid: str, record: bytes | None, *, echo: bool = False
    ) -> None:
        """Keep ``record`` (a checked 69-byte pose record) as the participant's latest pose,
        for poses that do not come with an uplink: server-side tracking and the socket.io
        ``pose`` upload. ``echo``: the participant's own frames carry it too (its page did
        not make it). None drops the pose (tracking off): the avatar idles again instead of
        freezing on its last face. Unknown rooms and participants (just left) are ignored.
        """
        room = self.rooms.get(room_id)
        if room is None or pid not in room.table:
            return
        room.table.set_echo(pid, echo and record is not None)
        room.set_pose(room.table.row(pid), record, self.clock())

    def place(self, room_id: str, pid: str, x: float, z: float, h: float) -> None:
        """A position the room already accepted by another way (the socket.io ``move``
        fallback, a seat): the plane sends it like an uplink's."""
        room = self.rooms.get(room_id)
        if room is None or pid not in room.table:
            return
        room.update(room.table.row(pid), x, z, h, None, self.clock())

    def token_of(self, room_id: str, pid: str) -> str | None:
        """The motion token of a participant in the plane (None: not in it)."""
        return self._token_of.get((room_id, pid))

    def set_on_stage(self, room_id: str, pid: str, on_stage: bool) -> None:
        self.rooms[room_id].table.set_on_stage(pid, on_stage)

    async def tick(self, lag: float = 0.0, *, number: int | None = None) -> None:
        """Send every client the frame it needs this tick. ``lag``: seconds since the
        tick really began elsewhere (a cluster edge ticking on the leader's state), added
        to the delay each frame carries so that clients time their uplinks to that tick.
        ``number``: that tick's number (the leader's, which the frames then carry);
        None numbers this tick one after the last.

        All of a room's frames are assembled before the first is sent
        (:mod:`server.motion.assembly`), so sending is the only per-client work and every
        frame holds the state as of the tick's start. Sending is one synchronous pass of
        ``write_frame`` calls with no await, so a tick runs start to end without yielding
        to the loop (it stays a coroutine for the ticker and the cluster edge).
        """
        started = self.clock()
        tick = self._tick_number = (self._tick_number + 1) if number is None else number
        stats = self.stats
        # The uplinks that arrived since the last tick, in one batch per room, before
        # anyone reads the state (the recorder, the gallery, the frames).
        self.apply_pending(commit=False)
        try:
            self._send_frames(tick, started, lag)
        finally:
            # The rooms keep this tick's moves (Room.check_moves): after the frames, which
            # need only the plane's arrays, and before anything else can run.
            self.commit_moves()
        self._last_tick_started = started
        stats.ticks += 1
        took = self.clock() - started
        stats.tick_seconds.append(took)
        stats.tick_seconds_sum += took
        stats.tick_histogram.observe(took)

    def _send_frames(self, tick: int, started: float, lag: float) -> None:
        for listener in self.tick_listeners:
            listener(self)
        for room in self.rooms.values():
            if not room.transports:
                continue
            paused = None
            held = self.withheld.get(room.room_id)
            if held:  # marked with nothing, caught up later (as a busy receiver is)
                paused = np.array(
                    [r for r, pid in room.pids.items() if pid in held], dtype=np.intp)
            table = room.table
            # The neighbourhoods this tick uses were recomputed at the end of the last one
            # (below), from positions one tick older: a few centimetres, and the frames
            # leave ~0.5 ms sooner at 500 people.
            receivers, entities = table.select_pairs(tick, paused=paused, recompute=False)
            if receivers.size > 0:
                frames = assemble(tick, room.plain, room.posed_entries(), receivers, entities)
                sent_at = self._fan_out(room, frames, started, lag)
                self._record_latency(room, frames, sent_at, receivers, entities, started)
            table.recompute_neighbourhoods((tick + 1) % table.config.neighbour_period)

    def _fan_out(
        self, room: RoomMotion, frames: TickFrames, started: float, lag: float
    ) -> npt.NDArray[np.float64]:
        """Write every assembled frame to its client, in one synchronous pass (no await:
        nothing else runs on the loop meanwhile, so no client detaches mid-pass and no
        uplink is applied between two frames of one tick). Returns when each was written
        (NaN: not written)."""
        sent_at = np.full(len(frames), np.nan)
        transports = room.transports
        clock = self.clock
        bodies = frames.bodies
        leads = FRAME_LEADS
        busy: list[int] = []
        sent = nbytes = 0
        # (TickFrames.frame, inlined: at 500 frames a tick each call counts)
        for i, receiver in enumerate(frames.receivers.tolist()):
            transport = transports.get(receiver)
            if transport is None:
                continue
            # The delay byte is this frame's own: the clients read the tick's phase from
            # it, so it must say when this frame left, not when the pass began.
            delay = round((clock() - started + lag) * 1000)
            data = leads[delay if 0 <= delay < 256 else (0 if delay < 0 else 255)] + bodies[i]
            written = transport.write_frame(data)
            if written is not Written.SENT:
                # Busy: skipped, and unmarked below. Closing: nothing to say to it any more
                # (not a slow client, not counted), detached when its handler ends.
                if written is Written.BUSY:
                    busy.append(receiver)
                continue
            sent_at[i] = clock()
            sent += 1
            nbytes += len(data)
        if busy:
            # Still busy with earlier frames: skipped, and unmarked, so that it gets the
            # latest state of everything once it catches up.
            room.table.unmark(np.array(busy, dtype=np.intp))
            self.stats.frames_skipped_busy += len(busy)
        self.stats.frames_sent += sent
        self.stats.bytes_sent += nbytes
        return sent_at

    def _record_latency(
        self,
        room: RoomMotion,
        frames: TickFrames,
        sent_at: npt.NDArray[np.float64],
        receivers: npt.NDArray[np.intp],
        entities: npt.NDArray[np.intp],
        started: float,
    ) -> None:
        sent = sent_at[~np.isnan(sent_at)]
        self.stats.tick_to_send.extend((sent - started).tolist())
        # Uplinks that arrived since the previous tick began are new in this tick's
        # frames: their wait is the server-added latency. A bounded, evenly spread sample
        # per tick keeps the bookkeeping cheap at tens of thousands of pairs.
        pair_sent = sent_at[np.searchsorted(frames.receivers, receivers)]
        arrived = room.arrived[entities]
        fresh = (arrived > self._last_tick_started) & ~np.isnan(pair_sent)
        waits = (pair_sent - arrived)[fresh]
        if waits.size > LATENCY_SAMPLES_PER_TICK:
            waits = waits[:: waits.size // LATENCY_SAMPLES_PER_TICK + 1]
        self.stats.arrival_to_send.extend(waits.tolist())

    def counts(self) -> MotionPlaneCounts:
        """The plane's per-person state now, for ``/api/debug/leaks``."""
        rooms = self.rooms.values()
        return MotionPlaneCounts(
            rows=sum(len(room.table) for room in rooms),
            pids=sum(len(room.pids) for room in rooms),
            transports=sum(len(room.transports) for room in rooms),
            tokens=len(self.tokens),
            token_index=len(self._token_of),
            latency_samples=len(self.stats.arrival_to_send) + len(self.stats.tick_to_send),
        )


@dataclass(frozen=True, slots=True)
class MotionPlaneCounts:
    """The motion plane's sizes at one moment (:meth:`MotionPlane.counts`); each but the
    last falls back to its baseline once everyone has left."""

    #: Interest-table rows in use, every room added up (one per person in the plane).
    rows: int
    #: Row → participant id entries, every room added up.
    pids: int
    #: Attached connections (WebSocket or data channel), every room added up.
    transports: int
    #: Motion tokens handed out (token → room and participant).
    tokens: int
    #: The reverse index of the tokens ((room, participant) → token).
    token_index: int
    #: Latency samples of the statistics: bounded windows (deque maxlen), full after a
    #: while, so a plateau, not a leak.
    latency_samples: int
