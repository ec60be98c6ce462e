"""What a meeting looks like on the wire, for whom.

Everyone in a room sees the floor (speaker, countdown, queue), the agenda, chat, opinions,
questions, polls and captions. Staff also see the lobby, the moderation queue, hidden
items, sanctions, the roster and the audit log. Nothing here ever sends a device token,
an account's secrets or a person key; events for the public are redacted where staff see
more (a hidden chat message goes out as its id only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from moderation import audit, policy
from moderation.agenda import AgendaItem
from moderation.captions import CaptionLine
from moderation.chat import ChatHidden, ChatMessage, ChatReport
from moderation.events import DomainEvent, plain
from moderation.lobby import Place
from moderation.meeting import Meeting
from moderation.opinions import OpinionChanged
from moderation.policy import Action, Context
from moderation.roster import CategoriesChanged, Person
from moderation.sanctions import SanctionRecord
from rooms.model import Role, RoomKind

#: Chat lines and captions a newcomer is sent.
RECENT_CHAT = 50
RECENT_CAPTIONS = 30
#: Topics every participant of the room receives (one at a time, as ``meeting:event``).
PUBLIC_TOPICS = frozenset({
    "chat.posted", "chat.hidden", "chat.restored", "opinion.changed", "question.changed",
    "poll.changed", "caption.posted", "caption.corrected", "meeting.categories",
    # Automatic captions switched on or off (the page labels them 自動字幕).
    "caption.mode",
    # The quorum was met or lost: announced to the whole room (committee:state follows).
    "committee.quorum",
})
#: Committee changes: everyone gets the whole committee:state instead (coalesced).
COMMITTEE_PREFIX = "committee."
#: Topics that change the floor view or the agenda view (sent whole).
FLOOR_PREFIXES = ("floor.", "hand.")
AGENDA_PREFIX = "agenda."
#: What the page offers a participant, asked of the policy for the role and place.
UI_ACTIONS = (
    Action.CHAT_SEND, Action.CHAT_REPORT, Action.HAND_RAISE, Action.HAND_LOWER,
    Action.FLOOR_YIELD, Action.FLOOR_GIVE, Action.FLOOR_NEXT, Action.FLOOR_REVOKE,
    Action.FLOOR_EXTEND, Action.AGENDA_EDIT, Action.AGENDA_ADVANCE, Action.OPINION_SUBMIT,
    Action.OPINION_SUPPORT, Action.QUESTION_ASK, Action.QUESTION_VOTE, Action.QUESTION_ANSWER,
    Action.QUESTION_DISMISS, Action.POLL_CREATE, Action.POLL_VOTE, Action.POLL_CLOSE,
    Action.CAPTION_POST, Action.MUTE, Action.REMOVE, Action.LOBBY_VIEW,
)


def name_of(meeting: Meeting, pid: str | None) -> str:
    person = meeting.people.get(pid or "")
    return person.name if person is not None else ""


def role_of(meeting: Meeting, pid: str | None) -> str:
    """The role shown beside a name (a badge for anyone but a citizen); "" once gone."""
    person = meeting.people.get(pid or "")
    return person.role.value if person is not None else ""


def floor_view(meeting: Meeting, now: float) -> dict[str, object]:
    """The floor as everyone sees it; the client counts down from ``deadline``."""
    v = meeting.floor.view(now)
    turn = meeting.floor.turn
    spoken = meeting.floor.speaking_times()
    return {
        "state": v.state.value, "holder": v.holder, "holder_name": name_of(meeting, v.holder),
        "holder_role": role_of(meeting, v.holder) if v.holder else None,
        "started_at": None if turn is None else turn.started_at,
        "deadline": v.deadline, "grace_ends_at": v.grace_ends_at,
        "queue": [{"pid": pid, "name": name_of(meeting, pid), "role": role_of(meeting, pid)}
                  for pid in v.queue],
        "spoken": [{"pid": pid, "name": name_of(meeting, pid), "role": role_of(meeting, pid),
                    "seconds": round(s, 1)}
                   for pid, s in spoken.items() if pid in meeting.people],
        "server_time": now,
    }


def _item(item: AgendaItem) -> dict[str, object]:
    return {"id": item.id, "title": item.title, "planned": item.planned, "state": item.state,
            "opened_at": item.opened_at, "elapsed": round(item.elapsed, 1),
            "overran": item.overran}


def agenda_view(meeting: Meeting, now: float) -> dict[str, object]:
    current = meeting.agenda.current
    return {"state": meeting.agenda.state.value,
            "current": None if current is None else current.id,
            "items": [_item(i) for i in meeting.agenda.items], "server_time": now}


def message_view(m: ChatMessage, *, staff: bool = False) -> dict[str, object]:
    view: dict[str, object] = {"id": m.id, "author": m.author, "author_name": m.author_name,
                               "author_role": m.author_role, "text": m.text, "at": m.at,
                               "hidden": m.hidden}
    if staff:
        view.update(hidden_by=m.hidden_by, hidden_reason=m.hidden_reason)
    return view


def caption_view(line: CaptionLine) -> dict[str, object]:
    """A caption line as pages (and the recording's event log) get it; an automatic line
    says so, who spoke it and when, and once corrected also what the recogniser said."""
    view: dict[str, object] = {"seq": line.seq, "text": line.text, "at": line.at,
                               "corrected": line.corrected_at is not None}
    if line.auto:
        view.update(auto=True, lang=line.lang, speaker=line.speaker,
                    speaker_name=line.speaker_name, spoken_from=line.spoken_from,
                    spoken_to=line.spoken_to)
        if line.corrected_at is not None:
            view.update(auto_text=line.auto_text, corrected_at=line.corrected_at)
    return view


def captions_mode(meeting: Meeting) -> dict[str, object]:
    """Whether the room's captions are automatic, and in which language."""
    return {"auto": meeting.rules.auto_captions, "lang": meeting.rules.caption_lang}


def categories_view(
    values: Iterable[str], labels: Mapping[str, Mapping[str, str]],
) -> list[object]:
    """A room's opinion categories as the page shows them: ``{"value", "label": {lang:
    text}}`` where staff gave labels (the page picks the reader's language), the plain
    value otherwise (the page translates its built-in defaults itself)."""
    return [{"value": v, "label": dict(labels[v])} if labels.get(v) else v for v in values]


def public_event(e: DomainEvent) -> dict[str, object] | None:
    """The event as a participant receives it, or None if it is not for the public."""
    if e.topic not in PUBLIC_TOPICS:
        return None
    if isinstance(e, CategoriesChanged):
        return {"type": e.topic, "categories": categories_view(e.categories, e.labels)}
    if isinstance(e, ChatHidden):
        return {"type": e.topic, "message": {"id": e.message.id, "hidden": True}}
    if isinstance(e, OpinionChanged) and e.opinion.hidden:
        return {"type": e.topic, "change": e.change,
                "opinion": {"id": e.opinion.id, "hidden": True}}
    body = e.to_dict()
    body.pop("by", None)
    if "message" in body:
        body["message"] = message_view(e.message)  # type: ignore[attr-defined]
    if "line" in body:
        body["line"] = caption_view(e.line)  # type: ignore[attr-defined]
    return body


def sanction_view(r: SanctionRecord) -> dict[str, object]:
    return {"id": r.id, "kind": r.kind, "room": r.room, "participant": r.participant,
            "name": r.name, "reason": r.reason, "by": r.by, "at": r.at,
            "expires_at": r.expires_at, "lifted_at": r.lifted_at, "lifted_by": r.lifted_by}


def report_view(meeting: Meeting, r: ChatReport) -> dict[str, object]:
    try:
        message: dict[str, object] | None = message_view(meeting.chat.message(r.message_id),
                                                         staff=True)
    except Exception:  # the message left the recent window
        message = None
    return {"id": r.id, "message_id": r.message_id, "reporter": r.reporter,
            "reporter_name": name_of(meeting, r.reporter), "reason": r.reason, "at": r.at,
            "state": r.state, "message": message}


def staff_event(meeting: Meeting | None, e: DomainEvent) -> dict[str, object] | None:
    """The event as staff receive it (every event of the room), or None to skip it."""
    body = e.to_dict()
    if e.topic in ("chat.reported", "chat.report_resolved") and meeting is not None:
        body["report"] = report_view(meeting, e.report)  # type: ignore[attr-defined]
    elif e.topic.startswith("sanction."):
        body["sanction"] = sanction_view(e.sanction)  # type: ignore[attr-defined]
    elif e.topic == "audit.entry":
        body = {"type": e.topic, "entry": audit.to_json(e)}  # type: ignore[arg-type]
    elif "message" in body:
        body["message"] = message_view(e.message, staff=True)  # type: ignore[attr-defined]
    elif e.topic.startswith((*FLOOR_PREFIXES, AGENDA_PREFIX, COMMITTEE_PREFIX)):
        return None  # staff get the whole floor, agenda and committee views like everyone
    return body


def role_may(meeting: Meeting, person: Person) -> dict[str, bool]:
    """What the page should offer ``person``: the policy's answer for their role and
    place, regardless of the moment (mute, floor), which the page follows itself."""
    ctx = Context(kind=meeting.kind, gallery=person.place is Place.GALLERY,
                  in_lobby=person.place is Place.LOBBY, target_self=False,
                  holds_floor=True, target_role=Role.CITIZEN)
    out = {a.value: policy.decide(person.role, a, ctx).allowed for a in UI_ACTIONS}
    own = Context(kind=meeting.kind, gallery=person.place is Place.GALLERY, target_self=True)
    out[Action.HAND_LOWER.value] = policy.decide(person.role, Action.HAND_LOWER, own).allowed
    return out


def self_view(meeting: Meeting, person: Person, now: float) -> dict[str, object]:
    key = person.key
    return {
        "pid": person.pid, "name": person.name, "role": person.role.value,
        "place": person.place.value, "muted": meeting.is_muted(person, now),
        "may": role_may(meeting, person),
        "supported": [o.id for o in meeting.opinions.to_records() if key in o.supporters],
        "voted": [q.id for q in meeting.questions.to_records() if key in q.voters],
        "ballots": {str(p.id): list(b) for p in meeting.polls.all_results()
                    if (b := meeting.polls.ballot(p.id, key)) is not None},
        "position": meeting.floor.position(person.pid),
        # The committee member this session is (from its invitation), or None.
        "member": person.member,
    }


def _views(items: Iterable[object]) -> list[object]:
    return [plain(i) for i in items]


def public_state(meeting: Meeting, person: Person, now: float) -> dict[str, object]:
    """Everything a participant needs on entering the meeting of a room."""
    messages = meeting.chat.messages()[-RECENT_CHAT:]
    return {
        "room": meeting.room, "kind": meeting.kind.value, "server_time": now,
        "floor": floor_view(meeting, now), "agenda": agenda_view(meeting, now),
        "chat": [message_view(m) for m in messages],
        "opinions": _views(meeting.opinions.ranked()),
        "questions": _views(meeting.questions.ranked(include_closed=True)),
        "polls": _views(meeting.polls.all_results()),
        "captions": [caption_view(c) for c in meeting.captions.lines()[-RECENT_CAPTIONS:]],
        "captions_mode": captions_mode(meeting),
        "categories": categories_view(meeting.rules.categories, meeting.rules.category_labels),
        "self": self_view(meeting, person, now),
        # Committee rooms: the committee's whole public view, as committee:state sends it.
        "committee": ({"room": meeting.room, **meeting.committee.state()}
                      if meeting.kind is RoomKind.COMMITTEE else None),
    }


def roster(meeting: Meeting, now: float) -> list[dict[str, object]]:
    return [{"pid": p.pid, "name": p.name, "role": p.role.value, "place": p.place.value,
             "console": p.console, "account": p.account, "joined_at": p.joined_at,
             "muted": meeting.is_muted(p, now)} for p in meeting.people.values()]


def staff_state(
    meeting: Meeting, now: float, *, audit_tail: Iterable[audit.AuditEntry],
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """What the staff console adds to the public state."""
    return {
        "lobby": [{**plain(w), "position": i}  # type: ignore[dict-item]
                  for i, w in enumerate(meeting.lobby.waiting(), start=1)],
        "reports": [report_view(meeting, r) for r in meeting.chat.queue()],
        "chat": [message_view(m, staff=True)
                 for m in meeting.chat.messages(include_hidden=True)[-RECENT_CHAT * 2:]],
        "opinions": _views(meeting.opinions.ranked(include_hidden=True)),
        "sanctions": [sanction_view(r) for r in meeting.sanctions.active(now, meeting.room)],
        "people": roster(meeting, now),
        "audit": [audit.to_json(e) for e in audit_tail],
        **(extra or {}),
    }
