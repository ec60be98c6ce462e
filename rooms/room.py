"""A room: who is in it, where they stand, and what changed since the last tick."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from operator import attrgetter

import numpy as np

from rooms.appearance import AvatarStyle
from rooms.errors import Reason, RoomError, ValidationError
from rooms.geometry import (
    BoolArray,
    FloatArray,
    clamp_many,
    normalise_heading,
    normalise_headings,
    push_out_many,
)
from rooms.grid import SpatialGrid
from rooms.model import Layout, Notice, Participant, Role, RoomKind, TrackingMode, TrackingReason
from rooms.snapshot import Delta, Snapshot

#: Radius of an avatar's footprint: keeps people off walls and stage edges.
AVATAR_RADIUS = 0.3
#: Metres a move may exceed ``max_speed * dt`` by, to absorb network jitter.
MOVE_SLACK = 0.5
#: Longest gap (seconds) credited when judging a move's speed: a client that paused for a
#: minute may not teleport across the plaza in one step.
MAX_MOVE_GAP = 1.0
#: Participant slots (motion frames name people by slot) run 0..SLOT_LIMIT-1, a u16.
SLOT_LIMIT = 1 << 16
#: Every field of a participant in constructor order, for the copies a snapshot holds: a
#: field added later is copied too, and it costs a fifth of ``dataclasses.replace``.
_participant_fields = attrgetter(*(f.name for f in fields(Participant)))
#: Roles whose places come out of a room's reserve: those a meeting cannot go on without,
#: which only staff can grant (an invitation) or hold (a staff login).
RESERVED_ROLES = frozenset({Role.CHAIR, Role.MEMBER, Role.STAFF, Role.CAPTIONER})


@dataclass(frozen=True, slots=True)
class PlaceLimits:
    """How a room's capacity is shared out, so that a crowd cannot lock a meeting's own
    people out of it (docs/security.md, "Reserved places").

    ``reserved`` places are kept for the reserved roles (at most half the capacity): the
    public, citizens and observers, may hold at most the rest. The public gallery may take
    at most ``gallery_share`` of the public places, and one client address (an IPv6
    network) at most ``gallery_per_address`` gallery places of a room (0: no cap).
    """

    reserved: int = 0
    gallery_share: float = 1.0
    gallery_per_address: int = 0

    def public_places(self, capacity: int) -> int:
        """Places of a room of ``capacity`` the public may hold together."""
        return capacity - min(self.reserved, capacity // 2)

    def gallery_places(self, capacity: int) -> int:
        """Places of a room of ``capacity`` its public gallery may hold."""
        return max(1, int(self.public_places(capacity) * self.gallery_share))


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """The stored description of a room, as the store loads it."""

    id: str
    kind: RoomKind
    name_ja: str
    name_en: str
    capacity: int


@dataclass
class Room:
    """Participants of one room and their positions. The caller passes the time in."""

    info: RoomInfo
    layout: Layout
    max_speed: float = 4.0
    notices: list[Notice] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    tick: int = 0
    participants: dict[str, Participant] = field(default_factory=dict, init=False)
    grid: SpatialGrid = field(default_factory=SpatialGrid, init=False)
    _joined: dict[str, None] = field(default_factory=dict, init=False)
    _left: dict[str, None] = field(default_factory=dict, init=False)
    _moved: dict[str, None] = field(default_factory=dict, init=False)
    _tracking: dict[str, None] = field(default_factory=dict, init=False)
    _next_slot: int = field(default=0, init=False)
    #: Participants whose role is not in RESERVED_ROLES (kept by join and leave, so that a
    #: join's place check does not walk the whole room).
    _public: int = field(default=0, init=False)

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def kind(self) -> RoomKind:
        return self.info.kind

    def seat_occupants(self) -> dict[str, str]:
        """Seat id → participant id, for occupied seats."""
        return {p.seat: p.id for p in self.participants.values() if p.seat is not None}

    def check_entry(
        self, limits: PlaceLimits, *, invited: bool, gallery: bool = False,
        gallery_taken: int = 0, address_taken: int = 0, replacing: str | None = None,
    ) -> None:
        """Raise ``room_full`` (or ``address_limit``) if someone may not enter now.

        ``invited``: the person holds an invitation or a staff login: only the room's
        whole capacity stops them, which the public cannot fill (``limits.reserved``).
        ``gallery``: they enter the public gallery, of which ``gallery_taken`` places are
        held, ``address_taken`` of them from their own address. ``replacing``: their own
        avatar already in this room (a socket joining again), whose place is theirs.
        """
        mine = self.participants.get(replacing or "")
        if len(self.participants) - (mine is not None) >= self.info.capacity:
            raise RoomError(Reason.ROOM_FULL, f"room {self.id} is full")
        if invited:
            return
        public = self._public - (mine is not None and mine.role not in RESERVED_ROLES)
        if public >= limits.public_places(self.info.capacity):
            raise RoomError(Reason.ROOM_FULL, f"room {self.id} is full")
        if not gallery:
            return
        if gallery_taken >= limits.gallery_places(self.info.capacity):
            raise RoomError(Reason.ROOM_FULL, f"the public gallery of {self.id} is full")
        if limits.gallery_per_address and address_taken >= limits.gallery_per_address:
            raise RoomError(Reason.ADDRESS_LIMIT,
                            f"your network holds {address_taken} gallery places of {self.id}")

    def _free_seat(self) -> tuple[str, float, float, float] | None:
        taken = self.seat_occupants()
        free = [s for s in self.layout.seats if s.id not in taken]
        if not free:
            return None
        # The chair's seat is kept for the chair while other seats remain.
        free.sort(key=lambda s: s.chair)
        seat = free[0]
        return seat.id, seat.x, seat.z, seat.h

    def _chair_seat(self) -> tuple[str, float, float, float] | None:
        taken = self.seat_occupants()
        for s in self.layout.seats:
            if s.chair and s.id not in taken:
                return s.id, s.x, s.z, s.h
        return self._free_seat()

    def _new_slot(self) -> int:
        """The next unused slot. Slots count up and wrap, so a slot freed by someone who
        left is not handed out again soon: a motion frame sent just before a receiver heard
        of the leave still names the person who left, never a newcomer."""
        used = {p.slot for p in self.participants.values()}
        for _ in range(SLOT_LIMIT):
            slot = self._next_slot
            self._next_slot = (self._next_slot + 1) % SLOT_LIMIT
            if slot not in used:
                return slot
        raise RoomError(Reason.ROOM_FULL, f"room {self.id} is full")

    def _spawn_point(self) -> tuple[float, float]:
        angle = self.rng.uniform(0, math.tau)
        r = self.layout.spawn_radius * math.sqrt(self.rng.random())
        x = self.layout.spawn_x + r * math.cos(angle)
        z = self.layout.spawn_z + r * math.sin(angle)
        return self.layout.bounds.clamp(x, z, AVATAR_RADIUS)

    def join(
        self,
        pid: str,
        name: str,
        role: Role,
        style: AvatarStyle,
        now: float,
        *,
        seated: bool = False,
    ) -> Participant:
        """Add a participant. With ``seated`` they take a free stage seat (the chair's seat
        for a chair) when one is left; otherwise they appear near the spawn point.

        Whether a role is seated is the permission policy's decision (``moderation``).
        """
        if pid in self.participants:
            raise RoomError(Reason.BAD_FIELD, f"{pid} is already in {self.id}")
        if len(self.participants) >= self.info.capacity:
            raise RoomError(Reason.ROOM_FULL, f"room {self.id} is full")
        seat = None
        if seated:
            seat = self._chair_seat() if role is Role.CHAIR else self._free_seat()
        if seat is not None:
            seat_id, x, z, h = seat
        else:
            seat_id = None
            x, z = self._spawn_point()
            h = 0.0
        p = Participant(
            id=pid, name=name, role=role, style=style, x=x, z=z, h=h,
            seat=seat_id, last_move_at=now, joined_at=now, slot=self._new_slot(),
        )
        self.participants[pid] = p
        self._public += role not in RESERVED_ROLES
        self.grid.set(pid, x, z)
        self._joined[pid] = None
        self._left.pop(pid, None)
        return p

    def leave(self, pid: str) -> Participant:
        """Remove a participant; their seat becomes free."""
        p = self.participants.pop(pid, None)
        if p is None:
            raise RoomError(Reason.NOT_JOINED, f"{pid} is not in {self.id}")
        self._public -= p.role not in RESERVED_ROLES
        self.grid.remove(pid)
        self._moved.pop(pid, None)
        self._tracking.pop(pid, None)
        # Announce the leave even when the join was never broadcast: someone who joined in
        # between received a snapshot that holds this participant.
        self._joined.pop(pid, None)
        self._left[pid] = None
        return p

    def move(
        self,
        pid: str,
        x: float,
        z: float,
        h: float,
        now: float,
        *,
        may_enter_stage: bool = False,
    ) -> Participant:
        """Apply a requested move and return the participant at the accepted position.

        The request is limited to what the participant could walk since their last
        accepted move, clamped to the bounds, and kept off the stage unless
        ``may_enter_stage`` (the permission policy's decision).
        """
        p = self.participants.get(pid)
        if p is None:
            raise RoomError(Reason.NOT_JOINED, f"{pid} is not in {self.id}")
        if not all(math.isfinite(v) for v in (x, z, h)):
            raise ValidationError(Reason.BAD_FIELD, "x, z and h must be finite numbers")
        if p.seat is not None:
            return p
        dt = min(max(now - p.last_move_at, 0.0), MAX_MOVE_GAP)
        allowed = self.max_speed * dt + MOVE_SLACK
        dx, dz = x - p.x, z - p.z
        dist = math.hypot(dx, dz)
        if dist > allowed:
            scale = allowed / dist
            x, z = p.x + dx * scale, p.z + dz * scale
        x, z = self.layout.bounds.clamp(x, z, AVATAR_RADIUS)
        stage = self.layout.stage
        if stage is not None and not may_enter_stage:
            px, pz = stage.push_out(x, z, AVATAR_RADIUS)
            px, pz = self.layout.bounds.clamp(px, pz, AVATAR_RADIUS)
            if (px, pz) != (x, z) and math.hypot(px - p.x, pz - p.z) > allowed:
                # Pushed sideways further than one step allows: stay where we were,
                # which is always a valid place. Only when pushed: a full step is
                # within the limit by construction, and a rounding hair above it must
                # not freeze someone walking at full speed.
                px, pz = p.x, p.z
            x, z = px, pz
        h = normalise_heading(h)
        p.last_move_at = now
        if (x, z, h) != (p.x, p.z, p.h):
            p.x, p.z, p.h = x, z, h
            self.grid.set(pid, x, z)
            if pid not in self._joined:
                self._moved[pid] = None
        return p

    def move_many(
        self,
        pids: Sequence[str],
        x: FloatArray,
        z: FloatArray,
        h: FloatArray,
        now: float,
        may_enter_stage: Callable[[Role], bool],
    ) -> tuple[BoolArray, FloatArray, FloatArray, FloatArray]:
        """:meth:`move` for many participants at once (each pid at most once): the moves
        checked (:meth:`check_moves`) and kept at once. Returns ``(present, x, z, h)``."""
        moves = self.check_moves(pids, x, z, h, now, may_enter_stage)
        moves.commit()
        return moves.present, moves.x, moves.z, moves.h

    def check_moves(
        self,
        pids: Sequence[str],
        x: FloatArray,
        z: FloatArray,
        h: FloatArray,
        now: float,
        may_enter_stage: Callable[[Role], bool],
    ) -> CheckedMoves:
        """The rules of :meth:`move` for many participants at once (each pid at most
        once), computed as array operations: the speed limit since each one's last
        accepted move, the bounds, the stage for those whose role may not enter it
        (``may_enter_stage``, the permission policy's decision), seated people unmoved.

        The result says which pids are in the room (the others, who left meanwhile, are
        ignored) and everyone's accepted position (the old one where not present).
        Non-finite requests are refused as in :meth:`move`: the person stays. The room
        keeps the positions only on :meth:`CheckedMoves.commit`, which must come before
        anything else reads or moves these people: the motion plane commits after the
        tick's frames are written, in the same synchronous pass (the frames need only
        the arrays, and the per-person writes are a millisecond at 500 people).
        """
        n = len(pids)
        people = [self.participants.get(pid) for pid in pids]
        stage_ok = {role: may_enter_stage(role) for role in Role}
        # One pass over the people into one array (a fromiter per field costs ~4x);
        # the flags become 1.0 and 0.0.
        state = np.array(
            [(True, p.x, p.z, p.h, p.last_move_at, p.seat is None, stage_ok[p.role])
             if p is not None else (False, 0.0, 0.0, 0.0, now, False, False)
             for p in people],
            dtype=np.float64,
        ).reshape(n, 7)
        here, old_x, old_z, old_h, last, standing, stage_free = state.T
        present = here != 0.0
        free = stage_free != 0.0
        finite = np.isfinite(x) & np.isfinite(z) & np.isfinite(h)
        moving = present & (standing != 0.0) & finite
        x = np.where(moving, x, old_x)
        z = np.where(moving, z, old_z)
        h = np.where(moving, h, old_h)
        dt = np.minimum(np.maximum(now - last, 0.0), MAX_MOVE_GAP)
        allowed = self.max_speed * dt + MOVE_SLACK
        dx, dz = x - old_x, z - old_z
        dist = np.hypot(dx, dz)
        far = dist > allowed
        scale = np.divide(allowed, dist, out=np.ones(n), where=far)
        x = np.where(far, old_x + dx * scale, x)
        z = np.where(far, old_z + dz * scale, z)
        bounds = self.layout.bounds
        x, z = clamp_many(bounds, x, z, AVATAR_RADIUS)
        stage = self.layout.stage
        if stage is not None:
            kept = free | ~moving
            px, pz = push_out_many(stage, x, z, AVATAR_RADIUS)
            px, pz = clamp_many(bounds, px, pz, AVATAR_RADIUS)
            # Pushed sideways further than one step allows: stay where we were. Only
            # those pushed: the others are within a step by construction (the speed
            # limit above), and np.hypot may round a full step a hair above it.
            pushed = (px != x) | (pz != z)
            stay = pushed & (np.hypot(px - old_x, pz - old_z) > allowed)
            px = np.where(stay, old_x, px)
            pz = np.where(stay, old_z, pz)
            x = np.where(kept, x, px)
            z = np.where(kept, z, pz)
        h = np.where(moving, normalise_headings(h), old_h)
        x = np.where(moving, x, old_x)
        z = np.where(moving, z, old_z)
        changed = moving & ((x != old_x) | (z != old_z) | (h != old_h))
        return CheckedMoves(present, x, z, h, self, people, moving, changed, now)

    def _keep_moves(self, moves: CheckedMoves) -> None:
        people, now = moves.people, moves.now
        for i in np.flatnonzero(moves.moving & ~moves.changed).tolist():
            people[i].last_move_at = now  # type: ignore[union-attr]
        changed = np.flatnonzero(moves.changed)
        grid, joined, moved = self.grid, self._joined, self._moved
        for i, x, z, h in zip(changed.tolist(), moves.x[changed].tolist(),
                              moves.z[changed].tolist(), moves.h[changed].tolist(),
                              strict=True):
            p = people[i]
            assert p is not None
            p.last_move_at = now
            p.x, p.z, p.h = x, z, h
            grid.set(p.id, x, z)
            if p.id not in joined:
                moved[p.id] = None

    def set_tracking(
        self, pid: str, mode: TrackingMode, reason: TrackingReason | None = None
    ) -> Participant:
        """Record how a participant's face is driven, and why not better (``reason``);
        announced in the next delta."""
        p = self.participants.get(pid)
        if p is None:
            raise RoomError(Reason.NOT_JOINED, f"{pid} is not in {self.id}")
        if p.tracking is not mode or p.tracking_reason is not reason:
            p.tracking = mode
            p.tracking_reason = reason
            if pid not in self._joined:
                self._tracking[pid] = None
        return p

    def snapshot(self, now_ms: int, tick_hz: float) -> Snapshot:
        """What a newly joined client needs to draw the room, as it is now: the snapshot
        holds copies, so later moves and leaves do not reach it."""
        return Snapshot(
            room_id=self.id,
            kind=self.kind,
            name_ja=self.info.name_ja,
            name_en=self.info.name_en,
            capacity=self.info.capacity,
            max_speed=self.max_speed,
            layout=self.layout,
            notices=tuple(self.notices),
            participants=tuple(Participant(*_participant_fields(p))
                               for p in self.participants.values()),
            tick=self.tick,
            t=now_ms,
            tick_hz=tick_hz,
        )

    def take_delta(self, now_ms: int, *, include_moved: bool = True) -> Delta | None:
        """Advance the tick and return what changed since the last one, or None.

        Without ``include_moved`` positions are left out: clients then get them from the
        motion plane, and the control plane carries only joins, leaves and modes.
        """
        self.tick += 1
        if not include_moved:
            self._moved.clear()
        if not (self._joined or self._left or self._moved or self._tracking):
            return None
        delta = Delta(
            room=self.id,
            tick=self.tick,
            t=now_ms,
            joined=tuple(self.participants[pid] for pid in self._joined),
            left=tuple(self._left),
            moved=tuple(self.participants[pid] for pid in self._moved),
            tracking=tuple(self.participants[pid] for pid in self._tracking),
        )
        self._joined.clear()
        self._tracking.clear()
        self._left.clear()
        self._moved.clear()
        return delta


@dataclass(eq=False, slots=True)
class CheckedMoves:
    """Many moves checked by :meth:`Room.check_moves` and not yet kept: ``present`` (the
    pid is still in the room) and the accepted ``x``, ``z``, ``h`` of each, in the order
    asked. :meth:`commit` writes them into the room (once)."""

    present: BoolArray
    x: FloatArray
    z: FloatArray
    h: FloatArray
    room: Room
    people: list[Participant | None]
    moving: BoolArray
    changed: BoolArray
    now: float
    committed: bool = False

    def commit(self) -> None:
        """Keep the moves: each person's position, last move time and grid cell, and the
        next delta's list of movers. Later calls do nothing."""
        if not self.committed:
            self.committed = True
            self.room._keep_moves(self)
