"""Who is in a meeting, and how their permission is asked: the base of :class:`Meeting`.

The roster maps participant ids to :class:`Person` (role, place, device, account). Every
operation of the meeting names its actor by participant id; :meth:`MeetingBase.require`
builds the policy context from the meeting's own state (sanctions, lobby, gallery,
floor) so that no entry point can forget a condition. Presence is not persisted: after a
restart everyone reconnects and joins again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from moderation import audit, policy
from moderation.credentials import person_key
from moderation.events import DomainEvent
from moderation.floor import Floor
from moderation.lobby import Lobby, Place
from moderation.policy import Action, Context
from moderation.quorum import QuorumRule
from moderation.sanctions import DEFAULT_REMOVAL_SECONDS, SanctionBook, SanctionKind
from rooms.errors import PermissionDenied, Reason, RoomError
from rooms.model import Role, RoomKind


@dataclass(frozen=True, slots=True)
class Person:
    """A participant of a meeting. ``console``: a staff console, not an avatar."""

    pid: str
    name: str
    role: Role
    place: Place
    joined_at: float
    device: str | None = None
    account: str | None = None
    console: bool = False
    #: The committee member this person is (``m:`` + their invitation's fixed name), from
    #: the invitation they joined with; None for everyone else.
    member: str | None = None

    @property
    def key(self) -> str:
        """The person key one support / vote / ballot is counted by."""
        return person_key(account=self.account, device=self.device, participant=self.pid)

    @property
    def actor_id(self) -> str:
        """How the audit log names this person: the staff account, else the participant."""
        return self.account or self.pid


@dataclass(frozen=True, slots=True)
class PersonView:
    """What others see of a person (never the device or account)."""

    pid: str
    name: str
    role: str
    place: str

    @classmethod
    def of(cls, p: Person) -> PersonView:
        return cls(p.pid, p.name, p.role.value, p.place.value)


@dataclass(frozen=True, slots=True)
class Joined(DomainEvent):
    topic = "meeting.joined"
    person: PersonView


@dataclass(frozen=True, slots=True)
class Left(DomainEvent):
    """``cause``: ``left``, ``refused`` (from the lobby), ``removed`` or ``banned``. For the
    last three the server also disconnects the person from the room."""

    topic = "meeting.left"
    pid: str
    cause: str


@dataclass(frozen=True, slots=True)
class PlaceChanged(DomainEvent):
    """Admitted from the lobby: the server now puts the person into the room."""

    topic = "meeting.place_changed"
    pid: str
    place: str


#: A meeting's scheduled times must lie between 2000-01-01 and 2100-01-01 (UTC seconds):
#: anything outside is a typing or unit mistake (milliseconds), not a plan.
SCHEDULE_EARLIEST = 946_684_800
SCHEDULE_LATEST = 4_102_444_800
#: Longest organiser text ("市民生活委員会 / ○○市").
ORGANISER_MAX = 120


@dataclass(frozen=True, slots=True)
class Schedule:
    """Who holds a room's event and when (UTC seconds; None: not said), as staff set it."""

    organiser: str = ""
    starts_at: int | None = None
    ends_at: int | None = None

    def problem(self) -> str | None:
        """Why these times cannot be a plan, or None."""
        for name, at in (("starts_at", self.starts_at), ("ends_at", self.ends_at)):
            if at is not None and not SCHEDULE_EARLIEST <= at <= SCHEDULE_LATEST:
                return f"{name} must be Unix seconds between 2000 and 2100"
        if self.ends_at is not None and self.starts_at is None:
            return "an end needs a start"
        if self.starts_at is not None and self.ends_at is not None \
                and self.ends_at <= self.starts_at:
            return "the end must come after the start"
        return None

    def covers(self, now: float) -> bool:
        """Whether ``now`` lies within the scheduled window (a start without an end
        covers nothing: nobody knows when such a meeting is over)."""
        return (self.starts_at is not None and self.ends_at is not None
                and self.starts_at <= now < self.ends_at)


@dataclass(frozen=True, slots=True)
class CategoriesChanged(DomainEvent):
    """Staff changed the room's opinion categories or their labels: everyone in the room
    gets the new list at once (the opinion form and the cards' badges follow)."""

    topic = "meeting.categories"
    categories: tuple[str, ...]
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class MeetingRules:
    """How one room runs its meetings (from the room's settings)."""

    #: Time limit when the floor is given without one, and the grace period after it.
    floor_limit: float = 180.0
    grace: float = 10.0
    #: Whether entering waits in a lobby; None: committee rooms do.
    lobby: bool | None = None
    registration_code: str | None = None
    categories: tuple[str, ...] = ()
    #: Category value → its label by language (``{"en": "Environment"}``), as staff set
    #: them in the console; a value without labels is shown as itself.
    category_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict, hash=False)
    #: Organiser and scheduled times, for the join page.
    schedule: Schedule = Schedule()
    removal_seconds: float = DEFAULT_REMOVAL_SECONDS
    #: Raised hands: a burst of 3, then one per 10 s (lowering is never limited).
    hand_rate: float = 0.1
    hand_burst: float = 3.0
    #: Opinions, questions and reports together: a burst of 5, then one per 20 s.
    submit_rate: float = 0.05
    submit_burst: float = 5.0
    #: Committee rooms: the quorum rule, and how long a member's last connection may be
    #: gone before they count as disconnected (``committee_absence_grace_seconds``).
    quorum: QuorumRule = field(default_factory=QuorumRule)
    absence_grace: float = 60.0
    #: Automatic captions of the floor holder and the chair (issue 17), and the language
    #: they are recognised in.
    auto_captions: bool = False
    caption_lang: str = "ja"


@dataclass(eq=False)
class MeetingBase:
    """State every part of the meeting needs to decide permissions."""

    room: str
    kind: RoomKind
    sanctions: SanctionBook
    rules: MeetingRules
    floor: Floor
    lobby: Lobby
    people: dict[str, Person] = field(default_factory=dict)

    @property
    def has_lobby(self) -> bool:
        return self.kind is RoomKind.COMMITTEE if self.rules.lobby is None else self.rules.lobby

    def person(self, pid: str) -> Person:
        found = self.people.get(pid)
        if found is None:
            raise RoomError(Reason.NOT_JOINED, f"{pid} is not in {self.room}")
        return found

    def is_muted(self, p: Person, now: float) -> bool:
        return self.sanctions.is_muted(self.room, now, participant=p.pid, device=p.device,
                                       account=p.account)

    def held_out(self, p: Person) -> bool:
        """Whether ``p`` is held out of a closed session now (committee rooms only)."""
        return False

    def context(self, p: Person, now: float, target: Person | None = None,
                target_role: Role | None = None) -> Context:
        """The policy context of ``p`` acting (on ``target``) at ``now``."""
        return Context(
            kind=self.kind,
            muted=self.is_muted(p, now),
            # An active removal from this room counts as a ban here: a seat it somehow
            # missed (another node's, one that raced the removal) may do nothing.
            banned=self.sanctions.is_banned(p.device, p.account, now)
            or self.sanctions.find(SanctionKind.REMOVE, now, room=self.room, device=p.device,
                                   account=p.account) is not None,
            in_lobby=p.place is Place.LOBBY,
            held_out=self.held_out(p),
            gallery=p.place is Place.GALLERY,
            holds_floor=self.floor.holder == p.pid,
            target_self=target is not None and target.pid == p.pid,
            target_role=target.role if target is not None else target_role,
        )

    def require(self, pid: str, action: Action, now: float, target: Person | None = None,
                target_role: Role | None = None) -> Person:
        """The acting person, if the policy allows ``action``; else ``PermissionDenied``."""
        actor = self.person(pid)
        policy.require(actor.role, action, self.context(actor, now, target, target_role))
        return actor

    def check_may_hold_floor(self, target: Person, now: float) -> None:
        decision = policy.decide(target.role, Action.FLOOR_HOLD, self.context(target, now))
        if not decision.allowed:
            assert decision.reason is not None
            raise PermissionDenied(
                decision.reason, f"{target.name} ({target.role}) may not be given the floor"
            )

    def audited(
        self, actor: Person, action: Action, now: float, *, target: Person | None = None,
        reason: str = "", details: Mapping[str, object] | None = None,
    ) -> list[DomainEvent]:
        """The audit entry for ``action`` if the policy audits it, else nothing."""
        if not policy.is_audited(action):
            return []
        return [audit.entry(
            self.room, now, actor=actor.actor_id, actor_name=actor.name,
            actor_role=actor.role, action=action,
            target=None if target is None else target.pid,
            target_name="" if target is None else target.name, reason=reason, details=details,
        )]
