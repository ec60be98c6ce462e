"""The committee procedure behind the permission policy: part of
:class:`moderation.meeting.Meeting`.

Each operation names its actor by participant id; the member a participant *is* comes from
the invitation they joined with (:attr:`Person.member`), never from a payload. The policy
is asked first (a citizen answering or voting is ``forbidden``); a participant of a member's
role who is not on the roster (invited without a fixed name) is then ``not_member``. Only rooms of
kind ``committee`` hold a committee procedure (``wrong_state`` elsewhere). Refusals of
votes and answers are audited too: :meth:`CommitteeOps.refusal` builds the entry the server
stores before it answers with the reason.
"""

from __future__ import annotations

from moderation import audit
from moderation.agenda import Agenda
from moderation.committee import CameraAsked, Committee
from moderation.events import DomainEvent
from moderation.floor import EndCause, LowerCause
from moderation.limits import check_id
from moderation.lobby import Place
from moderation.policy import Action
from moderation.roster import MeetingBase, Person
from rooms.errors import PermissionDenied, ProcedureError, Reason
from rooms.model import Role, RoomKind

#: Who stays in a closed session (秘密会): the committee's members and chair, and the
#: secretariat. Everyone else in the room (citizens, the gallery, observers and press,
#: captioners) is held out of it.
INSIDE = frozenset({Role.CHAIR, Role.MEMBER, Role.STAFF})


class CommitteeOps(MeetingBase):
    """Roll call, identity marks, quorum, recusal, motions, votes, closed sessions."""

    committee: Committee
    agenda: Agenda

    def held_out(self, p: Person) -> bool:
        """Held out of the closed session the committee sits in now: the policy refuses
        them everything but what the lobby allows (``closed_session``)."""
        return (self.kind is RoomKind.COMMITTEE and p.role not in INSIDE
                and self.committee.in_closed_session() is not None)

    def _committee(self, pid: str, action: Action, now: float) -> Person:
        if self.kind is not RoomKind.COMMITTEE:
            raise ProcedureError(Reason.WRONG_STATE, "this room is not a committee")
        return self.require(pid, action, now)

    def _done(self, who: Person, action: Action, now: float, events: list[DomainEvent],
              *, reason: str = "", **details: object) -> list[DomainEvent]:
        return [*events, *self.audited(who, action, now, reason=reason, details=details)]

    def _own_member(self, who: Person) -> str:
        if who.member is None or who.member not in self.committee.members:
            raise ProcedureError(Reason.NOT_MEMBER, "you did not join as a committee member")
        return who.member

    def committee_rollcall(self, pid: str, open_: bool, now: float) -> list[DomainEvent]:
        who = self._committee(pid, Action.COMMITTEE_ROLLCALL, now)
        events = self.committee.open_rollcall(open_, now, by=who.actor_id)
        return self._done(who, Action.COMMITTEE_ROLLCALL, now, events, open=open_)

    def committee_present(self, pid: str, now: float) -> list[DomainEvent]:
        """A member answers the roll call from their own session."""
        who = self._committee(pid, Action.COMMITTEE_PRESENT, now)
        return self.committee.answer(self._own_member(who), now)

    def committee_attendance(self, pid: str, member: object, status: object, reason: object,
                             now: float) -> list[DomainEvent]:
        who = self._committee(pid, Action.COMMITTEE_ATTENDANCE, now)
        events = self.committee.correct(member, status, reason, now, by=who.actor_id)
        return self._done(who, Action.COMMITTEE_ATTENDANCE, now, events,
                          reason=str(reason or ""), member=member, status=status)

    def committee_verify(self, pid: str, member: object, method: object, reason: object,
                         now: float) -> list[DomainEvent]:
        who = self._committee(pid, Action.COMMITTEE_VERIFY, now)
        events = self.committee.verify(member, method, reason, now, by=who.actor_id)
        return self._done(who, Action.COMMITTEE_VERIFY, now, events, reason=str(reason or ""),
                          member=member, method=method)

    def committee_recuse(self, pid: str, member: object, motion: object, recused: bool,
                         reason: object, now: float) -> list[DomainEvent]:
        who = self._committee(pid, Action.COMMITTEE_RECUSE, now)
        item = check_id(motion, "motion")
        events = self.committee.recuse(member, item, recused, reason, now, by=who.actor_id)
        return self._done(who, Action.COMMITTEE_RECUSE, now, events, reason=str(reason or ""),
                          member=member, motion=item, recused=recused)

    def committee_motion(self, pid: str, title: object, now: float, *,
                         agenda_item: object = None, amends: object = None) -> list[DomainEvent]:
        who = self._committee(pid, Action.COMMITTEE_MOTION, now)
        item = None if agenda_item is None else check_id(agenda_item, "agenda_item")
        if item is not None:
            self.agenda._index(item)  # no_such_item if the agenda has none
        original = None if amends is None else check_id(amends, "amends")
        events = self.committee.propose(title, now, by=who.actor_id, agenda_item=item,
                                        amends=original)
        return self._done(who, Action.COMMITTEE_MOTION, now, events,
                          motion=events[0].motion, amends=original)  # type: ignore[attr-defined]

    def committee_closed_session(self, pid: str, closed: bool, reason: object,
                                 now: float) -> list[DomainEvent]:
        who = self._committee(pid, Action.COMMITTEE_CLOSED_SESSION, now)
        events = self.committee.closed_session(closed, reason, now, by=who.actor_id)
        # Whoever is held out leaves the hand queue and the floor as it closes (their
        # voice must not reach the members), recorded like any floor end and placed
        # before the closing so that the public record still holds it.
        floor: list[DomainEvent] = []
        for p in [p for p in self.people.values() if closed and self.held_out(p)]:
            if p.pid in self.floor.queue:
                floor += self.floor.lower_hand(p.pid, now, by=who.actor_id,
                                               cause=LowerCause.CLOSED_SESSION)
            if p.pid == self.floor.holder:
                floor += self.floor.revoke(now, by=who.actor_id, cause=EndCause.CLOSED_SESSION)
        return self._done(who, Action.COMMITTEE_CLOSED_SESSION, now, [*floor, *events],
                          reason=str(reason or ""), closed=closed)

    def vote_open(self, pid: str, motion: object, method: object,
                  now: float) -> list[DomainEvent]:
        who = self._committee(pid, Action.VOTE_OPEN, now)
        events = self.committee.open_vote(check_id(motion, "motion"), method, now,
                                          by=who.actor_id)
        return self._done(who, Action.VOTE_OPEN, now, events, motion=motion, method=method)

    def vote_cast(self, pid: str, vote: object, choice: object, now: float, *,
                  member: object = None, camera: bool = False) -> list[DomainEvent]:
        """A member's own vote. A payload naming any member but the sender is refused
        ``forbidden``: one votes only for oneself. ``camera``: whether the server sees the
        member's identity camera live now (never from a payload); kept with the ballot,
        and required when the committee's rule says so (``camera_required``)."""
        who = self._committee(pid, Action.VOTE_CAST, now)
        own = self._own_member(who)
        if member is not None and member != own:
            raise PermissionDenied(Reason.FORBIDDEN, "one votes only for oneself")
        return self.committee.cast(own, check_id(vote, "vote"), choice, now, camera=camera)

    def identity_ask(self, pid: str, member: object, now: float) -> list[DomainEvent]:
        """The chair or staff ask a connected member to turn on their identity camera:
        recorded (a verification requested), audited, and told to that member's own
        sessions (:class:`CameraAsked`)."""
        who = self._committee(pid, Action.IDENTITY_ASK, now)
        events = self.committee.ask_camera(member, now, by=who.actor_id)
        events.append(CameraAsked(self.room, now, member=str(member), by_name=who.name))
        return self._done(who, Action.IDENTITY_ASK, now, events, member=member)

    def vote_close(self, pid: str, vote: object, now: float) -> list[DomainEvent]:
        who = self._committee(pid, Action.VOTE_CLOSE, now)
        item = check_id(vote, "vote")
        return self._done(who, Action.VOTE_CLOSE, now,
                          self.committee.close_vote(item, now, by=who.actor_id), vote=item)

    def vote_decide(self, pid: str, vote: object, outcome: object,
                    now: float) -> list[DomainEvent]:
        who = self._committee(pid, Action.VOTE_DECIDE, now)
        item = check_id(vote, "vote")
        return self._done(who, Action.VOTE_DECIDE, now,
                          self.committee.decide(item, outcome, now, by=who.actor_id),
                          vote=item, outcome=outcome)

    def vote_rerun(self, pid: str, vote: object, reason: object,
                   now: float) -> list[DomainEvent]:
        who = self._committee(pid, Action.VOTE_RERUN, now)
        item = check_id(vote, "vote")
        return self._done(who, Action.VOTE_RERUN, now,
                          self.committee.rerun(item, reason, now, by=who.actor_id),
                          reason=str(reason or ""), vote=item)

    def refusal(self, pid: str, action: Action, reason: Reason, now: float,
                **details: object) -> list[DomainEvent]:
        """The audit entry of a refused committee action (every refusal is audited)."""
        who = self.people.get(pid)
        if who is None:
            return []
        return [audit.entry(self.room, now, actor=who.actor_id, actor_name=who.name,
                            actor_role=who.role, action=action, reason=reason.value,
                            details={"refused": reason.value, "member": who.member or "",
                                     **details})]

    # -- presence (called by join / leave / tick) ------------------------------------------

    def committee_arrive(self, person: Person, now: float) -> list[DomainEvent]:
        if self.kind is not RoomKind.COMMITTEE or person.console:
            return []
        if person.member is not None:
            return self.committee.arrive(person.member, person.pid, now, name=person.name,
                                         role=person.role.value)
        if person.role is Role.CITIZEN or person.place is Place.GALLERY:
            return self.committee.arrive(None, person.pid, now, gallery_key=person.key)
        return []
