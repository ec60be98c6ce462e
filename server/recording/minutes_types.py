"""The records minutes are made of: frozen values, no I/O.

:mod:`server.recording.minutes` builds a :class:`Minutes` from a recording's folder and
:mod:`server.recording.minutes_render` writes one out; both import these types from here, so
neither imports the other's module for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Attendee:
    """One person in the room during the recording (reconnections merged by name and role)."""

    name: str
    role: str
    joined: datetime
    #: None: still in the room when the recording ended.
    left: datetime | None
    present_at_start: bool


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    """An agenda item taken up during the recording: when first opened, time spent on it
    (all its openings; an item still open at the end runs to the end)."""

    item_id: int
    title: str
    start: datetime
    seconds: float
    planned: int
    overran: bool


@dataclass(frozen=True, slots=True)
class Turn:
    """Someone speaking: a floor turn (``source`` "floor"), or speech heard outside one
    (the chair, staff: "voice"). ``voiced`` is the seconds their audio held speech (None
    without an audio file for them)."""

    name: str
    role: str
    start: datetime
    end: datetime
    seconds: float
    voiced: float | None
    source: str


@dataclass(frozen=True, slots=True)
class SpeakingTime:
    """One person's speaking in the meeting: floor turns and time, and speech in the audio."""

    name: str
    role: str
    turns: int
    floor_seconds: float
    voiced_seconds: float | None


@dataclass(frozen=True, slots=True)
class CaptionEntry:
    at: datetime
    text: str
    #: The captioner's correction, when the line was corrected.
    corrected: str | None


@dataclass(frozen=True, slots=True)
class PollResult:
    question: str
    options: tuple[str, ...]
    counts: tuple[int, ...]
    voters: int
    opened: datetime | None
    #: None: still open when the recording ended.
    closed: datetime | None


@dataclass(frozen=True, slots=True)
class OpinionEntry:
    at: datetime
    category: str
    text: str
    supports: int
    status: str
    response: str
    #: Staff minutes only (empty in the public ones).
    author: str = ""
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class QuestionEntry:
    at: datetime
    text: str
    votes: int
    status: str
    answer: str
    author: str = ""


@dataclass(frozen=True, slots=True)
class ModerationEntry:
    at: datetime
    actor: str
    action: str
    target: str
    reason: str
    details: str


@dataclass(frozen=True, slots=True)
class SpokenLine:
    """One transcript segment in the minutes' 発言 section."""

    at: datetime
    end: datetime
    text: str
    #: ``auto`` (the engine's draft, not yet corrected), ``corrected`` or ``inaudible``.
    status: str


@dataclass(frozen=True, slots=True)
class Utterance:
    """A floor turn (``turn``: its index among the recording's floor turns) with the
    transcript of what was said in it, or speech outside any turn (``turn`` None: the
    chair's remarks, staff), in order of time."""

    turn: int | None
    name: str
    role: str
    start: datetime
    end: datetime
    lines: tuple[SpokenLine, ...]


@dataclass(frozen=True, slots=True)
class Minutes:
    """Everything the minutes of one recording say."""

    recording_id: str
    room: str
    title: str
    started: datetime
    ended: datetime
    seconds: float
    recovered: bool
    #: True for the staff version (names, hidden items, moderation).
    staff: bool
    attendance: tuple[Attendee, ...]
    #: Citizens in the room (named in ``attendance`` only in the staff version).
    citizens: int
    agenda: tuple[AgendaEntry, ...]
    timeline: tuple[Turn, ...]
    speaking: tuple[SpeakingTime, ...]
    captions: tuple[CaptionEntry, ...]
    polls: tuple[PollResult, ...]
    opinions: tuple[OpinionEntry, ...]
    questions: tuple[QuestionEntry, ...]
    #: None in the public version.
    moderation: tuple[ModerationEntry, ...] | None
    #: Whether speaking times were refined from the audio files.
    audio: bool
    #: Committee rooms: :func:`moderation.committee.committee_summary` for the recording's
    #: window, its times as datetimes in the minutes' zone (None elsewhere).
    committee: dict[str, Any] | None = None
    #: Closed sessions (秘密会) during the recording, from its pause markers: (start, end;
    #: None: still closed when it ended). Nothing of them is in the minutes but these.
    closed: tuple[tuple[datetime, datetime | None], ...] = ()
    #: A closed session's staff-only record (``closed_session_staff_record``): the closed
    #: part itself, never published; its heading says so instead of "not public".
    staff_record: bool = False
    #: The 発言 section (the recording's transcript aligned to its floor turns); None
    #: when the recording has no transcript.
    transcript: tuple[Utterance, ...] | None = None
