"""A meeting: everything that happens in one room, behind the one permission policy.

:class:`Meeting` composes the roster, lobby, floor, agenda, sanctions, chat, opinions,
Q&A, polls and captions of a room. The server keeps one per room and calls it from every
entry point (socket event, HTTP call, console action)::

    events = meeting.give_floor(pid, now, limit=120)   # raises HirobaError if refused
    for event in events: persist(event); broadcast(event.topic, event.to_dict())

Every method takes the acting participant id first and the time (Unix seconds) as
``now``; nothing here reads a clock, does I/O or draws randomness except
:mod:`secrets` for tokens. The server also calls :meth:`Meeting.tick` a few times a
second, :meth:`SanctionBook.expire` once per tick for the whole server, and reads
:meth:`Meeting.speakers` for the audio plane.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from moderation import audit, policy
from moderation.agenda import Agenda, AgendaItem
from moderation.captions import CaptionLine, Captions
from moderation.chat import Chat, ChatMessage, ChatReport
from moderation.committee import Committee, CommitteeRecord
from moderation.committee_ops import CommitteeOps
from moderation.credentials import check_registration_code, device_ref
from moderation.events import DomainEvent
from moderation.floor import EndCause, Floor, FloorRecord
from moderation.forum import ForumOps
from moderation.limits import check_id, check_seconds, optional_reason
from moderation.lobby import Lobby, Place, Waiter, placement
from moderation.opinions import Opinion, Opinions
from moderation.policy import Action, Cell
from moderation.polls import PollRecord, Polls
from moderation.questions import Question, Questions
from moderation.rate_limit import KeyedBuckets
from moderation.roster import Joined, Left, MeetingRules, Person, PersonView, PlaceChanged
from moderation.sanctions import MAX_SANCTION_SECONDS, SanctionBook, SanctionKind
from moderation.wordfilter import WordFilter
from rooms.errors import HirobaError, ProcedureError, Reason, ValidationError
from rooms.model import Role, RoomKind

#: The shortest time limit the floor may be given for.
MIN_FLOOR_SECONDS = 5.0
_LIFT_ACTION = {SanctionKind.MUTE: Action.UNMUTE, SanctionKind.REMOVE: Action.REMOVE,
                SanctionKind.BAN: Action.UNBAN}


@dataclass(frozen=True, slots=True)
class MeetingRecords:
    """Everything a meeting persists (presence is not: people rejoin after a restart)."""

    floor: FloorRecord
    agenda: tuple[AgendaItem, ...] = ()
    messages: tuple[ChatMessage, ...] = ()
    reports: tuple[ChatReport, ...] = ()
    opinions: tuple[Opinion, ...] = ()
    questions: tuple[Question, ...] = ()
    polls: tuple[PollRecord, ...] = ()
    captions: tuple[CaptionLine, ...] = ()
    lobby: tuple[Waiter, ...] = ()
    #: Next free chat ids, for when ``messages`` holds only the recent window.
    next_message_id: int = 0
    next_report_id: int = 0
    #: The committee procedure (committee rooms; empty elsewhere).
    committee: CommitteeRecord | None = None


class Meeting(ForumOps, CommitteeOps):
    """The meeting of one room. Build it fresh, or from :class:`MeetingRecords`."""

    agenda: Agenda

    def __init__(
        self, room: str, kind: RoomKind, sanctions: SanctionBook, words: WordFilter,
        rules: MeetingRules | None = None, records: MeetingRecords | None = None,
        now: float = 0.0,
    ) -> None:
        """``now``: when the meeting is built (a committee's members count as gone since
        then, until they reconnect)."""
        rules = rules or MeetingRules()
        r = records or MeetingRecords(floor=Floor(room).to_record())
        super().__init__(room=room, kind=kind, sanctions=sanctions, rules=rules,
                         floor=Floor.from_record(r.floor, grace=rules.grace),
                         lobby=Lobby.from_records(room, r.lobby))
        self.agenda = Agenda.from_records(room, r.agenda)
        self.chat = Chat.from_records(room, words, r.messages, r.reports,
                                      next_message_id=r.next_message_id,
                                      next_report_id=r.next_report_id)
        self.opinions = Opinions.from_records(room, r.opinions, rules.categories)
        self.questions = Questions.from_records(room, r.questions)
        self.polls = Polls.from_records(room, r.polls)
        self.captions = Captions.from_records(room, r.captions)
        self.committee = Committee.from_record(room, r.committee, rules.quorum, now)
        self.hands = KeyedBuckets(rules.hand_rate, rules.hand_burst)
        self.submissions = KeyedBuckets(rules.submit_rate, rules.submit_burst)

    def to_records(self) -> MeetingRecords:
        messages, reports = self.chat.to_records()
        return MeetingRecords(
            floor=self.floor.to_record(), agenda=self.agenda.to_records(), messages=messages,
            reports=reports, opinions=self.opinions.to_records(),
            questions=self.questions.to_records(), polls=self.polls.to_records(),
            captions=self.captions.to_records(), lobby=self.lobby.to_records(),
            next_message_id=self.chat.next_ids[0], next_report_id=self.chat.next_ids[1],
            committee=self.committee.to_record(),
        )

    # -- presence ---------------------------------------------------------------------

    def join(
        self, pid: str, name: str, role: Role, now: float, *, device: str | None = None,
        account: str | None = None, gallery: bool = False, code: object = None,
        console: bool = False, admitted_at: float | None = None, member: str | None = None,
    ) -> list[DomainEvent]:
        """Enter the meeting. Raises ``banned`` (banned, or removed from this room),
        ``code_required`` / ``bad_code`` for a citizen where a code is required.
        A :class:`Joined` event with place ``lobby`` means: wait, do not enter the room.

        ``admitted_at``: the person was in the room at that time (a resume token says so,
        after a reconnect): they do not wait in the lobby again, unless they were removed
        or banned since. ``member``: the committee member they are (from their
        invitation)."""
        if pid in self.people:
            raise ProcedureError(Reason.DUPLICATE, f"{pid} is already in {self.room}")
        self.sanctions.check_entry(self.room, now, device=device, account=account)
        policy.require(role, Action.ROOM_JOIN, policy.Context(kind=self.kind))
        if role is policy.ANONYMOUS_ROLE:
            check_registration_code(self.rules.registration_code, code)
        place = self.place_for(role, gallery=gallery, console=console,
                               admitted_at=admitted_at, device=device, account=account)
        person = Person(pid, name, role, place, now, device, account, console, member)
        self.people[pid] = person
        events: list[DomainEvent] = [Joined(self.room, now, person=PersonView.of(person))]
        if place is Place.LOBBY:
            events.append(self.lobby.enter(pid, name, role, now))
        return events + self.committee_arrive(person, now)

    def place_for(
        self, role: Role, *, gallery: bool = False, console: bool = False,
        admitted_at: float | None = None, device: str | None = None,
        account: str | None = None,
    ) -> Place:
        """Where someone joining goes (see :meth:`join` for ``admitted_at``)."""
        if console:
            return Place.ROOM
        place = placement(role, lobby=self.has_lobby, gallery=gallery)
        if (place is Place.LOBBY and admitted_at is not None
                and not self.sanctions.sent_away_since(self.room, admitted_at, device=device,
                                                       account=account)):
            return Place.ROOM
        return place

    def leave(self, pid: str, now: float) -> list[DomainEvent]:
        """The person left (or disconnected): out of queue, floor and lobby."""
        if pid not in self.people:
            return []
        return self._drop(pid, now, "left")

    def _drop(self, pid: str, now: float, cause: str) -> list[DomainEvent]:
        events = self.floor.leave(pid, now, sanctioned=cause in ("removed", "banned"))
        events += self.lobby.leave(pid, now)
        del self.people[pid]
        return [*events, Left(self.room, now, pid=pid, cause=cause),
                *self.committee.depart(pid, now)]

    def demote(self, account: str, name: str, target: str, now: float) -> list[DomainEvent]:
        """A staff account (the console) sends ``target`` back to the public gallery
        (issue 19): they leave the room (cause ``demoted``), their page opens the gallery.
        The rule is :attr:`Action.GALLERY_MOVE`'s, ranked: staff are never demoted."""
        person = self.person(target)
        policy.require(Role.STAFF, Action.GALLERY_MOVE,
                       policy.Context(kind=self.kind, target_role=person.role))
        return [*self._drop(person.pid, now, "demoted"),
                audit.entry(self.room, now, actor=account, actor_name=name,
                            actor_role=Role.STAFF, action=Action.GALLERY_MOVE,
                            target=person.pid, target_name=person.name,
                            details={"demoted": person.role.value})]

    def admit(self, pid: str, target: str, now: float) -> list[DomainEvent]:
        """Admit ``target`` from the lobby into the room."""
        who = self.require(pid, Action.LOBBY_ADMIT, now, target=self.person(target))
        event = self.lobby.admit(target, now, by=who.actor_id)
        person = self.people[target] = replace(self.people[target], place=Place.ROOM)
        return [event, PlaceChanged(self.room, now, pid=target, place=person.place.value),
                *self.audited(who, Action.LOBBY_ADMIT, now, target=person)]

    def refuse(
        self, pid: str, target: str, now: float, reason: object = None
    ) -> list[DomainEvent]:
        """Refuse ``target`` waiting in the lobby: they leave the meeting."""
        person = self.person(target)
        who = self.require(pid, Action.LOBBY_REFUSE, now, target=person)
        why = optional_reason(reason)
        event = self.lobby.refuse(target, now, by=who.actor_id, reason=why)
        del self.people[target]
        return [event, Left(self.room, now, pid=target, cause="refused"),
                *self.committee.depart(target, now),
                *self.audited(who, Action.LOBBY_REFUSE, now, target=person, reason=why)]

    # -- the floor --------------------------------------------------------------------

    def raise_hand(self, pid: str, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.HAND_RAISE, now)
        if who.pid not in self.floor.queue and not self.hands.allow(who.key, now):
            raise HirobaError(Reason.RATE_LIMITED, "you are raising your hand too often")
        return self.floor.raise_hand(pid, now)

    def lower_hand(self, pid: str, now: float, target: str | None = None) -> list[DomainEvent]:
        """Lower one's own hand, or (chair, staff) someone else's."""
        person = self.person(target or pid)
        who = self.require(pid, Action.HAND_LOWER, now, target=person)
        return self.floor.lower_hand(person.pid, now, by=who.actor_id)

    def _limit(self, limit: object, unlimited: bool) -> float | None:
        if unlimited:
            return None
        if limit is None:
            return self.rules.floor_limit
        return check_seconds(limit, "limit", minimum=MIN_FLOOR_SECONDS)

    def give_floor(
        self, pid: str, now: float, target: str | None = None, *, limit: object = None,
        unlimited: bool = False,
    ) -> list[DomainEvent]:
        """Give the floor to ``target`` (default: the head of the queue) for ``limit``
        seconds (default: the room's), or without a limit."""
        who = self.require(pid, Action.FLOOR_GIVE, now)
        seconds = self._limit(limit, unlimited)
        if target is None:
            if not self.floor.queue:
                raise ProcedureError(Reason.WRONG_STATE, "nobody is waiting for the floor")
            target = self.floor.queue[0]
        person = self.person(target)
        self.check_may_hold_floor(person, now)
        events = self.floor.give(person.pid, now, seconds, by=who.actor_id)
        return events + self.audited(who, Action.FLOOR_GIVE, now, target=person,
                                     details={"limit": seconds})

    def next_speaker(
        self, pid: str, now: float, *, limit: object = None, unlimited: bool = False
    ) -> list[DomainEvent]:
        """End the current turn and give the floor to the head of the queue."""
        who = self.require(pid, Action.FLOOR_NEXT, now)
        seconds = self._limit(limit, unlimited)
        if self.floor.queue:
            self.check_may_hold_floor(self.person(self.floor.queue[0]), now)
        events = self.floor.next(now, seconds, by=who.actor_id)
        holder = self.people.get(self.floor.holder or "")
        return events + self.audited(who, Action.FLOOR_NEXT, now, target=holder,
                                     details={"limit": seconds})

    def revoke_floor(self, pid: str, now: float, reason: object = None) -> list[DomainEvent]:
        who = self.require(pid, Action.FLOOR_REVOKE, now)
        holder = self.people.get(self.floor.holder or "")
        why = optional_reason(reason)
        return self.floor.revoke(now, by=who.actor_id) + self.audited(
            who, Action.FLOOR_REVOKE, now, target=holder, reason=why)

    def yield_floor(self, pid: str, now: float) -> list[DomainEvent]:
        """The speaker hands the floor back before their time is up."""
        self.require(pid, Action.FLOOR_YIELD, now)
        return self.floor.revoke(now, by=pid, cause=EndCause.YIELDED)

    def extend_time(self, pid: str, seconds: object, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.FLOOR_EXTEND, now)
        extra = check_seconds(seconds, "seconds")
        holder = self.people.get(self.floor.holder or "")
        return self.floor.extend(extra, now, by=who.actor_id) + self.audited(
            who, Action.FLOOR_EXTEND, now, target=holder, details={"seconds": extra})

    def speakers(self, now: float) -> frozenset[str]:
        """Who is audible to the whole room: the floor holder and present chairs and staff
        (the policy's ``floor.speak_freely``), none of them muted."""
        out = set()
        free = policy.RULES[Action.FLOOR_SPEAK_FREELY].cells
        for p in self.people.values():
            if p.place is not Place.ROOM or p.console:
                continue
            action = (Action.FLOOR_HOLD if p.pid == self.floor.holder
                      else Action.FLOOR_SPEAK_FREELY if free[p.role] is not Cell.NO else None)
            if action is not None and policy.decide(p.role, action, self.context(p, now)):
                out.add(p.pid)
        return frozenset(out)

    # -- the agenda -------------------------------------------------------------------

    def _agenda(
        self, who: Person, action: Action, now: float, events: Sequence[DomainEvent],
        **details: object,
    ) -> list[DomainEvent]:
        return [*events, *self.audited(who, action, now, details=details)]

    def agenda_add(
        self, pid: str, title: object, planned: object, now: float, position: int | None = None
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.AGENDA_EDIT, now)
        events = self.agenda.add(title, planned, now, position=position, by=who.actor_id)
        return self._agenda(who, Action.AGENDA_EDIT, now, events, change="add")

    def agenda_edit(
        self, pid: str, item_id: object, now: float, *, title: object = None,
        planned: object = None,
    ) -> list[DomainEvent]:
        who = self.require(pid, Action.AGENDA_EDIT, now)
        item = check_id(item_id, "item")
        events = self.agenda.edit(item, now, title=title, planned=planned, by=who.actor_id)
        return self._agenda(who, Action.AGENDA_EDIT, now, events, change="edit", item=item)

    def agenda_remove(self, pid: str, item_id: object, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.AGENDA_EDIT, now)
        item = check_id(item_id, "item")
        events = self.agenda.remove(item, now, by=who.actor_id)
        return self._agenda(who, Action.AGENDA_EDIT, now, events, change="remove", item=item)

    def agenda_reorder(self, pid: str, order: object, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.AGENDA_EDIT, now)
        if not isinstance(order, list | tuple):
            raise ValidationError(Reason.BAD_FIELD, "order must be a list of item ids")
        ids = [check_id(i, "item") for i in order]
        events = self.agenda.reorder(ids, now, by=who.actor_id)
        return self._agenda(who, Action.AGENDA_EDIT, now, events, change="reorder")

    def agenda_open(self, pid: str, item_id: object, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.AGENDA_ADVANCE, now)
        item = check_id(item_id, "item")
        events = self.agenda.open(item, now, by=who.actor_id)
        return self._agenda(who, Action.AGENDA_ADVANCE, now, events, change="open", item=item)

    def agenda_advance(self, pid: str, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.AGENDA_ADVANCE, now)
        events = self.agenda.advance(now, by=who.actor_id)
        return self._agenda(who, Action.AGENDA_ADVANCE, now, events, change="advance")

    def agenda_close(self, pid: str, now: float) -> list[DomainEvent]:
        who = self.require(pid, Action.AGENDA_ADVANCE, now)
        events = self.agenda.close(now, by=who.actor_id)
        return self._agenda(who, Action.AGENDA_ADVANCE, now, events, change="close")

    # -- sanctions --------------------------------------------------------------------

    def mute(
        self, pid: str, target: str, now: float, *, reason: object = None,
        duration: object = None,
    ) -> list[DomainEvent]:
        """Mute ``target`` in this room (until unmuted, or for ``duration`` seconds); they
        lose the floor and their place in the queue."""
        person = self.person(target)
        who = self.require(pid, Action.MUTE, now, target=person)
        why, seconds = optional_reason(reason), _duration(duration)
        imposed = self.sanctions.impose(
            SanctionKind.MUTE, now, room=self.room, participant=person.pid,
            device=person.device, account=person.account, name=person.name, reason=why,
            by=who.actor_id, duration=seconds,
        )
        return [imposed, *self.floor.leave(person.pid, now, sanctioned=True),
                *self.audited(who, Action.MUTE, now, target=person, reason=why,
                              details={"sanction": imposed.sanction.id, "seconds": seconds})]

    def unmute(self, pid: str, target: str, now: float) -> list[DomainEvent]:
        person = self.person(target)
        who = self.require(pid, Action.UNMUTE, now, target=person)
        record = self.sanctions.find(SanctionKind.MUTE, now, room=self.room,
                                     participant=person.pid, device=person.device,
                                     account=person.account)
        if record is None:
            raise ProcedureError(Reason.WRONG_STATE, f"{person.name} is not muted")
        return [self.sanctions.lift(record.id, now, by=who.actor_id),
                *self.audited(who, Action.UNMUTE, now, target=person,
                              details={"sanction": record.id})]

    def remove(
        self, pid: str, target: str, now: float, *, reason: object = None,
        duration: object = None,
    ) -> list[DomainEvent]:
        """Eject ``target`` from this room and bar re-entry (for the room's removal time,
        or ``duration`` seconds)."""
        return self._eject(SanctionKind.REMOVE, Action.REMOVE, pid, target, now, reason,
                           duration if duration is not None else self.rules.removal_seconds)

    def ban(
        self, pid: str, target: str | None, now: float, *, device: str | None = None,
        name: str = "", reason: object = None, duration: object = None,
    ) -> list[DomainEvent]:
        """Ban ``target`` (present here) or an absent ``device`` from every room, for
        ``duration`` seconds or, without one, until lifted. Account bans (staff) are the
        operator's, from the command line: no role in a room outranks staff."""
        if target is not None:
            return self._eject(SanctionKind.BAN, Action.BAN, pid, target, now, reason,
                               duration)
        who = self.require(pid, Action.BAN, now)
        why = optional_reason(reason)
        imposed = self.sanctions.impose(SanctionKind.BAN, now, room=None, device=device,
                                        name=name, reason=why, by=who.actor_id,
                                        duration=_duration(duration))
        return [imposed, *self.audited(who, Action.BAN, now, reason=why,
                                       details={"sanction": imposed.sanction.id, "name": name})]

    def _eject(
        self, kind: SanctionKind, action: Action, pid: str, target: str, now: float,
        reason: object, duration: object,
    ) -> list[DomainEvent]:
        person = self.person(target)
        who = self.require(pid, action, now, target=person)
        why, seconds = optional_reason(reason), _duration(duration)
        imposed = self.sanctions.impose(
            kind, now, room=self.room, participant=person.pid, device=person.device,
            account=person.account, name=person.name, reason=why, by=who.actor_id,
            duration=seconds,
        )
        cause = "banned" if kind is SanctionKind.BAN else "removed"
        # The person's other seats here (a second tab of the same device, the same staff
        # login) go with them: the sanction is the person's, not one socket's.
        also = [p.pid for p in self.people.values()
                if p.pid != person.pid
                and imposed.sanction.reaches(p.pid, device_ref(p.device), p.account)]
        dropped = [e for pid in [person.pid, *also] for e in self._drop(pid, now, cause)]
        return [imposed, *dropped,
                *self.audited(who, action, now, target=person, reason=why,
                              details={"sanction": imposed.sanction.id, "seconds": seconds})]

    def lift(self, pid: str, sanction_id: object, now: float) -> list[DomainEvent]:
        """Lift a sanction of this room, or a ban (``sanction.unban``), before it expires."""
        # Who may not see the list of sanctions is refused before the id is looked up:
        # otherwise ``forbidden`` for an existing id and ``no_such_item`` for a free one
        # would tell anyone how many sanctions there are (issue 14, #15).
        self.require(pid, Action.SANCTIONS_VIEW, now)
        record = self.sanctions.get(check_id(sanction_id, "sanction"))
        if record.room not in (self.room, None):
            raise ProcedureError(Reason.NO_SUCH_ITEM, f"no sanction {record.id} in {self.room}")
        action = _LIFT_ACTION[SanctionKind(record.kind)]
        who = self.require(pid, action, now)
        lifted = self.sanctions.lift(record.id, now, by=who.actor_id)
        return [lifted, *self.audited(who, action, now, details={
            "sanction": record.id, "kind": record.kind, "name": record.name, "lifted": True})]

    # -- everything else --------------------------------------------------------------

    def authorize(
        self, pid: str, action: Action, now: float, *, target: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> list[DomainEvent]:
        """For actions the server carries out itself (exports, recording, notices,
        invitations, the audit log): raise if refused, else return the audit entry (if
        the action is audited) to persist before doing it."""
        person = None if target is None else self.person(target)
        who = self.require(pid, action, now, target=person)
        return self.audited(who, action, now, target=person, details=details)

    def tick(self, now: float) -> list[DomainEvent]:
        """Time-driven changes: floor expiry and auto-mute, agenda overrun."""
        return [*self.floor.tick(now), *self.agenda.tick(now),
                *self.committee.tick(now, self.rules.absence_grace)]


def authorize_account(
    account: str, name: str, role: Role, action: Action, now: float, *, room: str = "",
    details: Mapping[str, object] | None = None,
) -> list[DomainEvent]:
    """For HTTP calls of a logged-in staff account outside any room (exports, audit log,
    invitations): raise if refused, else return the audit entry to persist, if any."""
    policy.require(role, action)
    if not policy.is_audited(action):
        return []
    return [audit.entry(room, now, actor=account, actor_name=name, actor_role=role,
                        action=action, details=details)]


def _duration(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        0 < value <= MAX_SANCTION_SECONDS
    ):
        raise ValidationError(
            Reason.BAD_FIELD, f"duration must be 1 to {MAX_SANCTION_SECONDS} seconds"
        )
    return float(value)
