"""What each export holds: the rows of chat, opinions, questions, polls, the audit log,
sanctions and attendance of one room, as CSV (with a BOM, for spreadsheets) or JSON.

Times are ISO 8601 in the city's time zone (the ``time_zone`` setting), with its offset:
``2026-11-27T19:00:00+09:00`` in Asia/Tokyo, so that a spreadsheet shows the hour of the
meeting, and a program still reads an exact instant.

Exports identify nobody beyond what the meeting showed everyone: texts, categories,
statuses and counts; never person keys, device references or ballots. Attendance (the
minutes' list of who took part) holds display names and roles; the audit log and
sanctions hold who acted, which is their purpose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, tzinfo

from moderation import audit, opinions, questions
from moderation.export import csv_text, iso_time
from moderation.meeting import Meeting
from moderation.polls import EXPORT_COLUMNS as POLL_COLUMNS
from server.meetings.store import MeetingStore

KINDS = ("chat", "opinions", "questions", "polls", "audit", "sanctions", "attendance")
CHAT_COLUMNS = ("id", "time", "author_role", "text", "hidden", "hidden_reason")
SANCTION_COLUMNS = ("id", "kind", "room", "name", "reason", "by", "time", "expires_at",
                    "lifted_at", "lifted_by")
ATTENDANCE_COLUMNS = ("name", "role", "place", "joined_at", "left_at", "minutes", "cause")


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]
    #: Overrides the JSON form of the rows (the audit log keeps ``details`` an object).
    json_rows: list[dict[str, object]] | None = None
    #: The zone of the rows' times, and of ``exported_at``.
    tz: tzinfo = UTC

    def to_csv(self) -> str:
        return "\ufeff" + csv_text(self.columns, self.rows)

    def to_json(self, room: str, what: str, exported_at: float) -> str:
        rows = self.json_rows if self.json_rows is not None else [
            dict(zip(self.columns, r, strict=True)) for r in self.rows]
        return json.dumps({"room": room, "what": what,
                           "exported_at": iso_time(exported_at, self.tz),
                           "columns": list(self.columns), "rows": rows}, ensure_ascii=False)


async def build(what: str, meeting: Meeting, store: MeetingStore, *, tz: tzinfo) -> Table:
    """The export ``what`` (one of :data:`KINDS`) of ``meeting``'s room, times in ``tz``."""
    room = meeting.room

    def time(at: float | None) -> str | None:
        return None if at is None else iso_time(at, tz)

    if what == "opinions":
        return Table(opinions.EXPORT_COLUMNS, meeting.opinions.export_rows(tz), tz=tz)
    if what == "questions":
        return Table(questions.EXPORT_COLUMNS, meeting.questions.export_rows(tz), tz=tz)
    if what == "polls":
        rows: list[tuple[object, ...]] = []
        for poll in meeting.polls.all_results():
            rows += meeting.polls.export_rows(poll.id)
        return Table(POLL_COLUMNS, rows, tz=tz)
    if what == "chat":
        return Table(CHAT_COLUMNS, [
            (m.id, time(m.at), m.author_role, m.text, m.hidden, m.hidden_reason)
            for m in await store.messages(room)], tz=tz)
    if what == "audit":
        entries = await store.audit(room)
        return Table(audit.COLUMNS, [audit.to_row(e, tz) for e in entries],
                     [audit.to_json(e, tz) for e in entries], tz=tz)
    if what == "sanctions":
        return Table(SANCTION_COLUMNS, [
            (r.id, r.kind, r.room or "", r.name, r.reason, r.by, time(r.at),
             time(r.expires_at), time(r.lifted_at), r.lifted_by)
            for r in await store.sanctions(room)], tz=tz)
    assert what == "attendance", what
    return Table(ATTENDANCE_COLUMNS, [
        (a.name, a.role, a.place, time(a.joined_at), time(a.left_at),
         None if a.left_at is None else round((a.left_at - a.joined_at) / 60, 1), a.cause)
        for a in await store.attendance(room)], tz=tz)


def content_disposition(room: str, what: str, fmt: str) -> str:
    return f'attachment; filename="{room}-{what}.{fmt}"'
