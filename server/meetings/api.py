"""Socket events of meetings: each parses its message at the edge, asks the meeting core
(which checks the one permission policy), and commits what happened.

The table :data:`OPERATIONS` maps every event to its message class and one call of the
core; :meth:`MeetingApi.bind` registers them behind the socket guard (rate limit, errors
to acks with reason codes; :mod:`server.sockets.registry`). Views for staff (lobby,
reports, sanctions, participants) ask the policy for their own ``*.view`` action;
``console:join`` enters a staff console.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from moderation.agenda import ItemAdded
from moderation.captions import CaptionCorrected, CaptionPosted
from moderation.chat import ChatPosted, MessageReported
from moderation.committee import CommitteeChanged
from moderation.credentials import (
    MAX_RESIDENT_CODES,
    ResidentCodes,
    new_resident_code,
    resident_code_hash,
)
from moderation.events import DomainEvent
from moderation.floor import HandRaised
from moderation.invitations import issue_invitation
from moderation.meeting import Meeting
from moderation.opinions import OpinionChanged
from moderation.policy import Action
from moderation.polls import PollChanged
from moderation.questions import QuestionChanged
from moderation.sanctions import SanctionImposed
from rooms.errors import HirobaError, ProcedureError, Reason, ValidationError
from rooms.model import Role
from server.meetings import messages as msg
from server.meetings import views
from server.meetings.seats import Seat
from server.meetings.service import MeetingService
from server.meetings.store import resident_code_write
from server.sockets import events as ev
from server.sockets.hub import Session
from server.sockets.registry import Register
from server.staff.store import invitation_write

Ack = dict[str, Any]
Op = Callable[[Meeting, Seat, Any, float], list[DomainEvent]]
#: Default validity of an invitation made from a room (seconds).
DEFAULT_INVITATION_TTL = 7 * 24 * 3600
_ELECTORATES = {"citizens": (Role.CITIZEN,), "members": (Role.MEMBER,),
                "both": (Role.CITIZEN, Role.MEMBER)}


def _poll_create(m: Meeting, s: Seat, x: msg.PollCreate, now: float) -> list[DomainEvent]:
    return m.poll_create(s.pid, x.question, list(x.options), now, multiple=bool(x.multiple),
                         max_choices=x.max_choices,
                         electorate=_ELECTORATES[x.electorate or "citizens"])


# fmt: off
OPERATIONS: tuple[tuple[str, type[msg.Message], Op], ...] = (
    (ev.CHAT_SEND, msg.ChatSend, lambda m, s, x, now: m.chat_send(s.pid, x.text, now)),
    (ev.CHAT_REPORT, msg.ChatReport,
     lambda m, s, x, now: m.chat_report(s.pid, x.message, x.reason, now)),
    (ev.CHAT_HIDE, msg.ChatHide,
     lambda m, s, x, now: m.chat_hide(s.pid, x.message, now, x.reason)),
    (ev.CHAT_RESTORE, msg.ChatRestore,
     lambda m, s, x, now: m.chat_restore(s.pid, x.message, now)),
    (ev.REPORT_DISMISS, msg.ReportDismiss,
     lambda m, s, x, now: m.report_dismiss(s.pid, x.report, now)),
    (ev.HAND_RAISE, msg.Empty, lambda m, s, x, now: m.raise_hand(s.pid, now)),
    (ev.HAND_LOWER, msg.HandLower, lambda m, s, x, now: m.lower_hand(s.pid, now, x.target)),
    (ev.FLOOR_GIVE, msg.FloorGive, lambda m, s, x, now: m.give_floor(
        s.pid, now, x.target, limit=x.limit, unlimited=bool(x.unlimited))),
    (ev.FLOOR_NEXT, msg.FloorNext, lambda m, s, x, now: m.next_speaker(
        s.pid, now, limit=x.limit, unlimited=bool(x.unlimited))),
    (ev.FLOOR_REVOKE, msg.FloorRevoke, lambda m, s, x, now: m.revoke_floor(s.pid, now, x.reason)),
    (ev.FLOOR_YIELD, msg.Empty, lambda m, s, x, now: m.yield_floor(s.pid, now)),
    (ev.FLOOR_EXTEND, msg.FloorExtend, lambda m, s, x, now: m.extend_time(s.pid, x.seconds, now)),
    (ev.AGENDA_ADD, msg.AgendaAdd, lambda m, s, x, now: m.agenda_add(
        s.pid, x.title, x.planned, now, position=x.position)),
    (ev.AGENDA_EDIT, msg.AgendaEdit, lambda m, s, x, now: m.agenda_edit(
        s.pid, x.item, now, title=x.title, planned=x.planned)),
    (ev.AGENDA_REMOVE, msg.AgendaItemRef,
     lambda m, s, x, now: m.agenda_remove(s.pid, x.item, now)),
    (ev.AGENDA_REORDER, msg.AgendaReorder,
     lambda m, s, x, now: m.agenda_reorder(s.pid, list(x.order), now)),
    (ev.AGENDA_OPEN, msg.AgendaItemRef, lambda m, s, x, now: m.agenda_open(s.pid, x.item, now)),
    (ev.AGENDA_ADVANCE, msg.Empty, lambda m, s, x, now: m.agenda_advance(s.pid, now)),
    (ev.AGENDA_CLOSE, msg.Empty, lambda m, s, x, now: m.agenda_close(s.pid, now)),
    (ev.LOBBY_ADMIT, msg.Target, lambda m, s, x, now: m.admit(s.pid, x.target, now)),
    (ev.LOBBY_REFUSE, msg.LobbyRefuse,
     lambda m, s, x, now: m.refuse(s.pid, x.target, now, x.reason)),
    (ev.SANCTION_MUTE, msg.Sanction, lambda m, s, x, now: m.mute(
        s.pid, x.target, now, reason=x.reason, duration=x.duration)),
    (ev.SANCTION_UNMUTE, msg.Target, lambda m, s, x, now: m.unmute(s.pid, x.target, now)),
    (ev.SANCTION_REMOVE, msg.Sanction, lambda m, s, x, now: m.remove(
        s.pid, x.target, now, reason=x.reason, duration=x.duration)),
    (ev.SANCTION_BAN, msg.Sanction, lambda m, s, x, now: m.ban(
        s.pid, x.target, now, reason=x.reason, duration=x.duration)),
    (ev.SANCTION_LIFT, msg.SanctionLift, lambda m, s, x, now: m.lift(s.pid, x.sanction, now)),
    (ev.OPINION_SUBMIT, msg.OpinionSubmit,
     lambda m, s, x, now: m.opinion_submit(s.pid, x.category, x.text, now)),
    (ev.OPINION_SUPPORT, msg.OpinionRef,
     lambda m, s, x, now: m.opinion_support(s.pid, x.opinion, now)),
    (ev.OPINION_WITHDRAW, msg.OpinionRef,
     lambda m, s, x, now: m.opinion_withdraw(s.pid, x.opinion, now)),
    (ev.OPINION_MARK, msg.OpinionMark,
     lambda m, s, x, now: m.opinion_mark(s.pid, x.opinion, x.status, now)),
    (ev.OPINION_MERGE, msg.OpinionMerge,
     lambda m, s, x, now: m.opinion_merge(s.pid, x.source, x.target, now)),
    (ev.OPINION_RESPOND, msg.OpinionRespond,
     lambda m, s, x, now: m.opinion_respond(s.pid, x.opinion, x.text, now)),
    (ev.OPINION_HIDE, msg.OpinionHide,
     lambda m, s, x, now: m.opinion_hide(s.pid, x.opinion, x.hidden, now, x.reason)),
    (ev.QUESTION_ASK, msg.QuestionAsk, lambda m, s, x, now: m.question_ask(s.pid, x.text, now)),
    (ev.QUESTION_VOTE, msg.QuestionVote, lambda m, s, x, now: m.question_vote(
        s.pid, x.question, now, withdraw=bool(x.withdraw))),
    (ev.QUESTION_ANSWER, msg.QuestionAnswer,
     lambda m, s, x, now: m.question_answer(s.pid, x.question, now, x.text)),
    (ev.QUESTION_DISMISS, msg.QuestionDismiss,
     lambda m, s, x, now: m.question_dismiss(s.pid, x.question, now, x.reason)),
    (ev.POLL_CREATE, msg.PollCreate, _poll_create),
    (ev.POLL_VOTE, msg.PollVote,
     lambda m, s, x, now: m.poll_vote(s.pid, x.poll, list(x.choices), now)),
    (ev.POLL_CLOSE, msg.PollRef, lambda m, s, x, now: m.poll_close(s.pid, x.poll, now)),
    (ev.CAPTION_POST, msg.CaptionPost, lambda m, s, x, now: m.caption_post(s.pid, x.text, now)),
    (ev.CAPTION_CORRECT, msg.CaptionCorrect,
     lambda m, s, x, now: m.caption_correct(s.pid, x.text, now, x.seq)),
)
# fmt: on

# fmt: off
#: The committee procedure (issue 16): like :data:`OPERATIONS`, with the policy action a
#: refusal is audited under (every refusal of a committee action is audited).
COMMITTEE_OPERATIONS: tuple[tuple[str, type[msg.Message], Op, Action], ...] = (
    (ev.COMMITTEE_ROLLCALL, msg.CommitteeRollcall,
     lambda m, s, x, now: m.committee_rollcall(s.pid, x.open, now), Action.COMMITTEE_ROLLCALL),
    (ev.COMMITTEE_PRESENT, msg.Empty,
     lambda m, s, x, now: m.committee_present(s.pid, now), Action.COMMITTEE_PRESENT),
    (ev.COMMITTEE_ATTENDANCE, msg.CommitteeAttendance, lambda m, s, x, now:
     m.committee_attendance(s.pid, x.member, x.status, x.reason, now),
     Action.COMMITTEE_ATTENDANCE),
    (ev.COMMITTEE_VERIFY, msg.CommitteeVerify, lambda m, s, x, now:
     m.committee_verify(s.pid, x.member, x.method, x.reason, now), Action.COMMITTEE_VERIFY),
    (ev.COMMITTEE_RECUSE, msg.CommitteeRecuse, lambda m, s, x, now:
     m.committee_recuse(s.pid, x.member, x.motion, x.recused, x.reason, now),
     Action.COMMITTEE_RECUSE),
    (ev.COMMITTEE_MOTION, msg.CommitteeMotion, lambda m, s, x, now: m.committee_motion(
        s.pid, x.title, now, agenda_item=x.agenda_item, amends=x.amends),
     Action.COMMITTEE_MOTION),
    (ev.COMMITTEE_CLOSED_SESSION, msg.CommitteeClosedSession, lambda m, s, x, now:
     m.committee_closed_session(s.pid, x.closed, x.reason, now),
     Action.COMMITTEE_CLOSED_SESSION),
    (ev.COMMITTEE_VOTE_OPEN, msg.VoteOpen,
     lambda m, s, x, now: m.vote_open(s.pid, x.motion, x.method, now), Action.VOTE_OPEN),
    (ev.COMMITTEE_VOTE_CLOSE, msg.VoteRef,
     lambda m, s, x, now: m.vote_close(s.pid, x.vote, now), Action.VOTE_CLOSE),
    (ev.COMMITTEE_DECIDE, msg.VoteDecide,
     lambda m, s, x, now: m.vote_decide(s.pid, x.vote, x.outcome, now), Action.VOTE_DECIDE),
    (ev.COMMITTEE_VOTE_RERUN, msg.VoteRerun,
     lambda m, s, x, now: m.vote_rerun(s.pid, x.vote, x.reason, now), Action.VOTE_RERUN),
    (ev.IDENTITY_ASK, msg.IdentityAsk,
     lambda m, s, x, now: m.identity_ask(s.pid, x.member, now), Action.IDENTITY_ASK),
)
# fmt: on


def ack_details(happened: Sequence[DomainEvent]) -> Ack:
    """What the actor learns besides ``ok``: the id of what they made, their position."""
    for e in happened:
        if isinstance(e, ChatPosted):
            return {"message": e.message.id}
        if isinstance(e, MessageReported):
            return {"report": e.report.id}
        if isinstance(e, HandRaised):
            return {"position": e.position}
        if isinstance(e, OpinionChanged) and e.change == "submitted":
            return {"opinion": e.opinion.id}
        if isinstance(e, QuestionChanged) and e.change == "asked":
            return {"question": e.question.id}
        if isinstance(e, PollChanged) and e.change == "opened":
            return {"poll": e.poll.id}
        if isinstance(e, ItemAdded):
            return {"item": e.item.id}
        if isinstance(e, SanctionImposed):
            return {"sanction": e.sanction.id}
        if isinstance(e, CaptionPosted | CaptionCorrected):
            return {"seq": e.line.seq}
        if isinstance(e, CommitteeChanged) and e.change == "motion":
            return {"motion": e.motion}
        if isinstance(e, CommitteeChanged) and e.change == "vote_opened":
            return {"vote": e.vote}
    return {}


class MeetingApi:
    """The meeting events of the socket server."""

    def __init__(self, service: MeetingService) -> None:
        self.service = service

    def bind(self, register: Register) -> None:
        """Register every meeting event behind the guard."""
        for event, message, op in OPERATIONS:
            register(event, self._operation(message, op))
        for event, message, op, action in COMMITTEE_OPERATIONS:
            register(event, self._operation(message, op, refusals=action, event=event))
        # A ballot carries whether the member's identity camera is live now, which only
        # the service knows (the identity plane tells it): not a table entry.
        register(ev.COMMITTEE_VOTE_CAST, self._operation(
            msg.VoteCast, self._vote_cast, refusals=Action.VOTE_CAST,
            event=ev.COMMITTEE_VOTE_CAST))
        register(ev.CONSOLE_JOIN, self.console_join)
        register(ev.INVITE_CREATE, self.invite)
        register(ev.RESIDENT_CODES, self.resident_codes)
        register(ev.LOBBY_LIST, self._view(Action.LOBBY_VIEW, lambda m, now: {
            "lobby": [{"pid": w.pid, "name": w.name, "role": w.role, "since": w.since}
                      for w in m.lobby.waiting()]}))
        register(ev.REPORTS_LIST, self._view(Action.REPORTS_VIEW, lambda m, now: {
            "reports": [views.report_view(m, r) for r in m.chat.queue()]}))
        register(ev.SANCTIONS_LIST, self._view(Action.SANCTIONS_VIEW, lambda m, now: {
            "sanctions": [views.sanction_view(r) for r in m.sanctions.active(now, m.room)]}))
        register(ev.PARTICIPANTS_LIST, self._view(Action.TRACKING_VIEW, self._participants))

    def _operation(
        self, message: type[msg.Message], op: Op, *, refusals: Action | None = None,
        event: str = "",
    ) -> Callable[..., Any]:
        async def handle(session: Session, payload: object) -> Ack:
            try:
                parsed = message.parse(payload)
            except HirobaError as refused:
                # A malformed committee payload (a forged vote...) is a refusal too, kept
                # when the sender is seated somewhere; the shape's checks come first.
                seat = self.service.seats.get(session.sid)
                if refusals is not None and seat is not None:
                    await self._refused(seat.room, seat.pid, refusals, refused, event)
                raise
            seat, meeting = await self.service.acting(session)
            voter = meeting.person(seat.pid).key
            now = self.service.clock()
            try:
                happened = op(meeting, seat, parsed, now)
            except HirobaError as refused:
                if refusals is not None:
                    # Every refusal of a committee action is kept, with who and why.
                    await self._refused(seat.room, seat.pid, refusals, refused, event)
                raise
            await self.service.commit(seat.room, happened, voter=voter)
            return {"ok": True, **ack_details(happened)}

        return handle

    def _vote_cast(self, m: Meeting, s: Seat, x: msg.VoteCast, now: float) -> list[DomainEvent]:
        return m.vote_cast(s.pid, x.vote, x.choice, now, member=x.member,
                           camera=self.service.member_on_camera(m, s.pid))

    async def _refused(self, room: str, pid: str, action: Action, refused: HirobaError,
                       event: str) -> None:
        meeting = self.service.meetings.get(room)
        if meeting is not None:
            await self.service.commit(room, meeting.refusal(
                pid, action, refused.reason, self.service.clock(), event=event))

    def _view(
        self, action: Action, build: Callable[[Meeting, float], Ack]
    ) -> Callable[..., Any]:
        async def handle(session: Session, payload: object) -> Ack:
            msg.Empty.parse(payload)
            seat, meeting = await self.service.acting(session)
            now = self.service.clock()
            meeting.authorize(seat.pid, action, now)
            return {"ok": True, **build(meeting, now)}

        return handle

    def _participants(self, meeting: Meeting, now: float) -> Ack:
        room = self.service.hub.rooms.get(meeting.room)
        avatars = {} if room is None else {p.id: p.to_wire() for p in room.participants.values()}
        people = views.roster(meeting, now)
        for p in people:
            avatar = avatars.get(str(p["pid"]))
            p["tracking"] = avatar.get("tracking") if avatar else None
            p["tracking_reason"] = avatar.get("tracking_reason") if avatar else None
        return {"people": people}

    async def console_join(self, session: Session, payload: object) -> Ack:
        parsed = msg.ConsoleJoin.parse(payload)
        return await self.service.console_join(session, parsed.room)

    async def invite(self, session: Session, payload: object) -> Ack:
        """Make a single-use invitation to the seat's room (``invite.create``)."""
        parsed = msg.InviteCreate.parse(payload)
        seat, meeting = await self.service.acting(session)
        now = self.service.clock()
        ttl = parsed.ttl or DEFAULT_INVITATION_TTL
        entries = meeting.authorize(seat.pid, Action.INVITE, now,
                                    details={"role": parsed.role, "name": parsed.name or ""})
        token, invitation = issue_invitation(
            self.service.secret, seat.room, Role(parsed.role), parsed.name, now, ttl,
            issued_by=seat.account or seat.pid)
        await self.service.commit(seat.room, entries, extra_writes=[invitation_write(invitation)])
        await self.service.committee_roster_changed(seat.room)
        return {"ok": True, "token": token, "token_id": invitation.token_id,
                "expires_at": invitation.expires_at,
                "path": "/?" + urlencode({"room": seat.room, "token": token})}

    async def resident_codes(self, session: Session, payload: object) -> Ack:
        """Issue per-resident single-use codes for the seat's room (``{"count": n}``,
        1..500), or stop requiring them (``{"clear": true}``). Staff only (the policy's
        ``invite``), audited. The codes are returned once, to be printed or mailed; only
        their hashes are stored."""
        if not isinstance(payload, dict) or set(payload) - {"count", "clear"}:
            raise ValidationError(Reason.BAD_PAYLOAD, "expected {count} or {clear: true}")
        clear, count = payload.get("clear") is True, payload.get("count", 0)
        if isinstance(count, bool) or not isinstance(count, int) or not (
                (clear and count == 0) or 1 <= count <= MAX_RESIDENT_CODES):
            raise ValidationError(Reason.BAD_FIELD,
                                  f"count must be 1 to {MAX_RESIDENT_CODES} (or clear: true)")
        seat, meeting = await self.service.acting(session)
        now = self.service.clock()
        entries = meeting.authorize(seat.pid, Action.INVITE, now,
                                    details={"resident_codes": "clear" if clear else count})
        if meeting.rules.registration_code is not None and not clear:
            raise ProcedureError(Reason.WRONG_STATE, "this room has a shared registration "
                                 "code: clear it before issuing personal codes")
        service, room = self.service, seat.room
        if clear:
            await service.records.clear_resident_codes(room)
            service.resident_codes.pop(room, None)
            await service.commit(room, entries)
            return {"ok": True, "codes": [], "unused": 0}
        codes = [new_resident_code() for _ in range(count)]
        held = service.resident_codes.setdefault(room, ResidentCodes(room))
        writes = []
        for code in codes:
            code_hash = resident_code_hash(room, code)
            held.add(code_hash)
            writes.append(resident_code_write(room, code_hash, seat.account or seat.pid, now))
        await service.commit(room, entries, extra_writes=writes)
        return {"ok": True, "codes": codes, "unused": held.unused}

