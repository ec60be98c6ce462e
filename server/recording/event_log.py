"""The event log of a recording: one JSON object per line, appended, never rewritten.

Pure format code; the recorder drives :class:`EventLogWriter` from its worker thread and
flushes it once a second. Each line is ``{"t": ms, "seq": n, "kind": "...", ...}`` with
``t`` the milliseconds since the recording started (from a monotonic clock, never going
back) and ``seq`` counting lines from 0, so a reader can tell a gap from a quiet minute.
A killed writer can leave a torn last line: :func:`read_events` drops it, and
:func:`repair` truncates the file after the last complete line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from rooms.errors import Reason, ValidationError

#: Longest line accepted (a caption or a chat message is far shorter).
MAX_LINE = 64 * 1024


class EventKind(StrEnum):
    """What a line of the event log records."""

    RECORDING = "recording"  # started / stopped / recovered
    JOIN = "join"
    LEAVE = "leave"
    FLOOR = "floor"
    AGENDA = "agenda"
    CAPTION = "caption"
    CHAT = "chat"
    POLL = "poll"
    OPINION = "opinion"
    QUESTION = "question"
    MODERATION = "moderation"
    SPEAKER = "speaker"  # an audio file was opened for a speaker
    #: The committee's record after a change (issue 16): the minutes read the last one.
    COMMITTEE = "committee"


_RESERVED = frozenset({"t", "seq", "kind"})


@dataclass(frozen=True)
class Event:
    """One line of the log."""

    t_ms: int
    seq: int
    kind: EventKind
    data: Mapping[str, Any]


def encode_event(event: Event) -> str:
    """The line for ``event`` (with its newline). Raises ``ValidationError`` for data
    that is not JSON, uses a reserved key, or is longer than :data:`MAX_LINE`."""
    if _RESERVED & event.data.keys():
        raise ValidationError(Reason.BAD_FIELD, "event data may not use t, seq or kind")
    try:
        line = json.dumps(
            {"t": event.t_ms, "seq": event.seq, "kind": event.kind.value, **event.data},
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise ValidationError(Reason.BAD_FIELD, f"event data is not JSON: {exc}") from exc
    if len(line) > MAX_LINE:
        raise ValidationError(Reason.TOO_LONG, "an event of more than 64 KB")
    return line + "\n"


class EventLogWriter:
    """Appends events to a text file object; times never go backwards."""

    def __init__(self, fh: TextIO, seq: int = 0, t_ms: int = 0) -> None:
        self.fh = fh
        self.seq = seq
        self.t_ms = t_ms

    def write(self, t_ms: int, kind: EventKind, data: Mapping[str, Any]) -> Event:
        """Append one event; a time earlier than the last is raised to it."""
        event = Event(max(t_ms, self.t_ms), self.seq, kind, dict(data))
        self.fh.write(encode_event(event))
        self.seq += 1
        self.t_ms = event.t_ms
        return event


def _parse(line: bytes) -> Event | None:
    try:
        obj = json.loads(line)
        data = {k: v for k, v in obj.items() if k not in _RESERVED}
        return Event(int(obj["t"]), int(obj["seq"]), EventKind(obj["kind"]), data)
    # OverflowError: a time of 1e999 (json reads inf); RecursionError: a line nested
    # deeper than json's limit. Both are lines that do not parse, not a reader failure.
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError):
        return None


@dataclass(frozen=True)
class EventLog:
    """The events read back, and what the reader had to skip."""

    events: list[Event]
    #: Bytes after the last complete line (a torn write), dropped.
    torn_bytes: int
    #: Complete lines that did not parse (should be none), skipped.
    bad_lines: int
    #: Offset just after the last complete, valid line.
    end: int


def parse_events(data: bytes) -> EventLog:
    """Events of a log's bytes: a last line without its newline is dropped as torn."""
    events = []
    bad = 0
    at = 0
    end = 0
    while True:
        nl = data.find(b"\n", at)
        if nl < 0:
            break
        event = _parse(data[at:nl])
        if event is None:
            bad += 1
        else:
            events.append(event)
            end = nl + 1
        at = nl + 1
    return EventLog(events, len(data) - at, bad, end)


def read_events(path: Path) -> EventLog:
    """Blocking read of an event log (run it off the event loop)."""
    return parse_events(path.read_bytes())


def repair(path: Path) -> EventLog:
    """Truncate a log after its last complete valid line; returns what it holds."""
    log = read_events(path)
    with path.open("r+b") as fh:
        fh.truncate(log.end)
        fh.flush()
        os.fsync(fh.fileno())
    return log
