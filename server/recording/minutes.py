"""Minutes (議事録) of a recorded meeting, built from its folder (issue 6).

:func:`build_minutes` reads ``recording.json``, ``events.jsonl`` and (for how long each
speaker really talked) the packet sizes of ``audio/*.opus``, and returns a frozen
:class:`Minutes`; :func:`render_markdown` and :func:`render_html` write it out. Building
reads files and so blocks: callers on the event loop run it in an executor. Nothing else
here does I/O.

Times come from the event log's ``t`` (milliseconds since the recording started, from a
monotonic clock) added to the manifest's ``started``, and are shown in ``tz``: the city's
time zone (the ``time_zone`` setting), never the machine's (often UTC on a server). What
the public minutes hold is what the room saw live: opinions and questions without their
authors' names (as the exports), hidden ones left out, citizens in the attendance counted
but not named; ``include_moderation`` (staff) adds names, hidden items and the moderation
actions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from moderation.committee import committee_summary
from rooms.model import Role
from server.meetings.store import committee_record
from server.recording.event_log import Event, read_events
from server.recording.index import RecordingRow
from server.recording.minutes_render import render_html, render_markdown
from server.recording.minutes_types import (
    AgendaEntry,
    Attendee,
    CaptionEntry,
    Minutes,
    ModerationEntry,
    OpinionEntry,
    PollResult,
    QuestionEntry,
    SpeakingTime,
    SpokenLine,
    Turn,
    Utterance,
)
from server.recording.recorder import AUDIO, EVENTS, Manifest, read_manifest
from server.recording.speech import Speech, overlap, speech_of
from server.transcription.segments import Segment

log = logging.getLogger(__name__)

__all__ = [
    "FloorContext", "Minutes", "build_minutes", "floor_context", "render_html",
    "render_markdown", "turn_of",
]

#: Seconds since the recording started → the time shown.
At = Callable[[float], datetime]
#: Order of the attendance groups (then anyone with a role this list does not know).
ROLE_ORDER = (Role.CHAIR, Role.MEMBER, Role.STAFF, Role.CAPTIONER, Role.OBSERVER,
              Role.CITIZEN)
#: Speech outside the speaker's own floor turns shorter than this is not a timeline entry
#: (an aside; it still counts in their speaking time).
MIN_VOICE_TURN_S = 1.0
#: Pauses shorter than this join two stretches of such speech into one timeline entry.
VOICE_TURN_GAP_S = 3.0


def _s(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _f(value: object, default: float = 0.0) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else default


def _i(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _d(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


@dataclass
class _Builder:
    """Walks the event log once; times in seconds since the recording started."""

    end: float
    staff: bool
    #: pid → (name, role) of everyone named in the log.
    who: dict[str, tuple[str, str]] = field(default_factory=dict)
    stays: dict[str, list[list[float | None]]] = field(default_factory=dict)
    at_start: set[str] = field(default_factory=set)
    titles: dict[int, str] = field(default_factory=dict)
    planned: dict[int, int] = field(default_factory=dict)
    overran: set[int] = field(default_factory=set)
    opened: dict[int, float] = field(default_factory=dict)
    agenda_first: dict[int, float] = field(default_factory=dict)
    agenda_spent: dict[int, float] = field(default_factory=dict)
    turns: list[tuple[str, float, float]] = field(default_factory=list)
    holder: tuple[str, float] | None = None
    captions: dict[int, tuple[float, str, str | None]] = field(default_factory=dict)
    polls: dict[int, dict[str, Any]] = field(default_factory=dict)
    poll_times: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)
    opinions: dict[int, dict[str, Any]] = field(default_factory=dict)
    questions: dict[int, dict[str, Any]] = field(default_factory=dict)
    moderation: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    #: Closed sessions from the recording's pause markers: [start, end | None], Unix.
    closed: list[list[float | None]] = field(default_factory=list)
    #: The log is a closed session's staff-only record (its first line says so).
    staff_record: bool = False
    #: The recording's start (Unix seconds), for markers without their own time.
    origin: float = 0.0
    #: The last committee record logged (committee rooms), with every vote and motion
    #: logged (by id: the latest line's version).
    committee: dict[str, Any] | None = None
    committee_votes: dict[int, dict[str, Any]] = field(default_factory=dict)
    committee_motions: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: The room's automatic-caption language as last logged ("" if never), and the
    #: language each speaker's automatic captions were recognised in.
    caption_lang: str = ""
    spoken_lang: dict[str, str] = field(default_factory=dict)

    def name(self, data: Mapping[str, Any]) -> None:
        pid = data.get("pid")
        if isinstance(pid, str) and "pid_name" in data:
            self.who[pid] = (_s(data["pid_name"]), _s(data.get("pid_role")))

    def event(self, t: float, e: Event) -> None:
        data = e.data
        self.name(data)
        handler = getattr(self, f"_{e.kind.value}", None)
        if handler is not None:
            handler(t, data)

    def _join(self, t: float, data: Mapping[str, Any]) -> None:
        pid = _s(data.get("pid"))
        if not pid:
            return
        if data.get("type") == "meeting.present":
            self.at_start.add(pid)
        stays = self.stays.setdefault(pid, [])
        if not stays or stays[-1][1] is not None:  # not already in (place_changed twice)
            stays.append([t, None])

    def _leave(self, t: float, data: Mapping[str, Any]) -> None:
        stays = self.stays.get(_s(data.get("pid")))
        if stays and stays[-1][1] is None:
            stays[-1][1] = t
        if self.holder is not None and self.holder[0] == data.get("pid"):
            self._end_turn(t)

    def _end_turn(self, t: float) -> None:
        if self.holder is not None:
            self.turns.append((self.holder[0], self.holder[1], t))
            self.holder = None

    def _floor(self, t: float, data: Mapping[str, Any]) -> None:
        kind, pid = data.get("type"), _s(data.get("pid"))
        if kind == "floor.given" and pid:
            self._end_turn(t)
            self.holder = (pid, t)
        elif kind == "floor.ended" and pid:
            if self.holder is None or self.holder[0] != pid:
                # Given before the recording started: the turn's own length says when.
                self.holder = (pid, max(0.0, t - _f(data.get("spoken"))))
            self._end_turn(t)

    def _agenda(self, t: float, data: Mapping[str, Any]) -> None:
        kind = data.get("type")
        item = _d(data.get("item"))
        if kind in ("agenda.added", "agenda.edited") and "id" in item:
            self.titles[_i(item["id"])] = _s(item.get("title"))
            self.planned[_i(item["id"])] = _i(item.get("planned"))
            return
        item_id = _i(data.get("item_id"))
        if kind == "agenda.opened":
            self.titles[item_id] = _s(data.get("title"))
            self.planned[item_id] = _i(data.get("planned"))
            self.opened[item_id] = t
            self.agenda_first.setdefault(item_id, t)
        elif kind == "agenda.closed":
            # Opened before the recording started: it was open from its start.
            since = self.opened.pop(item_id, 0.0)
            self.agenda_first.setdefault(item_id, since)
            self.agenda_spent[item_id] = self.agenda_spent.get(item_id, 0.0) + t - since
        elif kind == "agenda.overran":
            self.overran.add(item_id)

    def _caption(self, t: float, data: Mapping[str, Any]) -> None:
        line = _d(data.get("line"))
        seq = _i(line.get("seq"))
        # The language automatic captions heard each speaker in, and the room's caption
        # language: the transcription job recognises their tracks in it (issue 17).
        if data.get("type") == "caption.mode" and isinstance(data.get("lang"), str):
            self.caption_lang = data["lang"]
        if line.get("auto") and isinstance(line.get("speaker"), str) and \
                isinstance(line.get("lang"), str) and line["lang"]:
            self.spoken_lang[line["speaker"]] = line["lang"]
        if data.get("type") == "caption.posted":
            self.captions[seq] = (t, _s(line.get("text")), None)
        elif data.get("type") == "caption.corrected":
            at, text, _ = self.captions.get(seq, (t, "", None))
            self.captions[seq] = (at, text, _s(line.get("text")))

    def _poll(self, t: float, data: Mapping[str, Any]) -> None:
        poll = _d(data.get("poll"))
        poll_id = _i(poll.get("id"))
        self.polls[poll_id] = poll
        opened, closed = self.poll_times.get(poll_id, (None, None))
        if data.get("change") == "opened":
            opened = t
        if poll.get("state") == "closed" and closed is None:
            closed = t
        self.poll_times[poll_id] = (opened, closed)

    def _opinion(self, t: float, data: Mapping[str, Any]) -> None:
        view = _d(data.get("opinion"))
        opinion_id = _i(view.get("id"))
        before = self.opinions.get(opinion_id, {})
        # A hidden opinion is logged by id only: keep what it said for the staff minutes.
        self.opinions[opinion_id] = {**before, **view}

    def _question(self, t: float, data: Mapping[str, Any]) -> None:
        view = _d(data.get("question"))
        self.questions[_i(view.get("id"))] = view

    def _moderation(self, t: float, data: Mapping[str, Any]) -> None:
        if data.get("type") in ("sanction.imposed", "sanction.lifted"):
            return  # its audit entry says the same, with who did it
        if self.staff:
            self.moderation.append((t, dict(data)))

    def _recording(self, t: float, data: Mapping[str, Any]) -> None:
        # A closed session's pause (秘密会): its start and end as Unix times.
        if data.get("type") == "committee.closed_session.staff_record":
            self.staff_record = True
        if data.get("type") != "committee.closed_session":
            return
        if data.get("closed") is True:
            self.closed.append([_f(data.get("at"), self.origin + t), None])
        elif self.closed and self.closed[-1][1] is None:
            self.closed[-1][1] = _f(data.get("at"), self.origin + t)

    def _committee(self, t: float, data: Mapping[str, Any]) -> None:
        if data.get("type") == "committee.record" and isinstance(data.get("record"), dict):
            # A line holds the votes and motions its change concerned and those still
            # open (events.py): gathered by id, the latest line's version of each.
            record = data["record"]
            for key, kept in (("votes", self.committee_votes),
                              ("motions", self.committee_motions)):
                for item in record.get(key) or ():
                    if isinstance(item, dict):
                        kept[_i(item.get("id"))] = item
            self.committee = {**record,
                              "votes": [v for _, v in sorted(self.committee_votes.items())],
                              "motions": [m for _, m in sorted(self.committee_motions.items())]}
        elif data.get("type") == "committee.gallery" and self.committee is not None:
            # The gallery's numbers, logged apart from the record (every few seconds).
            self.committee = {**self.committee, "gallery_peak": _i(data.get("peak")),
                              "gallery_total": _i(data.get("total"))}

    def finish(self) -> None:
        self._end_turn(self.end)
        for item_id, since in list(self.opened.items()):
            self.agenda_spent[item_id] = self.agenda_spent.get(item_id, 0.0) + self.end - since
        self.opened.clear()


def _moderation_entry(at: datetime, data: Mapping[str, Any]) -> ModerationEntry:
    if data.get("type") == "audit.entry":
        entry = _d(data.get("entry"))
        details = "; ".join(f"{k}={v}" for k, v in _d(entry.get("details")).items())
        return ModerationEntry(at, _s(entry.get("actor_name")), _s(entry.get("action")),
                               _s(entry.get("target_name")), _s(entry.get("reason")), details)
    sanction = _d(data.get("sanction"))
    report = _d(data.get("report"))
    if sanction:
        return ModerationEntry(at, "", _s(data.get("type")), _s(sanction.get("name")),
                               _s(sanction.get("reason")), _s(sanction.get("kind")))
    return ModerationEntry(at, _s(report.get("reporter_name")), _s(data.get("type")),
                           _s(_d(report.get("message")).get("author_name")),
                           _s(report.get("reason")), f"message={_s(report.get('message_id'))}")


def _role_rank(role: str) -> int:
    values = [r.value for r in ROLE_ORDER]
    return values.index(role) if role in values else len(values)


def _speech(folder: Path, speakers: Mapping[str, str]) -> dict[str, list[Speech]]:
    out: dict[str, list[Speech]] = {}
    for name, pid in speakers.items():
        path = folder / name
        if path.parent != folder / AUDIO or not path.is_file():
            continue  # only our own audio files, whatever a manifest says
        out.setdefault(pid, []).extend(speech_of(path))
    return out


def _walk(folder: Path, staff: bool) -> tuple[Manifest, _Builder]:
    """The manifest of the recording in ``folder`` and its event log walked once."""
    manifest = read_manifest(folder)
    log = read_events(folder / EVENTS) if (folder / EVENTS).is_file() else None
    events = [] if log is None else log.events
    end_ms = max([manifest.duration_ms, *(e.t_ms for e in events)])
    b = _Builder(end_ms / 1000, staff, origin=manifest.started)
    for e in events:
        b.event(e.t_ms / 1000, e)
    b.finish()
    return manifest, b


@dataclass(frozen=True)
class FloorContext:
    """What a transcription job needs of a recording (issue 17): who speaks in which
    audio file, who they are, the floor turns the minutes show (the same list, so a
    segment's ``turn`` is an index into the minutes' turns), the words to hint the
    recogniser with, and the closed sessions (秘密会), whose time no transcript may hold."""

    #: Audio file (``audio/01.opus``) → participant id.
    speakers: Mapping[str, str]
    #: Participant id → (name, role), from the event log.
    who: Mapping[str, tuple[str, str]]
    #: (holder pid, start, end), seconds from the recording's start, in order.
    turns: tuple[tuple[str, float, float], ...]
    #: Member and chair names, agenda titles, motion titles (in that order).
    terms: tuple[str, ...]
    #: (start, end or None), seconds from the recording's start.
    closed: tuple[tuple[float, float | None], ...]
    seconds: float
    #: Participant id → the language their automatic captions were recognised in.
    languages: Mapping[str, str] = field(default_factory=dict)
    #: The room's automatic-caption language as the log last says ("": not said).
    language: str = ""

    def language_of(self, pid: str, default: str = "ja") -> str:
        """The language to recognise ``pid``'s track in: theirs as the live captions
        heard it, else the room's caption language, else ``default``."""
        return self.languages.get(pid) or self.language or default


def floor_context(folder: Path) -> FloorContext:
    """The :class:`FloorContext` of the recording in ``folder`` (blocking: reads it)."""
    manifest, b = _walk(folder, False)
    names = [name for name, role in b.who.values()
             if role in (Role.CHAIR.value, Role.MEMBER.value)]
    motions = [_s(m.get("title")) for m in (b.committee or {}).get("motions") or ()
               if isinstance(m, Mapping)]
    titles = [b.titles[i] for i in sorted(b.titles)]
    closed = tuple((max(0.0, (s or 0.0) - manifest.started),
                    None if e is None else e - manifest.started) for s, e in b.closed)
    return FloorContext(dict(manifest.speakers), dict(b.who), tuple(b.turns),
                        tuple(t for t in (*names, *titles, *motions) if t), closed, b.end,
                        dict(b.spoken_lang), b.caption_lang)


def turn_of(turns: Sequence[tuple[str, float, float]], pid: str, start: float,
            end: float) -> int | None:
    """The index of ``pid``'s floor turn that the segment ``start``–``end`` falls in (by
    its middle), None when it is outside their turns (the chair's remarks during a
    member's turn are the chair's, not the member's)."""
    middle = (start + end) / 2
    for i, (holder, s, e) in enumerate(turns):
        if holder == pid and s <= middle <= e:
            return i
    return None


def build_minutes(
    folder: Path, row: RecordingRow | None, *, include_moderation: bool,
    tz: tzinfo, audio: bool = True, transcript: Sequence[Segment] | None = None,
) -> Minutes:
    """The minutes of the recording in ``folder`` (its index ``row`` when known: the title
    there wins). ``include_moderation`` makes the staff version. ``tz``: the time zone
    times are shown in (the city's). ``audio``: refine speaking times
    from the audio files' packet sizes. ``transcript``: the recording's current transcript
    segments (None: it has none), for the 発言 section. Blocking (reads the folder).
    Raises ``HirobaError(NOT_FOUND)`` when the folder holds no readable recording."""
    manifest, b = _walk(folder, include_moderation)
    # The zone's offset on the meeting's day (summer time included), not today's.
    start = datetime.fromtimestamp(manifest.started, tz)

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    speech = _speech(folder, manifest.speakers) if audio else {}
    return Minutes(
        recording_id=manifest.id,
        room=row.room_id if row is not None else manifest.room,
        title=(row.title if row is not None and row.title else manifest.title) or manifest.room,
        started=start, ended=at(b.end), seconds=b.end, recovered=manifest.recovered,
        staff=include_moderation,
        attendance=_attendance(b, at, include_moderation),
        citizens=len({b.who.get(p, ("", ""))[0] for p in b.stays
                      if b.who.get(p, ("", ""))[1] == Role.CITIZEN.value}),
        agenda=tuple(
            AgendaEntry(i, b.titles.get(i) or f"#{i}", at(first), b.agenda_spent.get(i, 0.0),
                        b.planned.get(i, 0), i in b.overran)
            for i, first in sorted(b.agenda_first.items(), key=lambda kv: kv[1])),
        timeline=_timeline(b, speech, at, bool(audio and manifest.speakers)),
        speaking=_speaking(b, speech, bool(audio and manifest.speakers)),
        captions=tuple(CaptionEntry(at(t), text, corrected)
                       for _seq, (t, text, corrected) in sorted(b.captions.items())),
        polls=tuple(_poll(p, b.poll_times.get(i, (None, None)), at)
                    for i, p in sorted(b.polls.items())),
        opinions=tuple(_opinion(o, start, include_moderation)
                       for _i_, o in sorted(b.opinions.items())
                       if include_moderation or not o.get("hidden")),
        questions=tuple(QuestionEntry(
            _from_unix(q.get("at"), start), _s(q.get("text")), _i(q.get("votes")),
            _s(q.get("state")), _s(q.get("answer")),
            _s(q.get("author_name")) if include_moderation else "")
            for _i_, q in sorted(b.questions.items())),
        moderation=tuple(_moderation_entry(at(t), d) for t, d in b.moderation)
        if include_moderation else None,
        audio=bool(audio and manifest.speakers),
        committee=_checkers(_committee(b.committee, manifest.started,
                                       manifest.started + b.end, tz), b.who, include_moderation),
        closed=tuple((datetime.fromtimestamp(s or 0.0, tz),
                      None if e is None else datetime.fromtimestamp(e, tz))
                     for s, e in b.closed),
        staff_record=b.staff_record,
        transcript=None if transcript is None else _utterances(b, transcript, at),
    )


def _utterances(b: _Builder, segments: Sequence[Segment],
                at: At) -> tuple[Utterance, ...]:
    """The 発言 section: every floor turn with the segments stored against it, and the
    segments outside turns (consecutive ones of one speaker together), in order of time.
    A segment inside a closed session (秘密会) is left out whatever put it there."""
    closed = [((s or 0.0) - b.origin, None if e is None else e - b.origin)
              for s, e in b.closed]

    def hidden(x: Segment) -> bool:
        middle = (x.start + x.end) / 2
        return any(s <= middle and (e is None or middle <= e) for s, e in closed)

    def line(x: Segment) -> SpokenLine:
        return SpokenLine(at(x.start), at(x.end), x.text, x.status)

    in_turn: dict[int, list[Segment]] = {}
    loose: list[list[Segment]] = []
    for x in sorted(segments, key=lambda x: (x.start, x.id)):
        if x.removed or hidden(x):
            continue
        if x.turn is not None and 0 <= x.turn < len(b.turns):
            in_turn.setdefault(x.turn, []).append(x)
        elif loose and loose[-1][-1].pid == x.pid and (
                x.start - loose[-1][-1].end <= VOICE_TURN_GAP_S):
            loose[-1].append(x)
        else:
            loose.append([x])
    items: list[tuple[float, Utterance]] = []
    for i, (pid, s, e) in enumerate(b.turns):
        name, role = b.who.get(pid, (pid, ""))
        items.append((s, Utterance(i, name, role, at(s), at(e),
                                   tuple(line(x) for x in in_turn.get(i, ())))))
    for group in loose:
        first = group[0]
        name, role = b.who.get(first.pid, (first.name, first.role))
        items.append((first.start, Utterance(None, name, role, at(first.start),
                                             at(group[-1].end),
                                             tuple(line(x) for x in group))))
    return tuple(u for _s_, u in sorted(items, key=lambda x: x[0]))


#: Keys of the committee summary that hold times (Unix seconds).
_TIME_KEYS = frozenset({"at", "start", "end", "opened_at", "closed_at", "decided_at",
                        "lifted_at", "ended_at"})


def _checkers(summary: dict[str, Any] | None, who: Mapping[str, tuple[str, str]],
              staff: bool) -> dict[str, Any] | None:
    """Who made each identity check, as the minutes name them (``by_name``): the chair by
    name and role (a participant id in the record); staff by their login in the staff
    edition and as 事務局 (``staff``) in the public one, which names no login."""
    if summary is None:
        return None
    for member in summary.get("attendance", []):
        # Identity checks, and requests for the member's camera: named alike.
        for check in [*member.get("verifications", []), *member.get("camera_requests", [])]:
            by = _s(check.get("by"))
            if by in who:
                name, role = who[by]
                check["by_name"], check["by_role"] = name, role
            else:
                check["by_name"], check["by_role"] = (by if staff else ""), Role.STAFF.value
    return summary


def _committee(
    record: dict[str, Any] | None, since: float, until: float, tz: tzinfo
) -> dict[str, Any] | None:
    """The committee's part of these minutes: its record as logged last, summed up for the
    recording's window, times in ``tz``; None when the room logged none (or it is bad)."""
    if record is None:
        return None
    try:
        parsed = committee_record(json.dumps(record))
    except (TypeError, KeyError, ValueError):
        log.warning("the committee record of a recording does not read back; left out")
        return None

    def zoned(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (datetime.fromtimestamp(v, tz) if k in _TIME_KEYS
                        and isinstance(v, int | float) else zoned(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [zoned(v) for v in value]
        return value

    out = zoned(committee_summary(parsed, since, until))
    assert isinstance(out, dict)
    return out


def _from_unix(value: object, start: datetime) -> datetime:
    """A Unix time of the meeting (``at`` of an opinion or question) in ``start``'s zone."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, start.tzinfo)
    return start


def _attendance(b: _Builder, at: At, staff: bool) -> tuple[Attendee, ...]:
    merged: dict[tuple[str, str], list[float | None]] = {}
    starting: set[tuple[str, str]] = set()
    for pid, stays in b.stays.items():
        key = b.who.get(pid, (pid, ""))
        if key[1] == Role.CITIZEN.value and not staff:
            continue  # counted, not named, in the public minutes
        first, last = merged.get(key, [None, 0.0])
        for joined, left in stays:
            first = joined if first is None else min(first, joined or 0.0)
            last = None if last is None or left is None else max(last, left)
        merged[key] = [first, last]
        if pid in b.at_start:
            starting.add(key)
    people = [Attendee(name, role, at(first or 0.0), None if left is None else at(left),
                       (name, role) in starting)
              for (name, role), (first, left) in merged.items()]
    return tuple(sorted(people, key=lambda a: (_role_rank(a.role), a.joined, a.name)))


def _timeline(b: _Builder, speech: dict[str, list[Speech]], at: At,
              audio: bool) -> tuple[Turn, ...]:
    turns = []
    own: dict[str, list[tuple[float, float]]] = {}
    for pid, s, e in b.turns:
        name, role = b.who.get(pid, (pid, ""))
        voiced = overlap(speech[pid], s, e) if pid in speech else (0.0 if audio else None)
        turns.append((s, Turn(name, role, at(s), at(e), e - s, voiced, "floor")))
        own.setdefault(pid, []).append((s, e))
    for pid, stretches in speech.items():
        name, role = b.who.get(pid, (pid, ""))
        outside = [x for x in stretches
                   if not any(s <= (x.start + x.end) / 2 <= e for s, e in own.get(pid, []))]
        joined: list[list[float]] = []
        for x in outside:
            if joined and x.start - joined[-1][1] <= VOICE_TURN_GAP_S:
                joined[-1][1] = x.end
            else:
                joined.append([x.start, x.end])
        for s, e in joined:
            if e - s >= MIN_VOICE_TURN_S:
                turns.append((s, Turn(name, role, at(s), at(e), e - s,
                                      overlap(stretches, s, e), "voice")))
    return tuple(t for _s_, t in sorted(turns, key=lambda x: x[0]))


def _speaking(b: _Builder, speech: dict[str, list[Speech]],
              audio: bool) -> tuple[SpeakingTime, ...]:
    totals: dict[tuple[str, str], list[float]] = {}
    for pid, s, e in b.turns:
        row = totals.setdefault(b.who.get(pid, (pid, "")), [0, 0.0, 0.0])
        row[0] += 1
        row[1] += e - s
    for pid, stretches in speech.items():
        row = totals.setdefault(b.who.get(pid, (pid, "")), [0, 0.0, 0.0])
        row[2] += sum(x.seconds for x in stretches)
    out = [SpeakingTime(name, role, int(n), floor, voiced if audio else None)
           for (name, role), (n, floor, voiced) in totals.items()]
    return tuple(sorted(out, key=lambda x: -(x.voiced_seconds or x.floor_seconds)))


def _poll(p: Mapping[str, Any], times: tuple[float | None, float | None],
          at: At) -> PollResult:
    opened, closed = times
    options = p.get("options")
    counts = p.get("counts")
    return PollResult(
        _s(p.get("question")),
        tuple(_s(o) for o in options) if isinstance(options, list) else (),
        tuple(_i(c) for c in counts) if isinstance(counts, list) else (),
        _i(p.get("voters")),
        None if opened is None else at(opened), None if closed is None else at(closed))


def _opinion(o: Mapping[str, Any], start: datetime, staff: bool) -> OpinionEntry:
    return OpinionEntry(
        _from_unix(o.get("at"), start), _s(o.get("category")), _s(o.get("text")),
        _i(o.get("supports")), _s(o.get("status")), _s(o.get("response")),
        _s(o.get("author_name")) if staff else "", bool(o.get("hidden")))
