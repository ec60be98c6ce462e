"""Storage of staff corrections (issue 17): each edit is applied to the segment rows and
recorded in ``transcript_edits`` (who, when, the segments before and after) in one SQLite
transaction on the store's thread, so two secretaries editing at once get edits N and N+1
over each other's result, never a lost update. The rules are
:mod:`server.transcription.edits`; the HTTP API is
:mod:`server.recording.transcript_routes`.

Versions are edit numbers: version 0 is the transcript as the engine left it, version N
the transcript after the recording's N-th edit. The transcript at version N is found by
laying the ``before`` rows of the later edits back over the current segments, newest
first (the edits are never deleted).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from rooms.errors import ProcedureError, Reason, ValidationError
from server.transcription.edits import Edit, apply_edit, ordered, undo
from server.transcription.segments import Segment
from server.transcription.store import SEGMENT_COLUMNS, segment_row

T = TypeVar("T")



class Runner(Protocol):
    """What the tables need of the store (``SQLiteStore.run``: one transaction on its
    thread)."""

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...


@dataclass(frozen=True, slots=True)
class EditRow:
    """One kept edit: its number within the recording (1, 2, ...), who and when, and
    what it changed."""

    number: int
    kind: str
    segments: tuple[int, ...]
    before: tuple[Segment, ...]
    after: tuple[Segment, ...]
    by: str
    at: float

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "kind": self.kind, "segments": list(self.segments),
                "before": [s.to_json() for s in self.before],
                "after": [s.to_json() for s in self.after], "by": self.by, "at": self.at}


def segments_sql(c: sqlite3.Connection, recording: str) -> list[Segment]:
    """Every segment of ``recording``, removed ones included, in transcript order."""
    rows = c.execute(f"SELECT {SEGMENT_COLUMNS} FROM transcript_segments WHERE recording_id = ?"
                     " ORDER BY start, id", (recording,)).fetchall()
    return [segment_row(r) for r in rows]


def _edits_sql(c: sqlite3.Connection, recording: str) -> list[EditRow]:
    rows = c.execute("SELECT kind, segments, before, after, by, at FROM transcript_edits"
                     " WHERE recording_id = ? ORDER BY id", (recording,)).fetchall()
    return [EditRow(n, str(r[0]), tuple(int(i) for i in json.loads(r[1])),
                    tuple(Segment.from_json(s) for s in json.loads(r[2])),
                    tuple(Segment.from_json(s) for s in json.loads(r[3])), str(r[4]), float(r[5]))
            for n, r in enumerate(rows, start=1)]


def _next_id(c: sqlite3.Connection) -> int:
    # AUTOINCREMENT never hands out an id twice: past the sequence and every row.
    seq = c.execute("SELECT seq FROM sqlite_sequence WHERE name = 'transcript_segments'"
                    ).fetchone()
    top = c.execute("SELECT MAX(id) FROM transcript_segments").fetchone()
    return max(int(seq[0]) if seq else 0, int(top[0] or 0)) + 1


def _write(c: sqlite3.Connection, recording: str, edit: Edit, old: set[int]) -> None:
    for s in edit.after:
        if s.id in old:
            c.execute("UPDATE transcript_segments SET start = ?, end = ?, text = ?,"
                      " auto_text = ?, status = ?, removed = ? WHERE id = ?"
                      " AND recording_id = ?",
                      (s.start, s.end, s.text, s.auto_text, s.status, int(s.removed), s.id,
                       recording))
        else:
            c.execute("INSERT INTO transcript_segments (id, recording_id, track, pid, name,"
                      " role, turn, start, end, text, auto_text, status, removed)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (s.id, recording, s.track, s.pid, s.name, s.role, s.turn, s.start,
                       s.end, s.text, s.auto_text, s.status, int(s.removed)))


class EditStore:
    """The ``transcript_edits`` table and the edits' writes to ``transcript_segments``.

    ``changed``: called with the recording id after an edit is stored
    (:meth:`server.transcription.store.TranscriptStore.changed`, so that whoever listens
    to transcript changes, the minutes cache and the archive search, hears of edits too).
    """

    def __init__(self, store: Runner, changed: Callable[[str], None]) -> None:
        self.store = store
        self.changed = changed

    async def segments(self, recording: str) -> list[Segment]:
        """Every segment of ``recording``, removed ones included, in order."""
        return await self.store.run(lambda c: segments_sql(c, recording))

    async def edits(self, recording: str) -> list[EditRow]:
        """The recording's edits, oldest first, numbered from 1."""
        return await self.store.run(lambda c: _edits_sql(c, recording))

    async def apply(self, recording: str, body: Mapping[str, Any], by: str,
                    now: float) -> tuple[EditRow, list[Segment]]:
        """Apply the edit ``body`` (``version``: the edit number the editor saw; another
        edit since then is ``409 wrong_state``) and keep it; returns the kept edit and
        the segments after it. A refusal changes nothing."""
        fields = dict(body)
        seen = fields.pop("version", None)

        def write(c: sqlite3.Connection) -> tuple[EditRow, list[Segment]]:
            current = segments_sql(c, recording)
            if not current:
                raise ProcedureError(Reason.WRONG_STATE, "this recording has no transcript")
            number = int(c.execute("SELECT COUNT(*) FROM transcript_edits WHERE"
                                   " recording_id = ?", (recording,)).fetchone()[0]) + 1
            if seen is not None:
                if isinstance(seen, bool) or not isinstance(seen, int) or seen < 0:
                    raise ValidationError(Reason.BAD_FIELD, "version is an edit number")
                if seen != number - 1:
                    raise ProcedureError(Reason.WRONG_STATE, "the transcript was edited "
                                         "since you loaded it: reload and edit again")
            after, edit = apply_edit(current, fields, new_id=_next_id(c))
            _write(c, recording, edit, {s.id for s in current})
            c.execute("INSERT INTO transcript_edits (recording_id, kind, segments, before,"
                      " after, by, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (recording, edit.kind, json.dumps(list(edit.segments)),
                       json.dumps([s.to_json() for s in edit.before], ensure_ascii=False),
                       json.dumps([s.to_json() for s in edit.after], ensure_ascii=False),
                       by, now))
            return EditRow(number, edit.kind, edit.segments, edit.before, edit.after, by,
                           now), after

        kept = await self.store.run(write)
        self.changed(recording)
        return kept

    async def at_version(self, recording: str, number: int) -> list[Segment] | None:
        """The segments as they were after edit ``number`` (0: before any), or None when
        the recording has no such edit."""

        def read(c: sqlite3.Connection) -> list[Segment] | None:
            edits = _edits_sql(c, recording)
            if not 0 <= number <= len(edits):
                return None
            segs = segments_sql(c, recording)
            for e in reversed(edits[number:]):
                segs = undo(segs, e.before, e.segments)
            return ordered(segs)

        return await self.store.run(read)
