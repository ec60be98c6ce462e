"""The transcripts of recordings in SQLite (migration 11, issue 17): one job per recording,
each speaker track's state, and the segments (times in seconds from the recording's
start; ``text`` the current words, ``auto_text`` what the engine said, kept for ever).

Every call is one transaction on the store's own thread (``SQLiteStore.run``), so nothing
here blocks the event loop. After any write the :attr:`TranscriptStore.on_change`
listeners are called with the recording id (on the event loop): the minutes cache forgets
that recording's documents, the archive search rebuilds its rows. A module that writes
these tables itself (the staff edits) calls :meth:`TranscriptStore.changed` after its
transaction, for the same reason.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from server.transcription.segments import Segment

log = logging.getLogger(__name__)
T = TypeVar("T")


class Runner(Protocol):
    """What the tables need of the store (``SQLiteStore.run``: one transaction on its
    thread)."""

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...


class JobState(StrEnum):
    """A job's or a track's state."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Job:
    """One recording's transcription job."""

    recording_id: str
    state: JobState
    model: str
    error: str
    queued_at: float
    started_at: float | None
    finished_at: float | None


@dataclass(frozen=True, slots=True)
class Track:
    """One speaker's audio file of a recording and how far its transcription is."""

    recording_id: str
    track: str
    pid: str
    name: str
    state: JobState
    error: str
    #: Seconds the engine spent on it (0 until done).
    seconds: float


@dataclass(frozen=True, slots=True)
class NewSegment:
    """A segment as a job produces it (the store gives it its id)."""

    pid: str
    name: str
    role: str
    turn: int | None
    start: float
    end: float
    text: str



_JOB_COLUMNS = "recording_id, state, model, error, queued_at, started_at, finished_at"
_TRACK_COLUMNS = "recording_id, track, pid, name, state, error, seconds"
_SEGMENT_COLUMNS = ("id, recording_id, track, pid, name, role, turn, start, end, text, "
                    "auto_text, status, removed")


def _job(r: Sequence[object]) -> Job:
    return Job(str(r[0]), JobState(str(r[1])), str(r[2]), str(r[3]), float(r[4]),  # type: ignore[arg-type]
               None if r[5] is None else float(r[5]),  # type: ignore[arg-type]
               None if r[6] is None else float(r[6]))  # type: ignore[arg-type]


def _track(r: Sequence[object]) -> Track:
    return Track(str(r[0]), str(r[1]), str(r[2]), str(r[3]), JobState(str(r[4])), str(r[5]),
                 float(r[6]))  # type: ignore[arg-type]


def segment_row(r: Sequence[object]) -> Segment:
    """A ``transcript_segments`` row (columns in the order of :data:`SEGMENT_COLUMNS`)."""
    return Segment(  # r[1] is the recording, the caller's context
        int(r[0]), str(r[2]), str(r[3]), str(r[4]), str(r[5]),  # type: ignore[call-overload]
        None if r[6] is None else int(r[6]),  # type: ignore[call-overload]
        float(r[7]), float(r[8]), str(r[9]), str(r[10]), str(r[11]), bool(r[12]))  # type: ignore[arg-type]


#: The columns :func:`segment_row` reads, for a module that selects segments itself.
SEGMENT_COLUMNS = _SEGMENT_COLUMNS


def read_segments(c: sqlite3.Connection, recording_id: str,
                  include_removed: bool = False) -> list[Segment]:
    """A recording's segments ordered by start then id (inside a transaction)."""
    rows = c.execute(
        f"SELECT {_SEGMENT_COLUMNS} FROM transcript_segments WHERE recording_id = ?"
        + ("" if include_removed else " AND removed = 0") + " ORDER BY start, id",
        (recording_id,)).fetchall()
    return [segment_row(r) for r in rows]


class TranscriptStore:
    """The transcript tables of a ``SQLiteStore``."""

    def __init__(self, store: Runner) -> None:
        self.store = store
        #: Called with the recording id after every write (on the event loop; must not
        #: block or raise: a listener that raises is logged and the others still run).
        self.on_change: list[Callable[[str], None]] = []
        self._generation: dict[str, int] = {}

    def changed(self, recording_id: str) -> None:
        """Tell the listeners that ``recording_id``'s transcript changed."""
        self._generation[recording_id] = self._generation.get(recording_id, 0) + 1
        for listener in list(self.on_change):
            try:
                listener(recording_id)
            except Exception:
                log.exception("a transcript change listener failed for %s", recording_id)

    def generation(self, recording_id: str) -> int:
        """How many times the transcript of ``recording_id`` changed in this process (a
        part of the minutes cache's version: a change builds them anew)."""
        return self._generation.get(recording_id, 0)

    # -- jobs ---------------------------------------------------------------------------

    async def job(self, recording_id: str) -> Job | None:
        row = await self.store.run(lambda c: c.execute(
            f"SELECT {_JOB_COLUMNS} FROM transcript_jobs WHERE recording_id = ?",
            (recording_id,)).fetchone())
        return None if row is None else _job(row)

    async def jobs(self, states: Sequence[JobState] = tuple(JobState)) -> list[Job]:
        """Jobs in ``states``, oldest queued first."""
        marks = ", ".join("?" for _ in states)
        rows = await self.store.run(lambda c: c.execute(
            f"SELECT {_JOB_COLUMNS} FROM transcript_jobs WHERE state IN ({marks})"
            " ORDER BY queued_at, recording_id", [s.value for s in states]).fetchall())
        return [_job(r) for r in rows]

    async def queue(self, recording_id: str, tracks: Sequence[tuple[str, str, str]],
                    *, now: float | None = None, again: bool = False) -> Job:
        """Queue ``recording_id``'s job with its ``tracks`` ((file, pid, name)). A job
        that exists is left as it is unless ``again``: then every track is queued anew
        (its segments stay until the track's new ones replace them)."""
        at = time.time() if now is None else now

        def write(c: sqlite3.Connection) -> Job:
            row = c.execute(f"SELECT {_JOB_COLUMNS} FROM transcript_jobs"
                            " WHERE recording_id = ?", (recording_id,)).fetchone()
            if row is not None and not again:
                return _job(row)
            c.execute("INSERT INTO transcript_jobs (recording_id, state, queued_at)"
                      " VALUES (?, 'queued', ?) ON CONFLICT (recording_id) DO UPDATE SET"
                      " state = 'queued', error = '', queued_at = excluded.queued_at,"
                      " started_at = NULL, finished_at = NULL", (recording_id, at))
            c.execute("DELETE FROM transcript_tracks WHERE recording_id = ?", (recording_id,))
            c.executemany("INSERT INTO transcript_tracks (recording_id, track, pid, name, state)"
                          " VALUES (?, ?, ?, ?, 'queued')",
                          [(recording_id, f, p, n) for f, p, n in tracks])
            return _job(c.execute(f"SELECT {_JOB_COLUMNS} FROM transcript_jobs"
                                  " WHERE recording_id = ?", (recording_id,)).fetchone())

        job = await self.store.run(write)
        self.changed(recording_id)
        return job

    async def summaries(self) -> dict[str, dict[str, object]]:
        """Every job's state for the console's list: recording id → ``{state, done,
        tracks, error}`` (tracks done and in all)."""
        rows = await self.store.run(lambda c: c.execute(
            "SELECT j.recording_id, j.state, j.error,"
            " (SELECT COUNT(*) FROM transcript_tracks t WHERE t.recording_id = j.recording_id"
            "  AND t.state = 'done'),"
            " (SELECT COUNT(*) FROM transcript_tracks t WHERE t.recording_id = j.recording_id)"
            " FROM transcript_jobs j").fetchall())
        return {str(r[0]): {"state": str(r[1]), "error": str(r[2]), "done": int(r[3]),
                            "tracks": int(r[4])} for r in rows}

    async def set_job(self, recording_id: str, state: JobState, *, model: str | None = None,
                      error: str = "", now: float | None = None) -> None:
        """Move the job to ``state`` (running: its start time; done/failed: its end)."""
        at = time.time() if now is None else now

        def write(c: sqlite3.Connection) -> None:
            c.execute(
                "UPDATE transcript_jobs SET state = ?, error = ?,"
                " model = COALESCE(?, model),"
                " started_at = CASE WHEN ? = 'running' THEN ? ELSE started_at END,"
                " finished_at = CASE WHEN ? IN ('done', 'failed') THEN ? ELSE NULL END"
                " WHERE recording_id = ?",
                (state.value, error, model, state.value, at, state.value, at, recording_id))

        await self.store.run(write)
        self.changed(recording_id)

    async def reset_running(self) -> list[str]:
        """At start: jobs and tracks a stopped server left running are queued again
        (tracks done stay done). Returns the recordings concerned."""

        def write(c: sqlite3.Connection) -> list[str]:
            ids = [str(r[0]) for r in c.execute(
                "SELECT recording_id FROM transcript_jobs WHERE state = 'running'")]
            c.execute("UPDATE transcript_jobs SET state = 'queued' WHERE state = 'running'")
            c.execute("UPDATE transcript_tracks SET state = 'queued' WHERE state = 'running'")
            return ids

        return await self.store.run(write)

    async def delete(self, recording_id: str) -> None:
        """Forget everything of a deleted recording (the retention sweep)."""

        def write(c: sqlite3.Connection) -> None:
            for table in ("transcript_jobs", "transcript_tracks", "transcript_segments",
                          "transcript_edits"):
                c.execute(f"DELETE FROM {table} WHERE recording_id = ?", (recording_id,))

        await self.store.run(write)
        self.changed(recording_id)

    # -- tracks -------------------------------------------------------------------------

    async def tracks(self, recording_id: str) -> list[Track]:
        rows = await self.store.run(lambda c: c.execute(
            f"SELECT {_TRACK_COLUMNS} FROM transcript_tracks WHERE recording_id = ?"
            " ORDER BY track", (recording_id,)).fetchall())
        return [_track(r) for r in rows]

    async def set_track(self, recording_id: str, track: str, state: JobState, *,
                        error: str = "", seconds: float = 0.0) -> None:
        await self.store.run(lambda c: c.execute(
            "UPDATE transcript_tracks SET state = ?, error = ?, seconds = ?"
            " WHERE recording_id = ? AND track = ?",
            (state.value, error, seconds, recording_id, track)))
        self.changed(recording_id)

    # -- segments -----------------------------------------------------------------------

    async def segments(self, recording_id: str,
                       include_removed: bool = False) -> list[Segment]:
        """The recording's segments, ordered by start then id."""
        return await self.store.run(lambda c: read_segments(c, recording_id, include_removed))

    async def replace_segments(self, recording_id: str, track: str,
                               segments: Sequence[NewSegment], *,
                               seconds: float = 0.0) -> None:
        """A track's job output: its old segments out, these in (status ``auto``), and the
        track marked done, in one transaction."""

        def write(c: sqlite3.Connection) -> None:
            c.execute("DELETE FROM transcript_segments WHERE recording_id = ? AND track = ?",
                      (recording_id, track))
            c.executemany(
                "INSERT INTO transcript_segments (recording_id, track, pid, name, role, turn,"
                " start, end, text, auto_text, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " 'auto')",
                [(recording_id, track, s.pid, s.name, s.role, s.turn, s.start, s.end, s.text,
                  s.text) for s in segments])
            c.execute("UPDATE transcript_tracks SET state = 'done', error = '', seconds = ?"
                      " WHERE recording_id = ? AND track = ?", (seconds, recording_id, track))

        await self.store.run(write)
        self.changed(recording_id)
