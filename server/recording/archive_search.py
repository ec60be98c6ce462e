"""The archive search's rows kept up to date (issue 17; docs/recording.md "Archive search").

Every stopped recording with a transcript or minutes has rows in ``archive_search``
(:mod:`server.transcription.search`): its current segments (never one inside a closed
session, 秘密会, whatever put it there) and its minutes as the public reads them (the
published approved version, else the generated public minutes). Rows are rebuilt when the
transcript changes (the transcript store's ``on_change``: a job's output, a staff edit)
and when the recording is published or unpublished or its approved minutes are published.
A rebuild runs as a task per recording, at most one at a time (a change during one runs
it once more after), the minutes built in an executor. Who may read which rows is decided
by the query, not here: the public search joins ``recordings.published``.

Queries run on a read-only connection of their own, in one thread of their own (the
database is in WAL mode: readers never wait for the store's writer), so a slow query (a
two-character word found nowhere reads every row: 0.33 s at 300,000 rows,
``bench/archive_search.py``) never holds up the meetings' writes on the store's thread.
A query has :data:`QUERY_BUDGET_S` of SQLite's time; at most :data:`MAX_WAITING` wait
for the thread, beyond which a query is refused ``429 rate_limited``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import tzinfo
from pathlib import Path
from typing import Final

from rooms.errors import HirobaError, Reason
from server.recording.approval import MinutesApprovals
from server.recording.ids import recording_dir
from server.recording.index import RecordingIndex, RecordingRow
from server.recording.minutes import build_minutes, floor_context, render_markdown
from server.recording.recorder import RecordingState
from server.transcription.search import Hit, drop_rows_sql, replace_rows_sql, search_sql
from server.transcription.segments import Segment
from server.transcription.store import TranscriptStore

log = logging.getLogger(__name__)

#: Seconds of SQLite work one query may take before it is stopped.
QUERY_BUDGET_S: Final = 2.0
#: Queries waiting for the search thread at most.
MAX_WAITING: Final = 8


class ArchiveSearch:
    """Keeps ``archive_search`` in step with the recordings and answers queries."""

    def __init__(self, index: RecordingIndex, transcripts: TranscriptStore,
                 zone: tzinfo, database: Path | None = None) -> None:
        """``database``: the SQLite file, for queries on a connection of their own (None:
        on the store's thread)."""
        self.index = index
        self.database = database
        self._reader: sqlite3.Connection | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search")
        self._waiting = 0
        self.transcripts = transcripts
        self.approvals = MinutesApprovals(index.store)
        self.zone = zone
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        #: Rebuilds done since start (tests wait on it through :meth:`idle`).
        self.rebuilt = 0

    def changed(self, recording: str) -> None:
        """A listener: ``recording``'s rows are rebuilt soon (on the event loop)."""
        if recording in self._running:
            self._again.add(recording)
            return
        task = asyncio.get_running_loop().create_task(self._rebuild_loop(recording))
        self._running[recording] = task

    async def _rebuild_loop(self, recording: str) -> None:
        try:
            while True:
                self._again.discard(recording)
                try:
                    await self.rebuild(recording)
                except Exception:  # the next change tries again; the search answers on
                    log.exception("archive search rows of %s not rebuilt", recording)
                if recording not in self._again:
                    return
        finally:
            self._running.pop(recording, None)

    async def idle(self) -> None:
        """Wait until no rebuild is running (tests; shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def close(self) -> None:
        """Stop the rebuilds and close the query connection."""
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*list(self._running.values()), return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(self._pool, self._disconnect)
        self._pool.shutdown(wait=False)

    def _disconnect(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def rebuild(self, recording: str) -> int:
        """Rebuild ``recording``'s rows now; returns how many it has (0: it is gone or
        still recording)."""
        try:
            row = await self.index.get(recording)
        except HirobaError:
            await self.index.store.run(lambda c: drop_rows_sql(c, recording))
            return 0
        if row.state is RecordingState.RECORDING:
            return 0
        segments = await self.transcripts.segments(recording)
        approved = await self.approvals.published(recording)
        loop = asyncio.get_running_loop()
        shown, minutes = await loop.run_in_executor(
            None, self._texts, row, segments, None if approved is None else approved.text)
        count = await self.index.store.run(
            lambda c: replace_rows_sql(c, recording, shown, minutes))
        self.rebuilt += 1
        return count

    def _texts(self, row: RecordingRow, segments: list[Segment],
               approved: str | None) -> tuple[list[Segment], str]:
        """The segments the public may find (none inside a closed session) and the
        minutes' text. Blocking: reads the recording's folder."""
        folder = recording_dir(self.index.root, row.id)
        try:
            closed = floor_context(folder).closed
        except HirobaError:
            return [], approved or ""  # the folder is gone: its words are not shown

        def hidden(s: Segment) -> bool:
            middle = (s.start + s.end) / 2
            return any(a <= middle and (b is None or middle <= b) for a, b in closed)

        shown = [s for s in segments if not hidden(s)]
        if approved is not None:
            return shown, approved
        try:
            # Without the 発言 section: its words are rows of their own (the segments,
            # each with its moment for the replay link), not twice.
            m = build_minutes(folder, row, include_moderation=False, tz=self.zone)
            return shown, render_markdown(m, lang="ja")
        except HirobaError:
            return shown, ""

    async def search(self, words: list[str], *, published_only: bool) -> list[Hit]:
        """The hits of ``words`` (:func:`server.transcription.search.terms`)."""
        if self.database is None:
            return await self.index.store.run(
                lambda c: search_sql(c, words, published_only=published_only))
        if self._waiting >= MAX_WAITING:
            raise HirobaError(Reason.RATE_LIMITED, "the search is busy: try again shortly")
        self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, self._query, words, published_only)
        finally:
            self._waiting -= 1

    def _query(self, words: list[str], published_only: bool) -> list[Hit]:
        """On the search thread: one query on the read-only connection, within budget."""
        if self._reader is None:
            assert self.database is not None
            self._reader = sqlite3.connect(f"{self.database.resolve().as_uri()}?mode=ro",
                                           uri=True, check_same_thread=False)
            self._reader.execute("PRAGMA busy_timeout = 2000")
        deadline = time.monotonic() + QUERY_BUDGET_S
        self._reader.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        try:
            return search_sql(self._reader, words, published_only=published_only)
        except sqlite3.OperationalError as exc:
            if "interrupted" not in str(exc):
                raise
            raise HirobaError(Reason.TOO_LONG, "the search took too long: use longer or "
                              "more words") from exc
