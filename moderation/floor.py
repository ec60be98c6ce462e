"""The speaker queue and the floor: who waits to speak, who speaks, and for how long.

One person holds the floor of a room at a time (a council chamber has one speaker; the
chair and staff are audible without holding it, see :meth:`Floor.speakers`). States:

``open``      nobody holds the floor; the chair may give it.
``speaking``  someone holds it, within their time limit (or without one).
``overtime``  the limit has passed; a grace period runs, then the speaker is auto-muted
              and the floor is ``open`` again.

Time-driven transitions happen only in :meth:`Floor.tick`, which the server calls a few
times a second; operations never advance the clock themselves, so an operation that is
refused leaves no half-applied transition behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from moderation.events import DomainEvent
from rooms.errors import ProcedureError, Reason

DEFAULT_GRACE_SECONDS = 10.0


class FloorState(StrEnum):
    OPEN = "open"
    SPEAKING = "speaking"
    OVERTIME = "overtime"


class EndCause(StrEnum):
    """Why a turn ended."""

    REVOKED = "revoked"
    YIELDED = "yielded"
    NEXT = "next"
    TIMED_OUT = "timed_out"
    LEFT = "left"
    SANCTIONED = "sanctioned"
    #: The committee closed its session (秘密会) and the speaker is held out of it.
    CLOSED_SESSION = "closed_session"


class LowerCause(StrEnum):
    """Why a hand went down."""

    LOWERED = "lowered"
    GIVEN_FLOOR = "given_floor"
    LEFT = "left"
    SANCTIONED = "sanctioned"
    #: The committee closed its session (秘密会) and the one waiting is held out of it.
    CLOSED_SESSION = "closed_session"


@dataclass(frozen=True, slots=True)
class HandRaised(DomainEvent):
    topic = "hand.raised"
    pid: str
    position: int


@dataclass(frozen=True, slots=True)
class HandLowered(DomainEvent):
    topic = "hand.lowered"
    pid: str
    cause: LowerCause
    by: str | None


@dataclass(frozen=True, slots=True)
class FloorGiven(DomainEvent):
    topic = "floor.given"
    pid: str
    limit: float | None
    deadline: float | None
    by: str | None


@dataclass(frozen=True, slots=True)
class FloorExtended(DomainEvent):
    topic = "floor.extended"
    pid: str
    seconds: float
    deadline: float
    by: str | None


@dataclass(frozen=True, slots=True)
class FloorExpired(DomainEvent):
    """The time limit passed (``at`` is the deadline); the grace period runs."""

    topic = "floor.expired"
    pid: str
    grace_ends_at: float


@dataclass(frozen=True, slots=True)
class FloorEnded(DomainEvent):
    topic = "floor.ended"
    pid: str
    cause: EndCause
    #: Seconds this turn lasted, and the person's total speaking time in this room.
    spoken: float
    total: float
    by: str | None


@dataclass(frozen=True, slots=True)
class AutoMuted(DomainEvent):
    """The grace period ended: the audio plane stops forwarding ``pid``'s microphone and
    the page shows them muted. Not a sanction: they may raise a hand again."""

    topic = "floor.auto_muted"
    pid: str


@dataclass(frozen=True, slots=True)
class Turn:
    holder: str
    started_at: float
    deadline: float | None
    by: str | None


@dataclass(frozen=True, slots=True)
class FloorView:
    """What everyone sees: the state, the speaker and their countdown, the queue."""

    state: FloorState
    holder: str | None
    deadline: float | None
    remaining: float | None
    grace_ends_at: float | None
    queue: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FloorRecord:
    """The floor as stored: restore with :meth:`Floor.from_record`."""

    room: str
    state: str
    holder: str | None
    started_at: float
    deadline: float | None
    given_by: str | None
    queue: tuple[tuple[str, float], ...]
    spoken: tuple[tuple[str, float], ...]


@dataclass
class Floor:
    """The speaker queue and floor of one room."""

    room: str
    grace: float = DEFAULT_GRACE_SECONDS
    state: FloorState = FloorState.OPEN
    turn: Turn | None = None
    #: Waiting people, in the order they raised their hands, with the time they did.
    _queue: dict[str, float] = field(default_factory=dict)
    _spoken: dict[str, float] = field(default_factory=dict)

    # -- queries ----------------------------------------------------------------------

    @property
    def holder(self) -> str | None:
        return None if self.turn is None else self.turn.holder

    @property
    def queue(self) -> tuple[str, ...]:
        return tuple(self._queue)

    def waiting(self) -> tuple[tuple[str, float], ...]:
        """The queue with the time each person raised their hand, head first."""
        return tuple(self._queue.items())

    def position(self, pid: str) -> int | None:
        """1 for the head of the queue, ``None`` for someone not waiting."""
        for i, waiting in enumerate(self._queue, start=1):
            if waiting == pid:
                return i
        return None

    def spoken(self, pid: str) -> float:
        """Seconds ``pid`` has held the floor in finished turns."""
        return self._spoken.get(pid, 0.0)

    def speaking_times(self) -> dict[str, float]:
        return dict(self._spoken)

    def remaining(self, now: float) -> float | None:
        """Seconds left before the limit; 0 in overtime; ``None`` without a limit."""
        if self.turn is None or self.turn.deadline is None:
            return None
        return max(0.0, self.turn.deadline - now)

    def view(self, now: float) -> FloorView:
        deadline = None if self.turn is None else self.turn.deadline
        return FloorView(
            state=self.state,
            holder=self.holder,
            deadline=deadline,
            remaining=self.remaining(now),
            grace_ends_at=None if deadline is None else deadline + self.grace,
            queue=self.queue,
        )

    def _error(self, message: str) -> ProcedureError:
        holder = f" (held by {self.holder})" if self.holder else ""
        return ProcedureError(Reason.WRONG_STATE, f"{message}: the floor is {self.state}{holder}")

    # -- the queue --------------------------------------------------------------------

    def raise_hand(self, pid: str, now: float) -> list[DomainEvent]:
        if pid == self.holder:
            raise self._error("the speaker cannot raise a hand")
        if pid in self._queue:
            raise ProcedureError(Reason.DUPLICATE, "your hand is already raised")
        self._queue[pid] = now
        return [HandRaised(self.room, now, pid=pid, position=len(self._queue))]

    def lower_hand(
        self, pid: str, now: float, *, by: str | None = None,
        cause: LowerCause = LowerCause.LOWERED,
    ) -> list[DomainEvent]:
        if self._queue.pop(pid, None) is None:
            raise ProcedureError(Reason.WRONG_STATE, f"{pid} is not waiting for the floor")
        return [HandLowered(self.room, now, pid=pid, cause=cause, by=by)]

    # -- turns ------------------------------------------------------------------------

    def give(
        self, pid: str, now: float, limit: float | None, *, by: str | None = None
    ) -> list[DomainEvent]:
        """Give the floor to ``pid`` (waiting or not) for ``limit`` seconds (None: no limit)."""
        if self.state is not FloorState.OPEN:
            raise self._error("revoke the floor or call the next speaker first")
        events: list[DomainEvent] = []
        if pid in self._queue:
            events += self.lower_hand(pid, now, by=by, cause=LowerCause.GIVEN_FLOOR)
        deadline = None if limit is None else now + limit
        self.turn = Turn(holder=pid, started_at=now, deadline=deadline, by=by)
        self.state = FloorState.SPEAKING
        events.append(FloorGiven(self.room, now, pid=pid, limit=limit, deadline=deadline, by=by))
        return events

    def next(self, now: float, limit: float | None, *, by: str | None = None) -> list[DomainEvent]:
        """End the current turn (if any) and give the floor to the head of the queue."""
        if not self._queue:
            raise self._error("nobody is waiting")
        events: list[DomainEvent] = []
        if self.turn is not None:
            events += self._end(now, EndCause.NEXT, by)
        return events + self.give(next(iter(self._queue)), now, limit, by=by)

    def revoke(
        self, now: float, *, by: str | None = None, cause: EndCause = EndCause.REVOKED
    ) -> list[DomainEvent]:
        if self.turn is None:
            raise self._error("nobody holds the floor")
        return self._end(now, cause, by)

    def extend(self, seconds: float, now: float, *, by: str | None = None) -> list[DomainEvent]:
        """Add ``seconds`` to the limit; in overtime, ``seconds`` from now."""
        if self.turn is None:
            raise self._error("nobody holds the floor")
        if self.turn.deadline is None:
            raise self._error("this turn has no time limit")
        deadline = max(self.turn.deadline, now) + seconds
        self.turn = Turn(self.turn.holder, self.turn.started_at, deadline, self.turn.by)
        self.state = FloorState.SPEAKING
        return [FloorExtended(self.room, now, pid=self.turn.holder, seconds=seconds,
                              deadline=deadline, by=by)]

    def leave(self, pid: str, now: float, *, sanctioned: bool = False) -> list[DomainEvent]:
        """``pid`` left the room or was sanctioned: take them out of queue and floor."""
        end = EndCause.SANCTIONED if sanctioned else EndCause.LEFT
        lower = LowerCause.SANCTIONED if sanctioned else LowerCause.LEFT
        events: list[DomainEvent] = []
        if pid in self._queue:
            events += self.lower_hand(pid, now, cause=lower)
        if pid == self.holder:
            events += self._end(now, end, None)
        return events

    def _end(self, now: float, cause: EndCause, by: str | None) -> list[DomainEvent]:
        turn = self.turn
        assert turn is not None
        end = now
        if turn.deadline is not None:
            # A turn never counts beyond its grace period, even if no tick ran in time.
            end = min(end, turn.deadline + self.grace)
        spoken = max(0.0, end - turn.started_at)
        total = self._spoken.get(turn.holder, 0.0) + spoken
        self._spoken[turn.holder] = total
        self.turn = None
        self.state = FloorState.OPEN
        return [FloorEnded(self.room, end, pid=turn.holder, cause=cause, spoken=spoken,
                           total=total, by=by)]

    def tick(self, now: float) -> list[DomainEvent]:
        """Apply the time-driven transitions due at ``now``: expiry, then auto-mute."""
        events: list[DomainEvent] = []
        turn = self.turn
        if turn is None or turn.deadline is None:
            return events
        if self.state is FloorState.SPEAKING and now >= turn.deadline:
            self.state = FloorState.OVERTIME
            events.append(FloorExpired(self.room, turn.deadline, pid=turn.holder,
                                       grace_ends_at=turn.deadline + self.grace))
        if self.state is FloorState.OVERTIME and now >= turn.deadline + self.grace:
            events += self._end(now, EndCause.TIMED_OUT, None)
            events.append(AutoMuted(self.room, turn.deadline + self.grace, pid=turn.holder))
        return events

    # -- persistence ------------------------------------------------------------------

    def to_record(self) -> FloorRecord:
        turn = self.turn
        return FloorRecord(
            room=self.room,
            state=self.state.value,
            holder=None if turn is None else turn.holder,
            started_at=0.0 if turn is None else turn.started_at,
            deadline=None if turn is None else turn.deadline,
            given_by=None if turn is None else turn.by,
            queue=tuple(self._queue.items()),
            spoken=tuple(sorted(self._spoken.items())),
        )

    @classmethod
    def from_record(cls, record: FloorRecord, grace: float = DEFAULT_GRACE_SECONDS) -> Floor:
        turn = None
        if record.holder is not None:
            turn = Turn(record.holder, record.started_at, record.deadline, record.given_by)
        return cls(
            room=record.room,
            grace=grace,
            state=FloorState(record.state),
            turn=turn,
            _queue=dict(record.queue),
            _spoken=dict(record.spoken),
        )
