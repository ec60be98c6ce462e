"""What each export holds: the rows of chat, opinions, questions, polls, the audit log,
sanctions and attendance of one room, as CSV (with a BOM, for spreadsheets) or JSON.

Exports identify nobody beyond what the meeting showed everyone: texts, categories,
statuses and counts; never person keys, device references or ballots. Attendance (the
minutes' list of who took part) holds display names and roles; the audit log and
sanctions hold who acted, which is their purpose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from moderation import audit, opinions, questions
from moderation.export import csv_text, iso_time
from moderation.meeting import Meeting
from moderation.polls import EXPORT_COLUMNS as POLL_COLUMNS
from server.meeting_store import MeetingStore

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

    def to_csv(self) -> str:
        return "\ufeff" + csv_text(self.columns, self.rows)

    def to_json(self, room: str, what: str, exported_at: float) -> str:
        rows = self.json_rows if self.json_rows is not None else [
            dict(zip(self.columns, r, strict=True)) for r in self.rows]
        return json.dumps({"room": room, "what": what, "exported_at": iso_time(exported_at),
                           "columns": list(self.columns), "rows": rows}, ensure_ascii=False)


def _time(at: float | None) -> str | None:
    return None if at is None else iso_time(at)


async def build(what: str, meeting: Meeting, store: MeetingStore) -> Table:
    """The export ``what`` (one of :data:`KINDS`) of ``meeting``'s room."""
    room = meeting.room
    if what == "opinions":
        return Table(opinions.EXPORT_COLUMNS, meeting.opinions.export_rows())
    if what == "questions":
        return Table(questions.EXPORT_COLUMNS, meeting.questions.export_rows())
    if what == "polls":
        rows: list[tuple[object, ...]] = []
        for poll in meeting.polls.all_results():
            rows += meeting.polls.export_rows(poll.id)
        return Table(POLL_COLUMNS, rows)
    if what == "chat":
        return Table(CHAT_COLUMNS, [
            (m.id, iso_time(m.at), m.author_role, m.text, m.hidden, m.hidden_reason)
            for m in await store.messages(room)])
    if what == "audit":
        entries = await store.audit(room)
        return Table(audit.COLUMNS, [audit.to_row(e) for e in entries],
                     [audit.to_json(e) for e in entries])
    if what == "sanctions":
        return Table(SANCTION_COLUMNS, [
            (r.id, r.kind, r.room or "", r.name, r.reason, r.by, iso_time(r.at),
             _time(r.expires_at), _time(r.lifted_at), r.lifted_by)
            for r in await store.sanctions(room)])
    assert what == "attendance", what
    return Table(ATTENDANCE_COLUMNS, [
        (a.name, a.role, a.place, iso_time(a.joined_at), _time(a.left_at),
         None if a.left_at is None else round((a.left_at - a.joined_at) / 60, 1), a.cause)
        for a in await store.attendance(room)])


def content_disposition(room: str, what: str, fmt: str) -> str:
    return f'attachment; filename="{room}-{what}.{fmt}"'
