"""Persistence of meetings: what the events of a meeting change in SQLite, and loading a
meeting back at start.

:func:`writes_for` is pure: it turns the events one operation returned into SQL
statements (upserts of the records that changed, an append to the audit log, attendance).
:class:`MeetingStore` runs them in one transaction on the store's thread, so the event
loop never waits on the disk and one operation is stored entirely or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from moderation import captions as captions_mod
from moderation import chat as chat_mod
from moderation import committee as committee_mod
from moderation.agenda import AgendaItem
from moderation.audit import AuditEntry
from moderation.captions import CaptionCorrected, CaptionLine, CaptionPosted
from moderation.chat import (
    ChatHidden,
    ChatMessage,
    ChatPosted,
    ChatReport,
    ChatRestored,
    MessageReported,
    ReportResolved,
)
from moderation.committee import (
    CommitteeChanged,
    CommitteeRecord,
    GallerySittingBegun,
    GalleryVisited,
    QuorumChanged,
)
from moderation.events import DomainEvent
from moderation.floor import FloorRecord
from moderation.lobby import LobbyEntered, LobbyLeft, Waiter
from moderation.meeting import Meeting, MeetingRecords
from moderation.opinions import Opinion, OpinionChanged
from moderation.polls import PollChanged, PollRecord
from moderation.questions import Question, QuestionChanged
from moderation.quorum import QuorumCount, QuorumRule
from moderation.roster import Joined, Left, PlaceChanged, Schedule
from moderation.sanctions import SanctionImposed, SanctionLifted, SanctionRecord
from server.storage.records import from_json, from_json_nested, to_json
from server.storage.store import SQLiteStore

#: One SQL statement and its parameters.
Write = tuple[str, tuple[object, ...]]


class Deferred:
    """A parameter computed on the store's thread when the write runs, not on the event
    loop when the write is made: the committee's JSON (tens of KiB after a long sitting)
    is built there from an immutable snapshot of its record."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], object]) -> None:
        self.make = make

    def __call__(self) -> object:
        return self.make()


def _bound(params: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(p() if isinstance(p, Deferred) else p for p in params)

_UPSERT_FLOOR = (
    "INSERT INTO floors (room_id, body) VALUES (?, ?)"
    " ON CONFLICT (room_id) DO UPDATE SET body = excluded.body"
)
_UPSERT_MESSAGE = (
    "INSERT INTO chat_messages (room_id, id, at, hidden, body) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (room_id, id) DO UPDATE SET hidden = excluded.hidden, body = excluded.body"
)
_UPSERT_REPORT = (
    "INSERT INTO chat_reports (room_id, id, message_id, state, body) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (room_id, id) DO UPDATE SET state = excluded.state, body = excluded.body"
)
_UPSERT_ITEM = (
    "INSERT INTO {table} (room_id, id, body) VALUES (?, ?, ?)"
    " ON CONFLICT (room_id, id) DO UPDATE SET body = excluded.body"
)
_UPSERT_BALLOT = (
    "INSERT INTO ballots (room_id, poll_id, person, choices, at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (room_id, poll_id, person) DO UPDATE"
    " SET choices = excluded.choices, at = excluded.at"
)
_UPSERT_CAPTION = (
    "INSERT INTO captions (room_id, seq, at, body) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (room_id, seq) DO UPDATE SET body = excluded.body"
)
_UPSERT_SANCTION = (
    "INSERT INTO sanctions (id, kind, room_id, at, expires_at, lifted_at, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET lifted_at = excluded.lifted_at, body = excluded.body"
)
_UPSERT_COMMITTEE = (
    "INSERT INTO committees (room_id, body) VALUES (?, ?)"
    " ON CONFLICT (room_id) DO UPDATE SET body = excluded.body"
)
_INSERT_GALLERY_KEY = (
    "INSERT OR IGNORE INTO committee_gallery_keys (room_id, key) VALUES (?, ?)"
)
_UPSERT_GALLERY = (
    "INSERT INTO committee_gallery (room_id, peak, total) VALUES (?, ?, ?)"
    " ON CONFLICT (room_id) DO UPDATE SET peak = MAX(peak, excluded.peak),"
    " total = MAX(total, excluded.total)"
)
_RESET_GALLERY = (
    "INSERT INTO committee_gallery (room_id, peak, total) VALUES (?, ?, ?)"
    " ON CONFLICT (room_id) DO UPDATE SET peak = excluded.peak, total = excluded.total"
)
_UPSERT_COMMITTEE_BALLOT = (
    "INSERT INTO committee_ballots (room_id, vote, member, choice, at, camera)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (room_id, vote, member) DO UPDATE"
    " SET choice = excluded.choice, at = excluded.at, camera = excluded.camera"
)
_INSERT_AUDIT = (
    "INSERT INTO audit_log (at, room_id, actor, action, body) VALUES (?, ?, ?, ?, ?)"
)


def audit_write(entry: AuditEntry) -> Write:
    return (_INSERT_AUDIT, (entry.at, entry.room, entry.actor, entry.action, to_json(entry)))


def sanction_write(record: SanctionRecord) -> Write:
    return (_UPSERT_SANCTION, (record.id, record.kind, record.room, record.at,
                               record.expires_at, record.lifted_at, to_json(record)))


def _agenda_writes(meeting: Meeting) -> list[Write]:
    room = meeting.room
    out: list[Write] = [("DELETE FROM agenda_items WHERE room_id = ?", (room,))]
    for position, item in enumerate(meeting.agenda.to_records()):
        out.append(("INSERT INTO agenda_items (room_id, id, position, body) VALUES (?, ?, ?, ?)",
                    (room, item.id, position, to_json(item))))
    return out


def _poll_writes(meeting: Meeting, e: PollChanged, voter: str | None) -> list[Write]:
    room, poll_id = meeting.room, e.poll.id
    out: list[Write] = [(_UPSERT_ITEM.format(table="polls"),
                         (room, poll_id, to_json(meeting.polls.record(poll_id))))]
    if e.change == "voted" and voter is not None:
        choices = meeting.polls.ballot(poll_id, voter)
        if choices is not None:
            out.append((_UPSERT_BALLOT, (room, poll_id, voter, json.dumps(list(choices)), e.at)))
    return out


def _presence_writes(room: str, e: DomainEvent) -> list[Write]:
    if isinstance(e, Joined):
        p = e.person
        return [("INSERT INTO attendance (room_id, pid, name, role, place, joined_at)"
                 " VALUES (?, ?, ?, ?, ?, ?)", (room, p.pid, p.name, p.role, p.place, e.at))]
    if isinstance(e, Left):
        return [("UPDATE attendance SET left_at = ?, cause = ?"
                 " WHERE room_id = ? AND pid = ? AND left_at IS NULL",
                 (e.at, e.cause, room, e.pid))]
    if isinstance(e, PlaceChanged):
        return [("UPDATE attendance SET place = ?"
                 " WHERE room_id = ? AND pid = ? AND left_at IS NULL", (e.place, room, e.pid))]
    return []


def writes_for(
    meeting: Meeting | None, events: Sequence[DomainEvent], *, voter: str | None = None
) -> list[Write]:
    """The SQL that stores what ``events`` changed. ``meeting`` is where they happened
    (None for server-wide events: sanction expiry, HTTP actions outside a room);
    ``voter`` is the person key of whoever acted, for ballots."""
    out: list[Write] = []
    floor = agenda = committee = False
    ballots: list[CommitteeChanged] = []
    for e in events:
        if isinstance(e, AuditEntry):
            out.append(audit_write(e))
        elif isinstance(e, SanctionImposed | SanctionLifted):
            out.append(sanction_write(e.sanction))
        elif meeting is None:
            continue
        elif e.topic.startswith(("floor.", "hand.")):
            floor = True
        elif e.topic.startswith("agenda."):
            agenda = True
        elif isinstance(e, CommitteeChanged) and e.change == "vote_cast":
            ballots.append(e)
        elif isinstance(e, CommitteeChanged | QuorumChanged):
            committee = True
        elif isinstance(e, GalleryVisited):
            # A gallery join: two small rows in the join's own transaction, never the
            # committee's record (thousands come and go; the procedure did not change).
            if e.key is not None:
                out.append((_INSERT_GALLERY_KEY, (e.room, e.key)))
            out.append((_UPSERT_GALLERY, (e.room, e.peak, e.total)))
        elif isinstance(e, GallerySittingBegun):
            # A new sitting: the visitors and counts start again from those present (the
            # record written below carries the same numbers; a load takes the larger).
            out.append(("DELETE FROM committee_gallery_keys WHERE room_id = ?", (e.room,)))
            out += [(_INSERT_GALLERY_KEY, (e.room, key)) for key in e.keys]
            out.append((_RESET_GALLERY, (e.room, e.peak, e.total)))
            committee = True
        elif isinstance(e, ChatPosted | ChatHidden | ChatRestored):
            m = e.message
            out.append((_UPSERT_MESSAGE, (m.room, m.id, m.at, int(m.hidden), to_json(m))))
        elif isinstance(e, MessageReported | ReportResolved):
            r = e.report
            out.append((_UPSERT_REPORT, (r.room, r.id, r.message_id, r.state, to_json(r))))
        elif isinstance(e, OpinionChanged):
            o = meeting.opinions.get(e.opinion.id)
            out.append((_UPSERT_ITEM.format(table="opinions"), (o.room, o.id, to_json(o))))
        elif isinstance(e, QuestionChanged):
            q = meeting.questions.get(e.question.id)
            out.append((_UPSERT_ITEM.format(table="questions"), (q.room, q.id, to_json(q))))
        elif isinstance(e, PollChanged):
            out += _poll_writes(meeting, e, voter)
        elif isinstance(e, CaptionPosted | CaptionCorrected):
            line = e.line
            out.append((_UPSERT_CAPTION, (line.room, line.seq, line.at, to_json(line))))
        elif isinstance(e, LobbyEntered):
            w = e.waiter
            out.append(("INSERT OR REPLACE INTO lobby_waiters (room_id, pid, since, body)"
                        " VALUES (?, ?, ?, ?)", (meeting.room, w.pid, w.since, to_json(w))))
        elif isinstance(e, LobbyLeft):
            out.append(("DELETE FROM lobby_waiters WHERE room_id = ? AND pid = ?",
                        (meeting.room, e.pid)))
        else:
            out += _presence_writes(meeting.room, e)
    if meeting is not None and floor:
        out.append((_UPSERT_FLOOR, (meeting.room, to_json(meeting.floor.to_record()))))
    if meeting is not None and agenda:
        out += _agenda_writes(meeting)
    if meeting is not None and ballots and not committee:
        # A ballot alone: its own row (the record written at the next change holds it too).
        out += _ballot_writes(meeting, ballots)
    elif ballots:
        committee = True
    if meeting is not None and committee:
        # The whole committee, at every change: a vote survives a restart or a failover.
        # Its JSON is built on the store's thread, from this snapshot (immutable records).
        record = meeting.committee.to_record()
        out.append((_UPSERT_COMMITTEE, (meeting.room, Deferred(lambda: record_json(record)))))
    return out


def _ballot_writes(meeting: Meeting, cast: Sequence[CommitteeChanged]) -> list[Write]:
    out: list[Write] = []
    for e in cast:
        vote = meeting.committee.votes.get(e.vote) if e.vote is not None else None
        if vote is None or e.member is None:
            continue
        choice = dict(vote.choices).get(e.member)
        at = dict(vote.cast_at).get(e.member, e.at)
        camera = int(dict(vote.camera).get(e.member, False))
        if choice is not None:
            out.append((_UPSERT_COMMITTEE_BALLOT,
                        (meeting.room, vote.id, e.member, choice, at, camera)))
    return out


#: The records a stored committee holds inside it.
_COMMITTEE_PARTS = (
    committee_mod.MemberRecord, committee_mod.AttendanceChange, committee_mod.Verification,
    committee_mod.Recusal, committee_mod.MotionRecord, committee_mod.VoteRecord,
    committee_mod.QuorumChange, committee_mod.ClosedPeriod, QuorumCount,
    committee_mod.CameraRequest,
)


def committee_json(meeting: Meeting) -> str:
    """The stored form of ``meeting``'s committee (as :func:`to_json` writes it, faster:
    it is written at every change of a sitting)."""
    return record_json(meeting.committee.to_record())


def record_json(record: CommitteeRecord) -> str:
    """The stored form of a committee record (see :func:`committee_json`)."""
    return json.dumps(committee_mod.committee_plain(record), ensure_ascii=False,
                      separators=(",", ":"))


def committee_record(text: str) -> CommitteeRecord:
    """A committee as stored (:data:`_UPSERT_COMMITTEE`)."""
    return from_json_nested(CommitteeRecord, text, _COMMITTEE_PARTS)


def _category_value(stored: object) -> str:
    """A stored category: its value (entries with labels are ``{"value", "label"}``)."""
    return str(stored.get("value", "")) if isinstance(stored, dict) else str(stored)


def _bodies(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[str]:
    return [str(r[0]) for r in conn.execute(sql, params).fetchall()]


def _load(conn: sqlite3.Connection, room: str) -> MeetingRecords:
    row = conn.execute("SELECT body FROM floors WHERE room_id = ?", (room,)).fetchone()
    floor = (from_json(FloorRecord, row[0]) if row else
             FloorRecord(room, "open", None, 0.0, None, None, (), ()))
    agenda = tuple(from_json(AgendaItem, b) for b in _bodies(
        conn, "SELECT body FROM agenda_items WHERE room_id = ? ORDER BY position", (room,)))
    messages = [from_json(ChatMessage, b) for b in _bodies(
        conn, "SELECT body FROM chat_messages WHERE room_id = ? ORDER BY id DESC LIMIT ?",
        (room, chat_mod.HISTORY))]
    kept = {m.id for m in messages}
    reports = [r for r in (from_json(ChatReport, b) for b in _bodies(
        conn, "SELECT body FROM chat_reports WHERE room_id = ? AND (state = 'open' OR"
        " message_id >= ?) ORDER BY id", (room, min(kept, default=0))))]
    # The queue keeps what it refers to, even beyond the recent window.
    missing = {r.message_id for r in reports} - kept
    for message_id in sorted(missing):
        found = conn.execute("SELECT body FROM chat_messages WHERE room_id = ? AND id = ?",
                             (room, message_id)).fetchone()
        if found:
            messages.append(from_json(ChatMessage, found[0]))
    next_ids = conn.execute(
        "SELECT (SELECT COALESCE(MAX(id), 0) + 1 FROM chat_messages WHERE room_id = ?),"
        " (SELECT COALESCE(MAX(id), 0) + 1 FROM chat_reports WHERE room_id = ?)",
        (room, room)).fetchone()
    opinions = tuple(from_json(Opinion, b) for b in _bodies(
        conn, "SELECT body FROM opinions WHERE room_id = ? ORDER BY id", (room,)))
    questions = tuple(from_json(Question, b) for b in _bodies(
        conn, "SELECT body FROM questions WHERE room_id = ? ORDER BY id", (room,)))
    ballots: dict[int, list[tuple[str, tuple[int, ...]]]] = {}
    for poll_id, person, choices in conn.execute(
        "SELECT poll_id, person, choices FROM ballots WHERE room_id = ? ORDER BY person",
        (room,)):
        ballots.setdefault(int(poll_id), []).append(
            (str(person), tuple(int(c) for c in json.loads(choices))))
    polls = []
    for body in _bodies(conn, "SELECT body FROM polls WHERE room_id = ? ORDER BY id", (room,)):
        record = from_json(PollRecord, body)
        polls.append(replace(record, ballots=tuple(ballots.get(record.id, []))))
    lines = [from_json(CaptionLine, b) for b in _bodies(
        conn, "SELECT body FROM captions WHERE room_id = ? ORDER BY seq DESC LIMIT ?",
        (room, captions_mod.HISTORY))]
    lobby = tuple(from_json(Waiter, b) for b in _bodies(
        conn, "SELECT body FROM lobby_waiters WHERE room_id = ? ORDER BY since", (room,)))
    committee = _committee_load(conn, room)
    return MeetingRecords(
        floor=floor, agenda=agenda, messages=tuple(sorted(messages, key=lambda m: m.id)),
        reports=tuple(reports), opinions=opinions, questions=questions, polls=tuple(polls),
        captions=tuple(reversed(lines)), lobby=lobby, committee=committee,
        next_message_id=int(next_ids[0]), next_report_id=int(next_ids[1]),
    )


def _committee_load(conn: sqlite3.Connection, room: str) -> CommitteeRecord | None:
    """The committee as stored, with its gallery: the visitors' keys and the counts kept
    at each join (later than the record, which is written at procedure changes only)."""
    found = conn.execute("SELECT body FROM committees WHERE room_id = ?", (room,)).fetchone()
    counts = conn.execute("SELECT peak, total FROM committee_gallery WHERE room_id = ?",
                          (room,)).fetchone()
    if found is None and counts is None:
        return None
    record = CommitteeRecord() if found is None else committee_record(found[0])
    # Ballots stored as rows since the record was written (the latest choice of each).
    cast: dict[int, list[tuple[str, str, float, bool]]] = {}
    for vote, who, choice, at, camera in conn.execute(
            "SELECT vote, member, choice, at, camera FROM committee_ballots WHERE room_id = ?",
            (room,)):
        cast.setdefault(int(vote), []).append((str(who), str(choice), float(at), bool(camera)))
    if cast:
        votes = []
        for v in record.votes:
            rows = cast.get(v.id)
            if rows:
                choices, cast_at, cameras = dict(v.choices), dict(v.cast_at), dict(v.camera)
                for who, choice, at, camera in rows:
                    if at >= cast_at.get(who, float("-inf")):
                        choices[who], cast_at[who], cameras[who] = choice, at, camera
                v = replace(v, choices=tuple(sorted(choices.items())),
                            cast_at=tuple(sorted(cast_at.items())),
                            camera=tuple(sorted(cameras.items())))
            votes.append(v)
        record = replace(record, votes=tuple(votes))
    keys = {str(r[0]) for r in conn.execute(
        "SELECT key FROM committee_gallery_keys WHERE room_id = ?", (room,))}
    keys.update(record.gallery_keys)  # a record stored before they had a table of their own
    peak, total = (0, 0) if counts is None else (int(counts[0]), int(counts[1]))
    return replace(record, gallery_keys=tuple(sorted(keys)),
                   gallery_peak=max(record.gallery_peak, peak),
                   gallery_total=max(record.gallery_total, total, len(keys)))


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    """One stay of one person in a room."""

    name: str
    role: str
    place: str
    joined_at: float
    left_at: float | None
    cause: str | None


class MeetingStore:
    """The meeting tables of a :class:`SQLiteStore`."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    async def apply(self, writes: Sequence[Write]) -> None:
        """Run ``writes`` in one transaction."""
        if not writes:
            return

        def run(c: sqlite3.Connection) -> None:
            for sql, params in writes:
                c.execute(sql, _bound(params))

        await self.store.run(run)

    async def load(self, room: str) -> MeetingRecords:
        return await self.store.run(lambda c: _load(c, room))

    async def sanctions(self, room: str | None = None) -> list[SanctionRecord]:
        """Every sanction; with ``room``, those of that room and every ban."""
        sql, params = "SELECT body FROM sanctions ORDER BY id", tuple[str, ...]()
        if room is not None:
            sql = "SELECT body FROM sanctions WHERE room_id = ? OR room_id IS NULL ORDER BY id"
            params = (room,)
        bodies = await self.store.run(lambda c: _bodies(c, sql, params))
        return [from_json(SanctionRecord, b) for b in bodies]

    async def audit(self, room: str, *, limit: int | None = None) -> list[AuditEntry]:
        """Audit entries of ``room``, oldest first (the last ``limit`` if given)."""
        params: tuple[object, ...] = (room,)
        if limit is None:
            sql = "SELECT body FROM audit_log WHERE room_id = ? ORDER BY id"
        else:
            sql = ("SELECT body FROM (SELECT id, body FROM audit_log WHERE room_id = ?"
                   " ORDER BY id DESC LIMIT ?) ORDER BY id")
            params = (room, limit)
        bodies = await self.store.run(lambda c: _bodies(c, sql, params))
        return [from_json(AuditEntry, b) for b in bodies]

    async def messages(self, room: str) -> list[ChatMessage]:
        """Every chat message of ``room`` ever posted, oldest first."""
        bodies = await self.store.run(lambda c: _bodies(
            c, "SELECT body FROM chat_messages WHERE room_id = ? ORDER BY id", (room,)))
        return [from_json(ChatMessage, b) for b in bodies]

    async def attendance(self, room: str) -> list[AttendanceRow]:
        rows = await self.store.run(lambda c: c.execute(
            "SELECT name, role, place, joined_at, left_at, cause FROM attendance"
            " WHERE room_id = ? ORDER BY id", (room,)).fetchall())
        return [AttendanceRow(str(r[0]), str(r[1]), str(r[2]), float(r[3]),
                              None if r[4] is None else float(r[4]),
                              None if r[5] is None else str(r[5])) for r in rows]

    async def close_attendance(self, now: float, cause: str = "restart") -> None:
        """Stays still open from a previous run ended when it stopped."""
        await self.apply([("UPDATE attendance SET left_at = ?, cause = ? WHERE left_at IS NULL",
                           (now, cause))])

    async def rules(self, room: str) -> tuple[tuple[str, ...], bool | None]:
        """A room's opinion categories and lobby override (None: by room kind)."""
        row = await self.store.run(lambda c: c.execute(
            "SELECT categories, lobby FROM meeting_rules WHERE room_id = ?", (room,)).fetchone())
        if row is None:
            return (), None
        return (tuple(_category_value(c) for c in json.loads(row[0])),
                None if row[1] is None else bool(row[1]))

    async def category_entries(self, room: str) -> list[dict[str, object]]:
        """A room's opinion categories with their labels by language, as staff set them in
        the console: ``[{"value", "label": {lang: text}}]`` (no labels: ``{}``)."""
        row = await self.store.run(lambda c: c.execute(
            "SELECT categories FROM meeting_rules WHERE room_id = ?", (room,)).fetchone())
        return [c if isinstance(c, dict) else {"value": str(c), "label": {}}
                for c in (json.loads(row[0]) if row else [])]

    async def set_rules(self, room: str, categories: Iterable[str | Mapping[str, object]],
                        lobby: bool | None) -> None:
        """Store a room's categories (plain values, or ``{"value", "label"}`` entries) and
        its lobby override."""
        await self.apply([(
            "INSERT INTO meeting_rules (room_id, categories, lobby) VALUES (?, ?, ?)"
            " ON CONFLICT (room_id) DO UPDATE SET categories = excluded.categories,"
            " lobby = excluded.lobby",
            (room, json.dumps([c if isinstance(c, str) else dict(c) for c in categories],
                              ensure_ascii=False),
             None if lobby is None else int(lobby)))])

    @staticmethod
    def labels_of(entries: Iterable[Mapping[str, object]]) -> dict[str, dict[str, str]]:
        """Category value → its labels by language, from :meth:`category_entries`."""
        out: dict[str, dict[str, str]] = {}
        for e in entries:
            label = e.get("label")
            if isinstance(label, dict) and label:
                out[str(e.get("value", ""))] = {str(k): str(v) for k, v in label.items()}
        return out

    async def schedules(self) -> dict[str, Schedule]:
        """room → who holds its event and when, for every room staff scheduled."""
        rows = await self.store.run(lambda c: c.execute(
            "SELECT room_id, organiser, starts_at, ends_at FROM room_schedules").fetchall())
        return {str(r[0]): Schedule(str(r[1]), None if r[2] is None else int(r[2]),
                                    None if r[3] is None else int(r[3])) for r in rows}

    async def set_schedule(self, room: str, schedule: Schedule) -> None:
        """Store a room's organiser and scheduled times (checked by the caller)."""
        await self.apply([(
            "INSERT INTO room_schedules (room_id, organiser, starts_at, ends_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET"
            " organiser = excluded.organiser, starts_at = excluded.starts_at,"
            " ends_at = excluded.ends_at",
            (room, schedule.organiser, schedule.starts_at, schedule.ends_at))])

    async def caption_settings(self, room: str) -> tuple[bool, str]:
        """A room's automatic captions switch and their language (default: off, ja).
        Kept in the ``meta`` table (key ``captions:<room>``): two values need no table."""
        raw = await self.store.get_meta(f"captions:{room}")
        if raw is None:
            return False, "ja"
        body = json.loads(raw)
        return bool(body.get("auto")), str(body.get("lang") or "ja")

    async def set_caption_settings(self, room: str, auto: bool, lang: str) -> None:
        await self.store.set_meta(f"captions:{room}", json.dumps({"auto": auto, "lang": lang}))

    # -- committees ------------------------------------------------------------------

    async def committee_rule(self, room: str) -> QuorumRule:
        """A committee room's quorum rule (default: half or more, chair counts)."""
        row = await self.store.run(lambda c: c.execute(
            "SELECT body FROM committee_rules WHERE room_id = ?", (room,)).fetchone())
        return QuorumRule() if row is None else from_json(QuorumRule, row[0])

    async def set_committee_rule(self, room: str, rule: QuorumRule) -> None:
        await self.apply([("INSERT INTO committee_rules (room_id, body) VALUES (?, ?)"
                           " ON CONFLICT (room_id) DO UPDATE SET body = excluded.body",
                           (room, to_json(rule)))])

    async def committee_record(self, room: str) -> CommitteeRecord | None:
        """What a committee room keeps (for the minutes), or None."""
        return await self.store.run(lambda c: _committee_load(c, room))

    # -- per-resident codes ----------------------------------------------------------

    async def resident_codes(self) -> dict[str, dict[str, str]]:
        """room → code hash → device reference that used it ("" unused), for every room."""
        rows = await self.store.run(lambda c: c.execute(
            "SELECT room_id, code_hash, used_by FROM resident_codes").fetchall())
        out: dict[str, dict[str, str]] = {}
        for room, code_hash, used_by in rows:
            out.setdefault(str(room), {})[str(code_hash)] = str(used_by)
        return out

    async def clear_resident_codes(self, room: str) -> None:
        """Forget every resident code of ``room`` (it no longer requires one)."""
        await self.apply([("DELETE FROM resident_codes WHERE room_id = ?", (room,))])


def resident_code_write(room: str, code_hash: str, issued_by: str, at: float) -> Write:
    """Store a newly issued resident code (its hash)."""
    return ("INSERT OR IGNORE INTO resident_codes (code_hash, room_id, issued_by, issued_at)"
            " VALUES (?, ?, ?, ?)", (code_hash, room, issued_by, at))


def resident_code_used_write(code_hash: str, device: str, at: float) -> Write:
    """A resident code now belongs to the device reference ``device`` (first use only)."""
    return ("UPDATE resident_codes SET used_by = ?, used_at = ? WHERE code_hash = ?"
            " AND used_by = ''", (device, at, code_hash))
