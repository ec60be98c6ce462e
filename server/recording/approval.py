"""Storage of minutes approval (会議録署名, issue 16): the saved versions of a recording's
minutes (kept for good: rows are only ever inserted) and the approval state of each
recording (:class:`moderation.minutes_approval.Approval`, one JSON body). The rules are
``moderation/minutes_approval.py``; the HTTP API is :mod:`server.recording.approval_routes`.

Every change is one SQLite transaction on the store's thread that reads the state, applies
a pure rule and writes the result, so two secretaries saving at once get versions N and
N+1, never two N.
"""

from __future__ import annotations

import html
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from moderation import minutes_approval as rules
from moderation.minutes_approval import Approval, Version
from server.http.security import document_security_policy

T = TypeVar("T")


class Runner(Protocol):
    """What the tables need of the store (``SQLiteStore.run``: one transaction on its
    thread)."""

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """A version without its text (for lists)."""

    number: int
    by: str
    at: float
    note: str
    bytes: int

    def to_json(self) -> dict[str, object]:
        return {"number": self.number, "by": self.by, "at": self.at, "note": self.note,
                "bytes": self.bytes}


def _state(c: sqlite3.Connection, recording: str) -> Approval:
    row = c.execute("SELECT body FROM minutes_approvals WHERE recording_id = ?",
                    (recording,)).fetchone()
    return Approval() if row is None else Approval.from_json(json.loads(row[0]))


def _put_state(c: sqlite3.Connection, recording: str, state: Approval) -> None:
    c.execute("INSERT INTO minutes_approvals (recording_id, body) VALUES (?, ?)"
              " ON CONFLICT (recording_id) DO UPDATE SET body = excluded.body",
              (recording, json.dumps(state.to_json(), ensure_ascii=False)))


def _latest(c: sqlite3.Connection, recording: str) -> int:
    row = c.execute("SELECT MAX(number) FROM minutes_versions WHERE recording_id = ?",
                    (recording,)).fetchone()
    return int(row[0] or 0)


def _version(c: sqlite3.Connection, recording: str, number: int) -> Version | None:
    row = c.execute("SELECT number, text, saved_by, saved_at, note FROM minutes_versions"
                    " WHERE recording_id = ? AND number = ?", (recording, number)).fetchone()
    return None if row is None else Version(int(row[0]), str(row[1]), str(row[2]),
                                            float(row[3]), str(row[4]))


class MinutesApprovals:
    """The minutes-approval tables of a ``SQLiteStore``."""

    def __init__(self, store: Runner) -> None:
        self.store = store

    async def state(self, recording: str) -> Approval:
        return await self.store.run(lambda c: _state(c, recording))

    async def versions(self, recording: str) -> list[VersionInfo]:
        rows = await self.store.run(lambda c: c.execute(
            "SELECT number, saved_by, saved_at, note, LENGTH(CAST(text AS BLOB))"
            " FROM minutes_versions WHERE recording_id = ? ORDER BY number",
            (recording,)).fetchall())
        return [VersionInfo(int(r[0]), str(r[1]), float(r[2]), str(r[3]), int(r[4]))
                for r in rows]

    async def version(self, recording: str, number: int) -> Version | None:
        return await self.store.run(lambda c: _version(c, recording, number))

    async def save(self, recording: str, text: object, note: object, by: str,
                   now: float) -> tuple[Version, Approval]:
        """Save the next version (checked by the rules); a pending request moves to it
        and its approvals are cleared."""

        def write(c: sqlite3.Connection) -> tuple[Version, Approval]:
            version = rules.new_version(_latest(c, recording), text, note, by, now)
            c.execute("INSERT INTO minutes_versions (recording_id, number, text, note,"
                      " saved_by, saved_at) VALUES (?, ?, ?, ?, ?, ?)",
                      (recording, version.number, version.text, version.note, by, now))
            state = rules.after_new_version(_state(c, recording), version.number)
            _put_state(c, recording, state)
            return version, state

        return await self.store.run(write)

    async def change(self, recording: str,
                     rule: Callable[[Approval, int], Approval]) -> Approval:
        """Apply ``rule(state, latest version number)`` and store its result, in one
        transaction (a refusal it raises changes nothing)."""

        def write(c: sqlite3.Connection) -> Approval:
            state = rule(_state(c, recording), _latest(c, recording))
            _put_state(c, recording, state)
            return state

        return await self.store.run(write)

    async def published(self, recording: str) -> Version | None:
        """The approved version the public reads, if one was published."""

        def read(c: sqlite3.Connection) -> Version | None:
            state = _state(c, recording)
            return _version(c, recording, state.published) if state.published else None

        return await self.store.run(read)

    async def naming(self, account: str) -> list[tuple[str, Approval]]:
        """(recording, state) of every draft that names ``account`` as a signer."""
        rows = await self.store.run(lambda c: c.execute(
            "SELECT recording_id, body FROM minutes_approvals ORDER BY recording_id").fetchall())
        found = [(str(r[0]), Approval.from_json(json.loads(r[1]))) for r in rows]
        return [(rec, state) for rec, state in found if rules.may_read(state, account)]

    async def drafted(self) -> list[str]:
        """Recordings with at least one saved version."""
        rows = await self.store.run(lambda c: c.execute(
            "SELECT DISTINCT recording_id FROM minutes_versions ORDER BY recording_id"
        ).fetchall())
        return [str(r[0]) for r in rows]


_HTML_STYLE = ("body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;"
               "padding:0 1rem;line-height:1.7}pre{white-space:pre-wrap;"
               "font-family:inherit;overflow-wrap:anywhere}")


def approved_html(text: str, title: str) -> tuple[str, str]:
    """An approved version as a standalone HTML document (its Markdown shown as written,
    escaped: the signed text, not a re-rendering of it) and the document's CSP."""
    doc = (f'<!doctype html>\n<html lang="ja"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">'
           f"<title>{html.escape(title)}</title><style>{_HTML_STYLE}</style></head>"
           f"<body><main><pre>{html.escape(text)}</pre></main></body></html>\n")
    return doc, document_security_policy([_HTML_STYLE])
