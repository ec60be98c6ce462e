"""The archive's full-text search (issue 17): the ``archive_search`` rows of a recording
(its current transcript segments and its minutes text) and the query over them.

The table is SQLite FTS5 with the trigram tokenizer: Japanese has no spaces between
words, and trigrams match any substring of three or more characters. A query is text,
never FTS syntax: each whitespace-separated term is quoted as a phrase (a ``"`` inside
doubled), so ``AND``, ``NEAR``, ``*``, ``:`` or ``^`` search for themselves. A term of
one or two characters (「予算」 is two) has no trigram, so a query holding one is answered
by a ``LIKE`` scan of the same rows (``%`` and ``_`` escaped). Who may see which
recording is decided at query time, by a join with ``recordings`` (``published``), never
by what the rows hold: unpublishing hides a recording's rows at once.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from rooms.errors import Reason, ValidationError

#: A query at most (characters) and its terms at most.
MAX_QUERY_CHARS: Final = 100
MAX_TERMS: Final = 8
#: Hits returned at most.
MAX_HITS: Final = 50
#: Characters of context either side of the match in a snippet.
SNIPPET_SIDE: Final = 30
#: Marks around the matched text in a snippet (control characters no stored text holds:
#: the client splits on them and shows each piece as text).
MARK_OPEN: Final = "\x02"
MARK_CLOSE: Final = "\x03"
_TRIGRAM = 3


class Piece(Protocol):
    """What a row is made of: a stored segment (either module's type)."""

    @property
    def id(self) -> int: ...
    @property
    def start(self) -> float: ...
    @property
    def text(self) -> str: ...
    @property
    def removed(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result."""

    recording: str
    title: str
    started: float
    kind: str
    ref: str
    at: float
    snippet: str

    def to_json(self) -> dict[str, Any]:
        return {"recording": self.recording, "title": self.title, "started": self.started,
                "kind": self.kind, "ref": self.ref, "at": self.at,
                "time": self.started + self.at, "snippet": self.snippet,
                "replay": f"/replay?id={self.recording}&t={int(self.at)}"}


def terms(query: object) -> list[str]:
    """The terms of a query (NFKC, whitespace-separated); refuses an empty or long one."""
    if not isinstance(query, str):
        raise ValidationError(Reason.BAD_FIELD, "q is text")
    text = unicodedata.normalize("NFKC", query).strip()
    if not text:
        raise ValidationError(Reason.MISSING_FIELD, "q is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise ValidationError(Reason.TOO_LONG, f"q is over {MAX_QUERY_CHARS} characters")
    found = [t for t in text.split() if t]
    if len(found) > MAX_TERMS:
        raise ValidationError(Reason.BAD_FIELD, f"q has over {MAX_TERMS} words")
    if any(ord(c) < 32 for t in found for c in t):
        raise ValidationError(Reason.BAD_FIELD, "q holds control characters")
    return found


def fts_query(words: Iterable[str]) -> str:
    """``words`` as an FTS5 query that matches each as literal text (all of them)."""
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def snippet(text: str, words: Iterable[str]) -> str:
    """The text around the first word found (case-insensitively), the word marked with
    :data:`MARK_OPEN` / :data:`MARK_CLOSE`; the text's start when none is found."""
    low = text.casefold()
    best: tuple[int, int] | None = None
    for w in words:
        i = low.find(w.casefold())
        if i >= 0 and (best is None or i < best[0]):
            best = (i, len(w))
    if best is None:
        return text[: 2 * SNIPPET_SIDE] + ("…" if len(text) > 2 * SNIPPET_SIDE else "")
    i, n = best
    a, b = max(0, i - SNIPPET_SIDE), min(len(text), i + n + SNIPPET_SIDE)
    return ("…" if a else "") + text[a:i] + MARK_OPEN + text[i:i + n] + MARK_CLOSE + \
        text[i + n:b] + ("…" if b < len(text) else "")


def _plain(text: str) -> str:
    # A mark character in stored text would confuse the client's highlighting.
    return text.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")


_TABLE_RULE = re.compile(r"\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?")


def minutes_pieces(minutes: str) -> list[str]:
    """The minutes' text as searchable pieces: its non-empty lines (a line of Markdown
    is a heading, an item, a table row or a paragraph: a snippet's worth), without the
    Markdown marks a reader should not see in a snippet."""
    out = []
    for raw in minutes.splitlines():
        line = raw.strip()
        if not line or _TABLE_RULE.fullmatch(line):
            continue
        if line.startswith("|"):
            line = " · ".join(c.strip() for c in line.strip("|").split("|") if c.strip())
        line = line.lstrip("#>-* ").replace("**", "").strip()
        if line:
            out.append(line)
    return out


def _range_key(recording: str) -> str:
    return f"archive_search.rows.{recording}"


def replace_rows_sql(c: sqlite3.Connection, recording: str, segments: Iterable[Piece],
                     minutes: str) -> int:
    """Put ``recording``'s rows in place of the ones it had: its segments not removed and
    its minutes' pieces. Returns how many rows it holds now.

    ``recording_id`` is not indexed (FTS5 indexes text only), so finding a recording's rows
    by it reads the whole table (0.4 s at 300,000 rows, on the store's thread). Its rows
    are written with consecutive rowids instead and their range kept in ``meta``, so a
    rebuild deletes by rowid range."""
    drop_rows_sql(c, recording)
    rows: list[tuple[str, str, str, str, float]] = [
        (_plain(s.text), recording, "segment", str(s.id), s.start)
        for s in segments if not s.removed and s.text.strip()]
    rows += [(_plain(p), recording, "minutes", "", 0.0) for p in minutes_pieces(minutes)]
    if not rows:
        return 0
    top = c.execute("SELECT rowid FROM archive_search ORDER BY rowid DESC LIMIT 1").fetchone()
    first = (int(top[0]) if top else 0) + 1
    c.executemany("INSERT INTO archive_search (rowid, text, recording_id, kind, ref, at)"
                  " VALUES (?, ?, ?, ?, ?, ?)",
                  [(first + i, *row) for i, row in enumerate(rows)])
    c.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
              " SET value = excluded.value",
              (_range_key(recording), f"{first}:{first + len(rows) - 1}"))
    return len(rows)


def drop_rows_sql(c: sqlite3.Connection, recording: str) -> None:
    """Take ``recording``'s rows out, by their rowid range (no range kept: it has none,
    since rows are only ever written with theirs)."""
    kept = c.execute("SELECT value FROM meta WHERE key = ?", (_range_key(recording),)
                     ).fetchone()
    if kept is None:
        return
    first, last = (int(x) for x in str(kept[0]).split(":"))
    c.execute("DELETE FROM archive_search WHERE rowid BETWEEN ? AND ? AND recording_id = ?",
              (first, last, recording))
    c.execute("DELETE FROM meta WHERE key = ?", (_range_key(recording),))


def search_sql(c: sqlite3.Connection, words: list[str], *, published_only: bool,
               limit: int = MAX_HITS) -> list[Hit]:
    """The rows holding every word, of published recordings only unless told, the most
    recently written first (rowid order lets SQLite stop after ``limit`` hits instead of
    ranking every match: a word found in every meeting costs no more than a rare one):
    with trigram terms by FTS5 ``MATCH``, else (a word under three characters) by a
    ``LIKE`` scan."""
    visible = "r.published = 1" if published_only else "1"
    base = ("SELECT s.recording_id, r.title, r.started, s.kind, s.ref, s.at, s.text"
            " FROM archive_search s JOIN recordings r ON r.id = s.recording_id")
    if all(len(w) >= _TRIGRAM for w in words):
        rows = c.execute(f"{base} WHERE archive_search MATCH ? AND {visible}"
                         " ORDER BY s.rowid DESC LIMIT ?",
                         (fts_query(words), limit)).fetchall()
    else:
        where = " AND ".join("s.text LIKE ? ESCAPE '\\'" for _ in words)
        rows = c.execute(f"{base} WHERE {where} AND {visible}"
                         " ORDER BY s.rowid DESC LIMIT ?",
                         (*[_like(w) for w in words], limit)).fetchall()
    return [Hit(str(r[0]), str(r[1]), float(r[2]), str(r[3]), str(r[4]), float(r[5]),
                snippet(str(r[6]), words)) for r in rows]
