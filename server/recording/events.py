"""What of a meeting goes into a recording's event log, and in which words.

:func:`event_line` turns one :class:`DomainEvent` of the meeting core into an event-log
kind and its fields, with what minutes need: who (participant id, display name, role),
what (the event's topic and fields) and when (``at``, Unix seconds; the log adds its own
``t``). What the public does not see live stays out or redacted, as on the wire: a hidden
chat message or opinion is logged by id only, and sanctions and audit entries use the
staff views (no device references or person keys). The lobby is not the room: people
waiting there are not recorded until they are admitted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from moderation.agenda import ItemAdded, ItemOpened, ItemState
from moderation.committee import (
    CommitteeChanged,
    GalleryCounted,
    VoteRecord,
    VoteState,
    committee_plain,
)
from moderation.events import DomainEvent
from moderation.floor import FloorGiven, HandRaised
from moderation.lobby import Place
from moderation.meeting import Meeting
from moderation.roster import Joined, Left
from rooms.model import RoomKind
from server.meetings import views
from server.recording.event_log import EventKind

#: Topic prefix → kind of log line, first match wins (``lobby.`` has none: not recorded).
_KINDS: tuple[tuple[str, EventKind], ...] = (
    ("meeting.joined", EventKind.JOIN),
    ("meeting.place_changed", EventKind.JOIN),
    ("meeting.left", EventKind.LEAVE),
    ("floor.", EventKind.FLOOR),
    ("hand.", EventKind.FLOOR),
    ("agenda.", EventKind.AGENDA),
    ("caption.", EventKind.CAPTION),
    ("chat.reported", EventKind.MODERATION),
    ("chat.report_resolved", EventKind.MODERATION),
    ("chat.", EventKind.CHAT),
    ("poll.", EventKind.POLL),
    ("opinion.", EventKind.OPINION),
    ("question.", EventKind.QUESTION),
    ("sanction.", EventKind.MODERATION),
    ("audit.entry", EventKind.MODERATION),
    ("committee.changed", EventKind.COMMITTEE),
    # The gallery's numbers, every few seconds at most (a visitor's join is a join line).
    ("committee.gallery_count", EventKind.COMMITTEE),
)

#: How far back a logged committee record reaches (seconds): longer than any sitting.
COMMITTEE_LOG_WINDOW = 24 * 3600

#: Participant id → (display name, role) of everyone seen, for people who already left
#: the meeting when their ``meeting.left`` is logged. Filled as events are logged.
Names = dict[str, tuple[str, str]]


def kind_of(topic: str) -> EventKind | None:
    """The log kind for a topic, or None when it is not recorded."""
    return next((kind for prefix, kind in _KINDS if topic.startswith(prefix)), None)


def _who(meeting: Meeting | None, names: Names, pid: object) -> tuple[str, str] | None:
    if not isinstance(pid, str):
        return None
    person = None if meeting is None else meeting.people.get(pid)
    if person is not None:
        names[pid] = (person.name, person.role.value)
    return names.get(pid)


def event_line(
    meeting: Meeting | None, e: DomainEvent, names: Names
) -> tuple[EventKind, dict[str, Any]] | None:
    """The log kind and fields of ``e``, or None when ``e`` is not recorded."""
    kind = kind_of(e.topic)
    if kind is None:
        return None
    if isinstance(e, CommitteeChanged):
        return _committee_line(meeting, e)
    if isinstance(e, GalleryCounted):
        return EventKind.COMMITTEE, {"type": "committee.gallery", "at": e.at, "now": e.now,
                                     "peak": e.peak, "total": e.total}
    if isinstance(e, Left) and e.pid not in names:
        return None  # left the lobby: never in the room
    body: dict[str, Any] | None
    if e.topic in views.PUBLIC_TOPICS:
        body = views.public_event(e)
    else:
        body = views.staff_event(meeting, e)
    body = dict(body if body is not None else e.to_dict())
    body.pop("room", None)
    body["type"] = e.topic
    body["at"] = e.at
    if isinstance(e, Joined):  # one shape for every line about someone: pid, name, role
        if e.person.place == Place.LOBBY.value:
            return None  # logged when admitted (meeting.place_changed)
        body.pop("person", None)
        body.update(pid=e.person.pid, place=e.person.place)
        names[e.person.pid] = (e.person.name, e.person.role)
    for key in ("pid", "by"):
        who = _who(meeting, names, body.get(key))
        if who is not None:
            body[f"{key}_name"], body[f"{key}_role"] = who
    return kind, body


def _committee_line(
    meeting: Meeting | None, e: CommitteeChanged
) -> tuple[EventKind, dict[str, Any]] | None:
    """The committee record after a change (a named ballot being cast is not logged until
    its vote closes: the record would show it), without the gallery's person keys.

    Of the votes and motions, only those the change concerns and those still open: each
    settled vote is logged (with its results by name) by the change that settled it, and
    the minutes gather votes and motions by id across the lines (minutes.py). A line then
    stays well under the log's line limit however many votes a sitting holds (a whole
    record of 40 seats after 60 named votes was 160 KiB, past the 64 KiB limit: refused).
    After a closed session (its lines are not logged) the votes and motions settled since
    it began are logged again, redacted (service.py)."""
    if meeting is None or e.change == "vote_cast":
        return None
    r = meeting.committee.to_record()
    # One sitting lasts less than a day: older history stays out, so that a line stays
    # well under the log's line limit however long the committee has existed.
    since = e.at - COMMITTEE_LOG_WINDOW
    period = r.closed[-1] if e.change == "closed_session" and r.closed else None
    reopened = period.start if period is not None and period.end is not None else None

    def vote_now(v: VoteRecord) -> bool:
        return (v.state in (VoteState.OPEN, VoteState.TIE) or v.id == e.vote
                or (reopened is not None and (v.closed_at or v.opened_at) >= reopened))

    votes = [v for v in r.votes if v.opened_at >= since and vote_now(v)]
    told = {v.motion for v in votes} | {e.motion}
    r = replace(
        r, gallery_keys=(), history=tuple(c for c in r.history if c.at >= since),
        verifications=tuple(v for v in r.verifications
                            if v.ended_at is None or v.ended_at >= since),
        recusals=tuple(x for x in r.recusals if x.lifted_at is None or x.lifted_at >= since),
        motions=tuple(m for m in r.motions if m.outcome is None or m.id in told
                      or (reopened is not None and (m.decided_at or m.at) >= reopened)),
        # The ballots as sent (and when) are not in the minutes: their results are.
        votes=tuple(replace(v, choices=(), cast_at=()) for v in votes),
        quorum_log=tuple(q for q in r.quorum_log if q.at >= since)[-200:],
        # Camera requests (identity:ask): the sitting's, and few enough for one line.
        camera_requests=tuple(x for x in r.camera_requests if x.at >= since)[-200:],
        closed=tuple(c for c in r.closed if c.end is None or c.end >= since))
    record = committee_plain(r)
    return EventKind.COMMITTEE, {"type": "committee.record", "at": e.at, "change": e.change,
                                 "record": record}


def procedure_at_stop(meeting: Meeting | None, now: float) -> list[DomainEvent]:
    """What a recording logs as it stops: the gallery's numbers as they are (they are
    told every few seconds at most, so the last change may not be logged yet)."""
    if meeting is None or meeting.kind is not RoomKind.COMMITTEE:
        return []
    present, peak, total = meeting.committee.gallery_numbers()
    return [GalleryCounted(meeting.room, now, now=present, peak=peak, total=total)]


def attendance(meeting: Meeting, names: Names) -> list[dict[str, Any]]:
    """``join`` lines for everyone in the room when a recording starts (``present``)."""
    lines = []
    for p in meeting.people.values():
        if p.place is Place.LOBBY:
            continue
        names[p.pid] = (p.name, p.role.value)
        lines.append({"type": "meeting.present", "at": p.joined_at, "pid": p.pid,
                      "pid_name": p.name, "pid_role": p.role.value, "place": p.place.value,
                      "console": p.console})
    return lines


def procedure_at_start(meeting: Meeting, now: float) -> list[DomainEvent]:
    """The procedure as it stands when a recording starts, told as the events that brought
    it there: every agenda item (``agenda.added``), the open one (``agenda.opened``), the
    floor holder with their deadline (``floor.given``) and the queue (``hand.raised``).

    A recording started mid-meeting must not say there was no agenda item and nobody
    speaking: the minutes and the replay read these lines exactly as they read live ones,
    so neither needs a second way in. Each keeps its original ``at`` (the items' is
    ``now``); the log's ``t`` is the start of the recording.
    """
    room = meeting.room
    events: list[DomainEvent] = []
    for item in meeting.agenda.items:
        events.append(ItemAdded(room, now, item=item, by=None))
        if item.state == ItemState.OPEN.value and item.opened_at is not None:
            events.append(ItemOpened(room, item.opened_at, item_id=item.id, title=item.title,
                                     planned=item.planned, by=None))
    turn = meeting.floor.turn
    if turn is not None:
        limit = None if turn.deadline is None else turn.deadline - turn.started_at
        events.append(FloorGiven(room, turn.started_at, pid=turn.holder, limit=limit,
                                 deadline=turn.deadline, by=turn.by))
    for position, (pid, raised_at) in enumerate(meeting.floor.waiting(), start=1):
        events.append(HandRaised(room, raised_at, pid=pid, position=position))
    if meeting.kind is RoomKind.COMMITTEE:  # the committee as it stands (roll call...)
        events.append(CommitteeChanged(room, now, change="recording"))
    return events
