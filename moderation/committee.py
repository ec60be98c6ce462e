"""The formal procedure of a committee meeting (委員会): roll call and attendance, identity
verification marks, quorum, recusal, motions with amendments, votes by name, the chair's
casting decision, closed sessions and gallery counts.

:class:`Committee` is the state of one committee room; the meeting
(:mod:`moderation.committee_ops`) checks permissions and maps participants to members, then
calls it. Members are named by a stable id (``m:`` + the normalised name of their
invitation), never by a payload. Every change returns :class:`CommitteeChanged` (and
:class:`QuorumChanged` when the quorum is met or lost); the whole state round-trips through
:class:`CommitteeRecord` (:meth:`Committee.to_record` / :meth:`Committee.from_record`) so
the server persists it at every change. Who is connected is not persisted: after a restart
every member counts as gone since the load, and the absence grace runs from there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from moderation.events import DomainEvent
from moderation.limits import REASON_MAX, TITLE_MAX, clean_text
from moderation.quorum import QuorumCount, QuorumRule
from moderation.votes import CHOICES, Method, Outcome, tally
from rooms.errors import PermissionDenied, ProcedureError, Reason, ValidationError

#: Most motions (and most votes) one committee room keeps; the state lists the recent ones.
MAX_MOTIONS = 500
MAX_VOTES = 1000
#: Most camera requests (``identity:ask``) one committee keeps (the most recent).
MAX_CAMERA_REQUESTS = 1000
#: Most motions and votes ``committee:state`` carries (the most recent).
STATE_RECENT = 50
#: Most distinct gallery visitors remembered (for the total); beyond, counted only.
MAX_GALLERY_KEYS = 100_000
#: Seconds between two :class:`GalleryCounted` (the gallery's numbers told to the room and
#: the recording): a gallery of thousands comes and goes many times a second, and each
#: telling costs a whole ``committee:state`` to every socket of the room.
GALLERY_EVERY = 5.0


class Status(StrEnum):
    """Attendance of a member (出席状況)."""

    UNKNOWN = "unknown"            # before the roll call
    PRESENT = "present"            # 出席
    LATE = "late"                  # 遅参
    LEFT = "left"                  # 早退
    DISCONNECTED = "disconnected"  # 接続断による不在
    ABSENT = "absent"              # 欠席


#: Statuses that count as attending (for the quorum, with a verification).
ATTENDING = frozenset({Status.PRESENT, Status.LATE})


class ChangeReason(StrEnum):
    """Why the procedure itself changed a member's attendance: a code, which the minutes
    put in words in their language (a correction's reason is the words its author typed).
    The values are those stored in the records since the first committee."""

    ANSWERED = "answered"                # answered the roll call
    ARRIVED = "arrived"                  # came after the roll call closed (遅参)
    RETURNED = "returned"                # back after leaving or losing the connection
    NO_ANSWER = "no answer"              # did not answer before the roll call closed
    CONNECTION_LOST = "connection lost"  # gone longer than the absence grace


class VoteState(StrEnum):
    OPEN = "open"
    #: Closed on a tie: waits for the chair's decision.
    TIE = "tie"
    CLOSED = "closed"
    VOID = "void"


class MotionOutcome(StrEnum):
    ADOPTED = "adopted"                  # 原案可決 (or an amendment passed)
    ADOPTED_AMENDED = "adopted_amended"  # 修正可決
    REJECTED = "rejected"                # 否決


def member_id(name: str) -> str:
    """The stable id of the member invited under ``name`` (already normalised)."""
    return "m:" + name


# -- records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A seat of the committee's roster: ``role`` ``member`` or ``chair``."""

    member: str
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class AttendanceChange:
    """One change of one member's attendance (the minutes list them with times)."""

    member: str
    status: str
    at: float
    by: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Verification:
    """A member's identity check (本人確認): by whom, when, how (``video``/``other``)."""

    member: str
    by: str
    at: float
    method: str
    reason: str = ""
    #: When it lapsed (the member disconnected past the grace, left, was marked absent).
    ended_at: float | None = None


@dataclass(frozen=True, slots=True)
class Recusal:
    """A member recused (除斥) for a motion; ``lifted_at`` when undone."""

    member: str
    motion: int
    by: str
    at: float
    reason: str = ""
    lifted_at: float | None = None


@dataclass(frozen=True, slots=True)
class MotionRecord:
    """An item of business (議案) or an amendment to one (修正案, ``amends``)."""

    id: int
    title: str
    by: str
    at: float
    agenda_item: int | None = None
    amends: int | None = None
    outcome: str | None = None
    decided_at: float | None = None


@dataclass(frozen=True, slots=True)
class VoteRecord:
    """One vote on a motion. ``choices``: member → what they sent while it was open;
    ``results``: member → result at close. ``quorum_open`` / ``quorum``: the quorum when
    it opened and when it closed. ``camera_required``: the committee's rule
    ``camera_during_vote`` when it opened; ``camera``: member → whether their identity
    camera was live when they last cast (told by the server, which sees the camera)."""

    id: int
    motion: int
    method: str
    state: str
    opened_at: float
    opened_by: str
    quorum_open: QuorumCount
    choices: tuple[tuple[str, str], ...] = ()
    cast_at: tuple[tuple[str, float], ...] = ()
    closed_at: float | None = None
    closed_by: str | None = None
    quorum: QuorumCount | None = None
    results: tuple[tuple[str, str], ...] = ()
    yes: int = 0
    no: int = 0
    abstain: int = 0
    objections: int = 0
    voters: int = 0
    outcome: str | None = None
    chair_decided: bool = False
    decided_by: str | None = None
    void_reason: str = ""
    camera_required: bool = False
    camera: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True, slots=True)
class CameraRequest:
    """The chair or staff asked ``member`` to turn on their identity camera (a
    verification requested): who asked and when."""

    member: str
    by: str
    at: float


@dataclass(frozen=True, slots=True)
class QuorumChange:
    """The quorum was met or lost at ``at`` (announced and recorded)."""

    at: float
    met: bool
    counted: int
    needed: int
    seats: int


@dataclass(frozen=True, slots=True)
class ClosedPeriod:
    """A closed session (秘密会): from ``start`` to ``end`` (None: still closed)."""

    start: float
    by: str
    reason: str = ""
    end: float | None = None
    end_by: str | None = None


@dataclass(frozen=True, slots=True)
class CommitteeRecord:
    """Everything a committee keeps (the persisted form of :class:`Committee`)."""

    members: tuple[MemberRecord, ...] = ()
    status: tuple[AttendanceChange, ...] = ()
    history: tuple[AttendanceChange, ...] = ()
    verifications: tuple[Verification, ...] = ()
    recusals: tuple[Recusal, ...] = ()
    motions: tuple[MotionRecord, ...] = ()
    votes: tuple[VoteRecord, ...] = ()
    quorum_log: tuple[QuorumChange, ...] = ()
    closed: tuple[ClosedPeriod, ...] = ()
    rollcall: bool = False
    rollcall_opened_at: float | None = None
    rollcall_closed_at: float | None = None
    #: When the committee first had a quorum (the minutes' "quorum at opening").
    opened_quorum: QuorumChange | None = None
    gallery_peak: int = 0
    gallery_total: int = 0
    #: Only in a record loaded from the store (which keeps the keys in a table of their
    #: own, one row per visitor): :meth:`Committee.to_record` leaves them out, so that a
    #: change of the procedure never re-writes thousands of visitors.
    gallery_keys: tuple[str, ...] = ()
    #: Verifications requested (``identity:ask``), oldest first, at most
    #: :data:`MAX_CAMERA_REQUESTS`.
    camera_requests: tuple[CameraRequest, ...] = ()


# -- events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommitteeChanged(DomainEvent):
    """Something in the committee changed (``change``: ``rollcall``, ``present``,
    ``attendance``, ``verified``, ``recused``, ``motion``, ``vote_opened``, ``vote_cast``,
    ``vote_closed``, ``vote_decided``, ``vote_void``, ``closed_session``, ``presence``,
    ``roster``, ``camera_asked``). ``member``/``motion``/``vote`` name what it concerned;
    never a choice."""

    topic = "committee.changed"
    change: str
    by: str | None = None
    member: str | None = None
    motion: int | None = None
    vote: int | None = None


@dataclass(frozen=True, slots=True)
class GalleryVisited(DomainEvent):
    """Someone entered the public gallery (傍聴): the counts to store with their join, and
    ``key`` when they are a new distinct visitor (a person key: stored, never sent or
    logged). Not a change of the procedure: nothing is broadcast for it."""

    topic = "committee.visitor"
    peak: int
    total: int
    key: str | None = None


@dataclass(frozen=True, slots=True)
class GallerySittingBegun(DomainEvent):
    """A new sitting began (its recording started): the gallery's peak and total start
    again from those present, whose person keys are ``keys`` (stored, never sent or
    logged), so that each sitting's minutes give that sitting's 傍聴者数."""

    topic = "committee.sitting"
    peak: int
    total: int
    keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GalleryCounted(DomainEvent):
    """The gallery's numbers changed since they were last told (at most every
    :data:`GALLERY_EVERY` seconds, from :meth:`Committee.tick`): the room is sent its
    ``committee:state`` and the recording logs the numbers (the minutes' 傍聴者数)."""

    topic = "committee.gallery_count"
    now: int
    peak: int
    total: int


@dataclass(frozen=True, slots=True)
class QuorumChanged(DomainEvent):
    """The quorum was met or lost: announced in the room and recorded."""

    topic = "committee.quorum"
    met: bool
    counted: int
    needed: int
    seats: int


@dataclass(frozen=True, slots=True)
class CameraAsked(DomainEvent):
    """The chair or staff (``by_name``) asked ``member`` to turn on their identity camera:
    the server tells that member's own sessions (``identity:asked``), nobody else."""

    topic = "committee.camera_asked"
    member: str
    by_name: str


def _reason(raw: object, *, required: bool) -> str:
    if raw is None or raw == "":
        if required:
            raise ValidationError(Reason.MISSING_FIELD, "a reason is required")
        return ""
    return clean_text(raw, REASON_MAX, "reason")


# -- the committee ------------------------------------------------------------------------


@dataclass(eq=False)
class Committee:
    """The committee procedure of one room (see the module docstring)."""

    room: str
    rule: QuorumRule = field(default_factory=QuorumRule)
    members: dict[str, MemberRecord] = field(default_factory=dict)
    status: dict[str, AttendanceChange] = field(default_factory=dict)
    history: list[AttendanceChange] = field(default_factory=list)
    verified: dict[str, Verification] = field(default_factory=dict)
    verification_log: list[Verification] = field(default_factory=list)
    recusals: dict[tuple[str, int], Recusal] = field(default_factory=dict)
    recusal_log: list[Recusal] = field(default_factory=list)
    motions: dict[int, MotionRecord] = field(default_factory=dict)
    votes: dict[int, VoteRecord] = field(default_factory=dict)
    quorum_log: list[QuorumChange] = field(default_factory=list)
    closed: list[ClosedPeriod] = field(default_factory=list)
    rollcall: bool = False
    rollcall_opened_at: float | None = None
    rollcall_closed_at: float | None = None
    opened_quorum: QuorumChange | None = None
    gallery_peak: int = 0
    gallery_total: int = 0
    gallery_keys: set[str] = field(default_factory=set)
    camera_requests: list[CameraRequest] = field(default_factory=list)
    # Presence (not persisted): member → their participant ids; when their last left.
    pids: dict[str, set[str]] = field(default_factory=dict)
    gone: dict[str, float] = field(default_factory=dict)
    gallery: dict[str, str] = field(default_factory=dict)
    _met: bool = False
    #: The gallery's numbers last told (:class:`GalleryCounted`) and when.
    _gallery_told: tuple[int, int, int] = (0, 0, 0)
    _gallery_told_at: float = float("-inf")

    # -- records --------------------------------------------------------------------------

    def to_record(self) -> CommitteeRecord:
        return CommitteeRecord(
            members=tuple(self.members.values()), status=tuple(self.status.values()),
            history=tuple(self.history),
            verifications=tuple(self.verification_log),
            recusals=tuple(self.recusal_log), motions=tuple(self.motions.values()),
            votes=tuple(self.votes.values()), quorum_log=tuple(self.quorum_log),
            closed=tuple(self.closed), rollcall=self.rollcall,
            rollcall_opened_at=self.rollcall_opened_at,
            rollcall_closed_at=self.rollcall_closed_at, opened_quorum=self.opened_quorum,
            gallery_peak=self.gallery_peak, gallery_total=self.gallery_total,
            camera_requests=tuple(self.camera_requests),
        )

    @classmethod
    def from_record(
        cls, room: str, record: CommitteeRecord | None, rule: QuorumRule | None = None,
        now: float = 0.0,
    ) -> Committee:
        """The committee as stored; every member counts as gone since ``now`` (presence
        is not persisted: a member who reconnects within the grace keeps everything)."""
        r = record or CommitteeRecord()
        c = cls(room, rule or QuorumRule())
        c.members = {m.member: m for m in r.members}
        c.status = {s.member: s for s in r.status}
        c.history = list(r.history)
        c.verification_log = list(r.verifications)
        c.verified = {v.member: v for v in r.verifications if v.ended_at is None}
        c.recusal_log = list(r.recusals)
        c.recusals = {(x.member, x.motion): x for x in r.recusals if x.lifted_at is None}
        c.motions = {m.id: m for m in r.motions}
        c.votes = {v.id: v for v in r.votes}
        for v in c.votes.values():
            Method(v.method)
            VoteState(v.state)
        c.quorum_log = list(r.quorum_log)
        c.closed = list(r.closed)
        c.rollcall, c.rollcall_opened_at = r.rollcall, r.rollcall_opened_at
        c.rollcall_closed_at, c.opened_quorum = r.rollcall_closed_at, r.opened_quorum
        c.gallery_peak, c.gallery_total = r.gallery_peak, r.gallery_total
        c.gallery_keys = set(r.gallery_keys)
        c.camera_requests = list(r.camera_requests)
        c._gallery_told = c.gallery_numbers()
        c.gone = {m: now for m in c.members}
        c._met = c.quorum().met
        return c

    # -- roster and presence --------------------------------------------------------------

    def set_roster(self, roster: Iterable[tuple[str, str, str]], now: float, *,
                   removed: Iterable[str] = ()) -> list[DomainEvent]:
        """The roster: ``(member id, name, role)`` of every unrevoked member/chair
        invitation with a fixed name. Members already known (they joined with a valid
        invitation) stay unless ``removed`` names them (every invitation of theirs was
        revoked); their attendance is kept for the record either way."""
        members = {m: r for m, r in self.members.items() if m not in set(removed)}
        members.update({m: MemberRecord(m, name, role) for m, name, role in roster})
        self.members = members
        for m in self.members:
            if not self.pids.get(m):
                self.gone.setdefault(m, now)
        return self._changed("roster", now)

    def enrol(self, member: str, name: str, role: str, now: float) -> list[DomainEvent]:
        """Add one seat (an invitation issued since the roster was read)."""
        if self.members.get(member) == MemberRecord(member, name, role):
            return []
        self.members[member] = MemberRecord(member, name, role)
        if not self.pids.get(member):
            self.gone.setdefault(member, now)
        return self._changed("roster", now, member=member)

    def arrive(self, member: str | None, pid: str, now: float, *, gallery_key: str | None = None,
               name: str = "", role: str = "member") -> list[DomainEvent]:
        """Someone joined: a member (their connection), or a gallery visitor (counted)."""
        if gallery_key is not None:
            # Counted only: the procedure is unchanged, its record is not rewritten and
            # nothing is broadcast now (see GalleryVisited, GalleryCounted).
            self.gallery[pid] = gallery_key
            new = None
            if gallery_key not in self.gallery_keys:
                self.gallery_total += 1
                if len(self.gallery_keys) < MAX_GALLERY_KEYS:
                    self.gallery_keys.add(gallery_key)
                    new = gallery_key
            self.gallery_peak = max(self.gallery_peak, len(self.gallery))
            return [GalleryVisited(self.room, now, peak=self.gallery_peak,
                                   total=self.gallery_total, key=new)]
        if member is None:
            return []
        events = [] if member in self.members else self.enrol(member, name, role, now)
        self.pids.setdefault(member, set()).add(pid)
        self.gone.pop(member, None)
        current = self.status.get(member)
        status = Status(current.status) if current else Status.UNKNOWN
        if status in (Status.LEFT, Status.DISCONNECTED):
            # Back after leaving: attending again (a fresh identity check is needed).
            back = self._previous_attending(member)
            events += self._set_status(member, back, now, None, ChangeReason.RETURNED)
        elif status in (Status.UNKNOWN, Status.ABSENT) and self.rollcall_closed_at is not None \
                and not self.rollcall:
            events += self._set_status(member, Status.LATE, now, None, ChangeReason.ARRIVED)
        return [*events, *self._changed("presence", now, member=member)]

    def depart(self, pid: str, now: float) -> list[DomainEvent]:
        """A participant left or lost their connection."""
        if self.gallery.pop(pid, None) is not None:
            return []  # told with the next GalleryCounted (peak and total are unchanged)
        for member, pids in self.pids.items():
            if pid in pids:
                pids.discard(pid)
                if not pids:
                    self.gone[member] = now
                return self._changed("presence", now, member=member)
        return []

    def tick(self, now: float, grace: float) -> list[DomainEvent]:
        """Members gone longer than ``grace`` are ``disconnected`` (and unverified); the
        gallery's numbers, when they changed, at most every :data:`GALLERY_EVERY`."""
        events: list[DomainEvent] = self.gallery_due(now)
        for member, since in list(self.gone.items()):
            if now - since < grace or member not in self.members:
                continue
            del self.gone[member]
            current = self.status.get(member)
            if current is not None and Status(current.status) in ATTENDING:
                events += self._set_status(member, Status.DISCONNECTED, now, None,
                                           ChangeReason.CONNECTION_LOST)
            elif member in self.verified:
                self._unverify(member, now)
                events += self._changed("verified", now, member=member)
        return events

    def begin_sitting(self, now: float) -> list[DomainEvent]:
        """A sitting begins (a recording of the committee starts): the gallery's numbers
        count from here, those present counted once each; told at once."""
        keys = sorted(set(self.gallery.values()))[:MAX_GALLERY_KEYS]
        self.gallery_keys = set(keys)
        self.gallery_total = len(set(self.gallery.values()))
        self.gallery_peak = len(self.gallery)
        return [GallerySittingBegun(self.room, now, peak=self.gallery_peak,
                                    total=self.gallery_total, keys=tuple(keys)),
                *self.gallery_due(now, force=True)]

    def gallery_numbers(self) -> tuple[int, int, int]:
        """The gallery now: (present, peak, total distinct)."""
        return len(self.gallery), self.gallery_peak, self.gallery_total

    def gallery_due(self, now: float, *, force: bool = False) -> list[DomainEvent]:
        """:class:`GalleryCounted` if the gallery's numbers changed since last told and
        :data:`GALLERY_EVERY` has passed (``force``: whenever they changed)."""
        numbers = self.gallery_numbers()
        if numbers == self._gallery_told or (
                not force and now - self._gallery_told_at < GALLERY_EVERY):
            return []
        self._gallery_told, self._gallery_told_at = numbers, now
        present, peak, total = numbers
        return [GalleryCounted(self.room, now, now=present, peak=peak, total=total)]

    def connected(self, member: str) -> bool:
        return bool(self.pids.get(member))

    def member_of(self, pid: str) -> str | None:
        return next((m for m, pids in self.pids.items() if pid in pids), None)

    # -- attendance -----------------------------------------------------------------------

    def _previous_attending(self, member: str) -> Status:
        for change in reversed(self.history):
            if change.member == member and Status(change.status) in ATTENDING:
                return Status(change.status)
        return Status.LATE

    def _set_status(self, member: str, status: Status, now: float, by: str | None,
                    reason: str) -> list[DomainEvent]:
        change = AttendanceChange(member, status.value, now, by, str(reason))
        self.status[member] = change
        self.history.append(change)
        if status not in ATTENDING and member in self.verified:
            self._unverify(member, now)
        return self._changed("attendance", now, by=by, member=member)

    def open_rollcall(self, open_: bool, now: float, *, by: str) -> list[DomainEvent]:
        """Open the roll call (出席確認), or close it: who has not answered is absent."""
        if open_ == self.rollcall:
            raise ProcedureError(Reason.WRONG_STATE,
                                 "the roll call is " + ("open" if open_ else "not open"))
        self.rollcall = open_
        events: list[DomainEvent] = []
        if open_:
            self.rollcall_opened_at = now
        else:
            self.rollcall_closed_at = now
            for member in self.members:
                current = self.status.get(member)
                if current is None or current.status == Status.UNKNOWN:
                    events += self._set_status(member, Status.ABSENT, now, by,
                                               ChangeReason.NO_ANSWER)
        return [*events, *self._changed("rollcall", now, by=by)]

    def answer(self, member: str, now: float) -> list[DomainEvent]:
        """A member answers the roll call: present while it is open, late after."""
        self._seat(member)
        if not self.rollcall and self.rollcall_closed_at is None:
            raise ProcedureError(Reason.WRONG_STATE, "no roll call has been opened")
        current = self.status.get(member)
        if self.rollcall:
            status = Status.PRESENT
        elif current is not None and Status(current.status) in ATTENDING:
            raise ProcedureError(Reason.DUPLICATE, "you are already marked present")
        else:
            status = Status.LATE
        if current is not None and current.status == status.value:
            raise ProcedureError(Reason.DUPLICATE, "you have already answered")
        return self._set_status(member, status, now, member, ChangeReason.ANSWERED)

    def correct(self, member: object, status: object, reason: object, now: float, *,
                by: str) -> list[DomainEvent]:
        """A staff or chair correction of a member's attendance (reason required)."""
        seat = self._seat(member)
        try:
            wanted = Status(status)  # type: ignore[arg-type]
        except ValueError:
            raise ValidationError(Reason.BAD_FIELD, "status must be one of "
                                  + ", ".join(s.value for s in Status)) from None
        why = _reason(reason, required=True)
        return self._set_status(seat, wanted, now, by, why)

    # -- identity -------------------------------------------------------------------------

    def verify(self, member: object, method: object, reason: object, now: float, *,
               by: str) -> list[DomainEvent]:
        """Mark a connected member's identity checked (``video``, or ``other`` with a
        reason). It lasts while they stay connected (a reconnect within the grace keeps
        it)."""
        seat = self._seat(member)
        if method not in ("video", "other"):
            raise ValidationError(Reason.BAD_FIELD, "method must be video or other")
        why = _reason(reason, required=method == "other")
        if not self.connected(seat):
            raise ProcedureError(Reason.WRONG_STATE, f"{seat} is not connected")
        if seat in self.verified:
            self._unverify(seat, now)
        check = Verification(seat, by, now, str(method), why)
        self.verified[seat] = check
        self.verification_log.append(check)
        return self._changed("verified", now, by=by, member=seat)

    def ask_camera(self, member: object, now: float, *, by: str) -> list[DomainEvent]:
        """Record that ``by`` asked a connected member to turn on their identity camera
        (a verification requested); the caller tells the member."""
        seat = self._seat(member)
        if not self.connected(seat):
            raise ProcedureError(Reason.WRONG_STATE, f"{seat} is not connected")
        self.camera_requests.append(CameraRequest(seat, by, now))
        del self.camera_requests[:-MAX_CAMERA_REQUESTS]
        return self._changed("camera_asked", now, by=by, member=seat)

    def _unverify(self, member: str, now: float) -> None:
        check = self.verified.pop(member, None)
        if check is None:
            return
        for i in range(len(self.verification_log) - 1, -1, -1):
            if self.verification_log[i] is check:
                self.verification_log[i] = replace(check, ended_at=now)
                break

    # -- quorum ---------------------------------------------------------------------------

    def _seated(self) -> list[MemberRecord]:
        return [m for m in self.members.values()
                if self.rule.chair_counts or m.role != "chair"]

    def quorum(self) -> QuorumCount:
        """The quorum now: counted = attending and verified (chair per the rule)."""
        seated = self._seated()
        seats = self.rule.seats if self.rule.seats is not None else len(seated)
        counted = sum(1 for m in seated if self.counts(m.member))
        return QuorumCount(counted, self.rule.needed(seats), seats)

    def counts(self, member: str) -> bool:
        current = self.status.get(member)
        return (current is not None and Status(current.status) in ATTENDING
                and member in self.verified)

    def set_rule(self, rule: QuorumRule, now: float) -> list[DomainEvent]:
        self.rule = rule
        return self._changed("rule", now)

    # -- recusal --------------------------------------------------------------------------

    def recuse(self, member: object, motion: int, recused: bool, reason: object, now: float,
               *, by: str) -> list[DomainEvent]:
        """Recuse (除斥) a member for a motion (its amendments included), or undo it."""
        seat = self._seat(member)
        self._motion(motion)
        key = (seat, motion)
        if recused:
            if key in self.recusals:
                raise ProcedureError(Reason.DUPLICATE, f"{seat} is already recused")
            entry = Recusal(seat, motion, by, now, _reason(reason, required=True))
            self.recusals[key] = entry
            self.recusal_log.append(entry)
        else:
            found = self.recusals.pop(key, None)
            if found is None:
                raise ProcedureError(Reason.WRONG_STATE, f"{seat} is not recused")
            index = next(i for i, x in enumerate(self.recusal_log) if x is found)
            self.recusal_log[index] = replace(found, lifted_at=now)
        return self._changed("recused", now, by=by, member=seat, motion=motion)

    def recused_for(self, member: str, motion: int) -> bool:
        """Whether ``member`` is recused for ``motion`` or the motion it amends."""
        m = self.motions.get(motion)
        return (member, motion) in self.recusals or (
            m is not None and m.amends is not None and (member, m.amends) in self.recusals)

    # -- motions and votes ----------------------------------------------------------------

    def _motion(self, motion: int) -> MotionRecord:
        found = self.motions.get(motion)
        if found is None:
            raise ProcedureError(Reason.NO_SUCH_ITEM, f"no motion {motion}")
        return found

    def _vote(self, vote: int) -> VoteRecord:
        found = self.votes.get(vote)
        if found is None:
            raise ProcedureError(Reason.NO_SUCH_ITEM, f"no vote {vote}")
        return found

    def _seat(self, member: object) -> str:
        if not isinstance(member, str) or member not in self.members:
            raise ProcedureError(Reason.NOT_MEMBER, f"{member!r} is not a committee member")
        return member

    def propose(self, title: object, now: float, *, by: str, agenda_item: int | None = None,
                amends: int | None = None) -> list[DomainEvent]:
        """Put a motion (議案) or an amendment (``amends``) to the committee."""
        if len(self.motions) >= MAX_MOTIONS:
            raise ProcedureError(Reason.WRONG_STATE, "too many motions in this room")
        text = clean_text(title, TITLE_MAX, "title")
        if amends is not None:
            original = self._motion(amends)
            if original.amends is not None:
                raise ProcedureError(Reason.WRONG_STATE, "an amendment amends a motion, "
                                     "not another amendment")
            if original.outcome is not None or self._open_on(amends):
                raise ProcedureError(Reason.WRONG_STATE,
                                     f"motion {amends} is already being decided")
        motion_id = max(self.motions, default=0) + 1
        self.motions[motion_id] = MotionRecord(motion_id, text, by, now, agenda_item, amends)
        return self._changed("motion", now, by=by, motion=motion_id)

    def _open_on(self, motion: int) -> bool:
        return any(v.motion == motion and v.state in (VoteState.OPEN, VoteState.TIE)
                   for v in self.votes.values())

    def current_vote(self) -> VoteRecord | None:
        """The vote open or waiting for the chair's decision, if any."""
        return next((v for v in self.votes.values()
                     if v.state in (VoteState.OPEN, VoteState.TIE)), None)

    def open_vote(self, motion: int, method: object, now: float, *, by: str) -> list[DomainEvent]:
        """Open a vote; refused ``no_quorum`` without quorum, ``wrong_state`` while another
        is open or undecided, the motion decided, or an amendment to it undecided."""
        try:
            how = Method(method)  # type: ignore[arg-type]
        except ValueError:
            raise ValidationError(Reason.BAD_FIELD, "method must be one of "
                                  + ", ".join(m.value for m in Method)) from None
        m = self._motion(motion)
        if self.current_vote() is not None:
            raise ProcedureError(Reason.WRONG_STATE, "another vote is open")
        if m.outcome is not None:
            raise ProcedureError(Reason.WRONG_STATE, f"motion {motion} is decided")
        pending = [a.id for a in self.motions.values() if a.amends == motion and a.outcome is None]
        if pending:
            raise ProcedureError(Reason.WRONG_STATE,
                                 f"amendment {pending[0]} must be decided before motion {motion}")
        q = self.quorum()
        if not q.met:
            raise ProcedureError(Reason.NO_QUORUM,
                                 f"no quorum: {q.counted} of {q.needed} needed")
        if len(self.votes) >= MAX_VOTES:
            raise ProcedureError(Reason.WRONG_STATE, "too many votes in this room")
        vote_id = max(self.votes, default=0) + 1
        self.votes[vote_id] = VoteRecord(vote_id, motion, how.value, VoteState.OPEN.value, now,
                                         by, q, camera_required=self.rule.camera_during_vote)
        return self._changed("vote_opened", now, by=by, motion=motion, vote=vote_id)

    def cast(self, member: str, vote: int, choice: object, now: float, *,
             camera: bool = False) -> list[DomainEvent]:
        """A member's own choice (see :data:`moderation.votes.CHOICES`). ``camera``: whether
        the member's identity camera is live now (the server knows; kept with the ballot).
        When the vote requires it (:attr:`VoteRecord.camera_required`), a choice is refused
        ``camera_required`` without it, except ``none`` (a hand lowered, a seat taken, an
        objection withdrawn): that is what not casting at all counts as."""
        seat = self._seat(member)
        v = self._vote(vote)
        if v.state != VoteState.OPEN:
            raise ProcedureError(Reason.WRONG_STATE, f"vote {vote} is {v.state}")
        if self.members[seat].role == "chair":
            raise PermissionDenied(Reason.FORBIDDEN, "the chair does not vote")
        if self.recused_for(seat, v.motion):
            raise PermissionDenied(Reason.RECUSED, f"you are recused for motion {v.motion}")
        method = Method(v.method)
        if not isinstance(choice, str) or choice not in CHOICES[method]:
            raise ValidationError(Reason.BAD_FIELD, "choice must be one of "
                                  + ", ".join(sorted(CHOICES[method])))
        if not self.counts(seat):
            raise ProcedureError(Reason.WRONG_STATE,
                                 "you are not marked present and verified")
        choices = dict(v.choices)
        if method is Method.NAMED and seat in choices:
            raise ProcedureError(Reason.DUPLICATE, "you have already voted")
        if v.camera_required and not camera and choice != "none":
            raise PermissionDenied(Reason.CAMERA_REQUIRED,
                                   "this committee votes on camera: turn on your camera")
        choices[seat] = choice
        cast_at = dict(v.cast_at)
        cast_at[seat] = now
        on_camera = dict(v.camera)
        on_camera[seat] = bool(camera)
        self.votes[vote] = replace(v, choices=tuple(sorted(choices.items())),
                                   cast_at=tuple(sorted(cast_at.items())),
                                   camera=tuple(sorted(on_camera.items())))
        return self._changed("vote_cast", now, member=seat, motion=v.motion, vote=vote)

    def _voters(self, motion: int) -> tuple[list[str], frozenset[str], frozenset[str]]:
        members = [m.member for m in self.members.values() if m.role != "chair"]
        recused = frozenset(m for m in members if self.recused_for(m, motion))
        voters = frozenset(m for m in members if self.counts(m) and m not in recused)
        return members, voters, recused

    def close_vote(self, vote: int, now: float, *, by: str) -> list[DomainEvent]:
        """Close an open vote and count it; a tie waits for :meth:`decide`."""
        v = self._vote(vote)
        if v.state != VoteState.OPEN:
            raise ProcedureError(Reason.WRONG_STATE, f"vote {vote} is {v.state}")
        members, voters, recused = self._voters(v.motion)
        t = tally(Method(v.method), members, voters, recused, dict(v.choices))
        state = VoteState.TIE if t.outcome is Outcome.TIE else VoteState.CLOSED
        self.votes[vote] = replace(
            v, state=state.value, closed_at=now, closed_by=by, quorum=self.quorum(),
            results=t.by_member, yes=t.yes, no=t.no, abstain=t.abstain,
            objections=t.objections, voters=t.voters,
            outcome=None if state is VoteState.TIE else t.outcome.value)
        if state is VoteState.CLOSED:
            self._settle(v.motion, t.outcome, now)
        return self._changed("vote_closed", now, by=by, motion=v.motion, vote=vote)

    def decide(self, vote: int, outcome: object, now: float, *, by: str) -> list[DomainEvent]:
        """The chair's decision (委員長裁決) of a tied vote: ``passed`` or ``rejected``."""
        v = self._vote(vote)
        if v.state != VoteState.TIE:
            raise ProcedureError(Reason.WRONG_STATE, f"vote {vote} is not tied")
        if outcome not in (Outcome.PASSED.value, Outcome.REJECTED.value):
            raise ValidationError(Reason.BAD_FIELD, "outcome must be passed or rejected")
        result = Outcome(outcome)
        self.votes[vote] = replace(v, state=VoteState.CLOSED.value, outcome=result.value,
                                   chair_decided=True, decided_by=by)
        self._settle(v.motion, result, now)
        return self._changed("vote_decided", now, by=by, motion=v.motion, vote=vote)

    def rerun(self, vote: int, reason: object, now: float, *, by: str) -> list[DomainEvent]:
        """Void an open or tied vote (kept, with the reason) and open it again."""
        v = self._vote(vote)
        if v.state not in (VoteState.OPEN, VoteState.TIE):
            raise ProcedureError(Reason.WRONG_STATE, f"vote {vote} is {v.state}")
        why = _reason(reason, required=True)
        self.votes[vote] = replace(v, state=VoteState.VOID.value, void_reason=why,
                                   closed_at=now, closed_by=by)
        try:
            opened = self.open_vote(v.motion, v.method, now, by=by)
        except Exception:
            self.votes[vote] = v  # nothing changes if the new vote cannot open
            raise
        return [*self._changed("vote_void", now, by=by, motion=v.motion, vote=vote), *opened]

    def _settle(self, motion: int, outcome: Outcome, now: float) -> None:
        if outcome is Outcome.OBJECTED:
            return
        m = self.motions[motion]
        if outcome is Outcome.REJECTED:
            result = MotionOutcome.REJECTED
        elif m.amends is None and any(a.amends == motion and a.outcome == MotionOutcome.ADOPTED
                                      for a in self.motions.values()):
            result = MotionOutcome.ADOPTED_AMENDED
        else:
            result = MotionOutcome.ADOPTED
        self.motions[motion] = replace(m, outcome=result.value, decided_at=now)

    # -- closed session -------------------------------------------------------------------

    def closed_session(self, closed: bool, reason: object, now: float, *,
                       by: str) -> list[DomainEvent]:
        """Begin (秘密会) or end a closed session."""
        current = self.closed[-1] if self.closed and self.closed[-1].end is None else None
        if closed == (current is not None):
            raise ProcedureError(Reason.WRONG_STATE, "the session is already "
                                 + ("closed" if closed else "open"))
        if closed:
            self.closed.append(ClosedPeriod(now, by, _reason(reason, required=True)))
        else:
            assert current is not None
            self.closed[-1] = replace(current, end=now, end_by=by)
        return self._changed("closed_session", now, by=by)

    def in_closed_session(self) -> ClosedPeriod | None:
        return self.closed[-1] if self.closed and self.closed[-1].end is None else None

    # -- events ---------------------------------------------------------------------------

    def _changed(self, change: str, now: float, *, by: str | None = None,
                 member: str | None = None, motion: int | None = None,
                 vote: int | None = None) -> list[DomainEvent]:
        out: list[DomainEvent] = [CommitteeChanged(self.room, now, change=change, by=by,
                                                   member=member, motion=motion, vote=vote)]
        q = self.quorum()
        if q.met != self._met:
            self._met = q.met
            entry = QuorumChange(now, q.met, q.counted, q.needed, q.seats)
            self.quorum_log.append(entry)
            if q.met and self.opened_quorum is None:
                self.opened_quorum = entry
            out.append(QuorumChanged(self.room, now, met=q.met, counted=q.counted,
                                     needed=q.needed, seats=q.seats))
        return out

    # -- views ----------------------------------------------------------------------------

    def state(self) -> dict[str, object]:
        """The public view (``committee:state``): see docs/protocol.md."""
        q = self.quorum()
        recused: dict[str, list[int]] = {}
        for member, motion in self.recusals:
            recused.setdefault(member, []).append(motion)
        members = []
        for m in self.members.values():
            current = self.status.get(m.member)
            check = self.verified.get(m.member)
            pids = sorted(self.pids.get(m.member, ()))
            members.append({
                "member": m.member, "name": m.name, "pid": pids[0] if pids else None,
                "role": m.role, "status": current.status if current else Status.UNKNOWN.value,
                "since": current.at if current else None,
                "verified": None if check is None else {
                    "by": check.by, "at": check.at, "method": check.method},
                "recused_for": sorted(recused.get(m.member, [])),
            })
        motions = sorted(self.motions.values(), key=lambda x: x.id)[-STATE_RECENT:]
        votes = sorted(self.votes.values(), key=lambda x: x.id)
        current_vote = self.current_vote() or (votes[-1] if votes else None)
        closed = self.in_closed_session()
        return {
            "rule": {"fraction": self.rule.fraction, "strict": self.rule.strict,
                     "chair_counts": self.rule.chair_counts, "seats": self.rule.seats,
                     "camera_during_vote": self.rule.camera_during_vote},
            "seats": q.seats, "needed": q.needed, "counted": q.counted, "quorum": q.met,
            "rollcall": self.rollcall,
            "members": members,
            "motions": [{"id": x.id, "title": x.title, "agenda_item": x.agenda_item,
                         "amends": x.amends, "outcome": x.outcome, "at": x.at}
                        for x in motions],
            "vote": None if current_vote is None else self.vote_view(current_vote),
            "votes": [{"id": v.id, "motion": v.motion, "method": v.method, "state": v.state,
                       "outcome": v.outcome, "chair_decided": v.chair_decided}
                      for v in votes[-STATE_RECENT:]],
            "closed_session": None if closed is None else {"since": closed.start,
                                                           "reason": closed.reason},
            "gallery": {"now": len(self.gallery), "peak": self.gallery_peak,
                        "total": self.gallery_total},
        }

    def vote_view(self, v: VoteRecord) -> dict[str, object]:
        method = Method(v.method)
        secret_until_closed = method is Method.NAMED and v.state == VoteState.OPEN
        cast: dict[str, object] = {m: (True if secret_until_closed else c) for m, c in v.choices}
        raised = sorted(pid for m, c in v.choices if c == "yes"
                        and method in (Method.HANDS, Method.STANDING)
                        and v.state == VoteState.OPEN for pid in self.pids.get(m, ()))
        disconnected = sorted(m for m in self.members if self.members[m].role != "chair"
                              and m in self.status
                              and self.status[m].status == Status.DISCONNECTED.value)
        results = None
        if v.state in (VoteState.TIE, VoteState.CLOSED) and v.quorum is not None:
            results = {
                "by_member": dict(v.results), "yes": v.yes, "no": v.no, "abstain": v.abstain,
                "objections": v.objections, "voters": v.voters, "outcome": v.outcome,
                "chair_decided": v.chair_decided,
                "quorum": {"present": v.quorum.counted, "needed": v.quorum.needed,
                           "seats": v.quorum.seats},
                "motion_outcome": self.motions[v.motion].outcome,
            }
        return {"id": v.id, "motion": v.motion, "method": v.method, "state": v.state,
                "opened_at": v.opened_at, "closed_at": v.closed_at, "cast": cast,
                "raised": raised, "disconnected": disconnected, "results": results,
                "void_reason": v.void_reason or None,
                "camera_required": v.camera_required, "camera": dict(v.camera)}


def committee_summary(record: CommitteeRecord, since: float | None = None,
                      until: float | None = None) -> dict[str, object]:
    """The committee part of the minutes: attendance with verification, quorum at opening
    and at each vote, motions with their votes by name and outcomes, recusals, closed
    periods and gallery counts (JSON-ready; times are Unix seconds). Pure.

    ``since``/``until``: one sitting's window (a recording's start and end): only what
    happened within it (a motion put earlier but voted within it is kept; the attendance
    lists every seat with the changes made within it and the status it ended with)."""
    lo = float("-inf") if since is None else since
    hi = float("inf") if until is None else until

    def within(at: float | None) -> bool:
        return at is not None and lo <= at <= hi

    names: Mapping[str, str] = {m.member: m.name for m in record.members}
    attendance = []
    for m in record.members:
        changes = [c for c in record.history if c.member == m.member and c.at <= hi]
        checks = [v for v in record.verifications if v.member == m.member and v.at <= hi
                  and (v.ended_at is None or v.ended_at >= lo)]
        attendance.append({
            "member": m.member, "name": m.name, "role": m.role,
            "status": changes[-1].status if changes else Status.UNKNOWN.value,
            "changes": [{"status": c.status, "at": c.at, "by": c.by, "reason": c.reason}
                        for c in changes if within(c.at)],
            "verifications": [{"by": v.by, "at": v.at, "method": v.method, "reason": v.reason,
                               "ended_at": v.ended_at} for v in checks],
            "camera_requests": [{"by": r.by, "at": r.at} for r in record.camera_requests
                                if r.member == m.member and within(r.at)],
        })
    motions = []
    for mo in sorted(record.motions, key=lambda x: x.id):
        # A vote counts for the sitting if it was open during it: one opened before a
        # recording began (a cluster failover ends the recording, the next one starts
        # with the vote still open) is closed, and its results by name belong, there.
        votes = [v for v in sorted(record.votes, key=lambda x: x.id)
                 if v.motion == mo.id and v.opened_at <= hi
                 and (v.closed_at is None or v.closed_at >= lo)]
        if not (within(mo.at) or within(mo.decided_at) or votes):
            continue
        motions.append({
            "id": mo.id, "title": mo.title, "agenda_item": mo.agenda_item, "amends": mo.amends,
            "outcome": mo.outcome if mo.decided_at is None or mo.decided_at <= hi else None,
            "decided_at": mo.decided_at,
            "recusals": [{"member": r.member, "name": names.get(r.member, r.member),
                          "reason": r.reason, "at": r.at, "lifted_at": r.lifted_at}
                         for r in record.recusals if r.motion == mo.id and r.at <= hi],
            "votes": [{
                "id": v.id, "method": v.method, "state": v.state, "opened_at": v.opened_at,
                "closed_at": v.closed_at, "outcome": v.outcome,
                "chair_decided": v.chair_decided, "void_reason": v.void_reason,
                "quorum_open": {"present": v.quorum_open.counted,
                                "needed": v.quorum_open.needed, "seats": v.quorum_open.seats},
                "quorum": None if v.quorum is None else {
                    "present": v.quorum.counted, "needed": v.quorum.needed,
                    "seats": v.quorum.seats},
                "totals": {"yes": v.yes, "no": v.no, "abstain": v.abstain,
                           "objections": v.objections, "voters": v.voters},
                "camera_required": v.camera_required,
                "by_name": [{"member": mem, "name": names.get(mem, mem), "result": res,
                             "camera": dict(v.camera).get(mem)}
                            for mem, res in v.results],
            } for v in votes],
        })
    changes_q = [q for q in record.quorum_log if within(q.at)]
    before = [q for q in record.quorum_log if q.at < lo]
    opening = next((q for q in changes_q if q.met), None)
    if before and before[-1].met:
        opening = replace(before[-1], at=lo)  # met already when the sitting began
    return {
        "attendance": attendance,
        "quorum_at_opening": None if opening is None else {
            "at": opening.at, "present": opening.counted, "needed": opening.needed,
            "seats": opening.seats},
        "quorum_changes": [{"at": q.at, "met": q.met, "present": q.counted,
                            "needed": q.needed, "seats": q.seats} for q in changes_q],
        "motions": motions,
        "closed_sessions": [{"start": c.start, "end": c.end, "reason": c.reason, "by": c.by}
                            for c in record.closed
                            if c.start <= hi and (c.end is None or c.end >= lo)],
        "gallery": {"peak": record.gallery_peak, "total": record.gallery_total},
    }


_NESTED_RECORDS = (MemberRecord, AttendanceChange, Verification, Recusal, MotionRecord,
                   VoteRecord, QuorumChange, ClosedPeriod, QuorumCount, QuorumRule,
                   CameraRequest)


def _fields_of(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind))


_FIELDS: dict[type, tuple[str, ...]] = {
    kind: _fields_of(kind) for kind in (*_NESTED_RECORDS, CommitteeRecord)}


def _flat(obj: object) -> object:
    """One record as a dict; tuples stay tuples (JSON writes them as arrays), so the
    ballots' pairs need no conversion: ``plain`` on a sitting's record walked every pair
    and took most of the time of a change (bench/committee.py)."""
    names = _FIELDS.get(type(obj))
    if names is None:
        if isinstance(obj, tuple) and obj and type(obj[0]) in _FIELDS:
            return [_flat(x) for x in obj]
        return obj
    return {n: _flat(getattr(obj, n)) for n in names}


def committee_plain(record: CommitteeRecord) -> dict[str, object]:
    """``record`` as JSON-ready data, the shape :func:`moderation.events.plain` gives, fast."""
    out = _flat(record)
    assert isinstance(out, dict)
    return out
