"""Transcription jobs of stopped recordings (issue 17, "after the meeting").

When a recording stops (or is recovered after a crash) :meth:`TranscriptJobs.queue`
queues its job: one row per speaker track (``audio/NN.opus``, the manifest's speakers,
named from the event log's join lines). One job runs at a time, on one task of the event
loop that only waits: each track goes to the one worker process
(:class:`server.transcription.worker.TrackWorker`), its segments come back with times in
seconds from the recording's start (a track starts when the recording does), each with
its speaker's id, name and role and ``turn``, the index of the floor turn it falls in (the
minutes' own turns: :func:`server.recording.minutes.floor_context`). The recogniser is
given the recording's agenda titles, motion names and member names and the city's
glossary as hints, in the speaker's language: the one their automatic captions were
recognised in, else the room's caption language as logged, else Japanese.

A track that cannot be read (damaged, zero-length) fails alone, with the engine's reason;
the others go on. A restart finds jobs left running and queues them again: tracks done
stay done. Segments inside a closed session (秘密会) are never stored: the public
recording holds no audio of it, and nothing is taken on trust.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from rooms.errors import HirobaError
from server.config.settings import Settings
from server.recording.ids import recording_dir
from server.recording.minutes import FloorContext, floor_context, turn_of
from server.recording.recorder import AUDIO
from server.transcription.engine import read_glossary
from server.transcription.model import cache_dir
from server.transcription.store import JobState, NewSegment, TranscriptStore
from server.transcription.worker import TrackResult, TrackWorker

log = logging.getLogger(__name__)

#: The languages a track may be recognised in (the UI's); anything else logged is taken
#: as Japanese.
LANGUAGES = frozenset({"ja", "en", "zh", "ko"})


def _tracks(folder: Path) -> list[tuple[str, str, str]]:
    """(file, pid, name) of each speaker track of the recording in ``folder``."""
    context = floor_context(folder)
    return [(file, pid, context.who.get(pid, (pid, ""))[0])
            for file, pid in sorted(context.speakers.items())]


def _model_missing(settings: Settings) -> str | None:
    """Why no model can load, found without reading it (the worker verifies it in full):
    jobs fail at once, without starting a process, on a server that never fetched one."""
    folder = settings.transcription_model_dir or cache_dir(settings)
    if not (folder / "model.bin").is_file():
        where = "transcription_model_dir" if settings.transcription_model_dir else \
            "the model cache"
        # (The folder goes to the log only: a published recording's job shows its error.)
        log.warning("no speech-recognition model: %s has no model.bin", folder)
        return f"no speech-recognition model in {where}; run `hiroba models fetch`"
    return None


class TranscriptJobs:
    """The queue of transcription jobs of one server process."""

    def __init__(self, settings: Settings, store: TranscriptStore, root: Path) -> None:
        self.settings = settings
        self.store = store
        self.root = root
        self.worker = TrackWorker(settings)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: The recording whose job runs now (None: idle).
        self.running: str | None = None

    @property
    def enabled(self) -> bool:
        return self.settings.transcription_after_meeting

    async def open(self) -> None:
        """At start: jobs a stopped server left running are queued again, and the queue
        is worked off in the background."""
        resumed = await self.store.reset_running()
        for recording in resumed:
            log.info("transcription of %s resumes after a restart", recording)
        if self.enabled:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="transcripts")
            self._wake.set()

    async def close(self) -> None:
        """Stop: the job in progress stays running in the table (resumed at the next
        start), the worker process is killed."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.worker.close()

    async def queue(self, recording_id: str, *, again: bool = False) -> None:
        """Queue ``recording_id``'s job (its tracks read from the folder, off the loop);
        ``again``: transcribe every track anew."""
        folder = recording_dir(self.root, recording_id)
        tracks = await asyncio.get_running_loop().run_in_executor(None, _tracks, folder)
        await self.store.queue(recording_id, tracks, again=again)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            for job in await self.store.jobs((JobState.QUEUED,)):
                self.running = job.recording_id
                try:
                    await self._job(job.recording_id)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # one bad job must not stop the queue
                    log.exception("transcription of %s failed", job.recording_id)
                    await self.store.set_job(job.recording_id, JobState.FAILED,
                                             error=f"{exc.__class__.__name__}: {exc}")
                finally:
                    self.running = None

    async def _job(self, recording_id: str) -> None:
        loop = asyncio.get_running_loop()
        await self.store.set_job(recording_id, JobState.RUNNING)
        missing = _model_missing(self.settings)
        if missing is not None:
            await self._fail_all(recording_id, missing)
            return
        folder = recording_dir(self.root, recording_id)
        try:
            context = await loop.run_in_executor(None, floor_context, folder)
        except HirobaError as exc:
            await self._fail_all(recording_id, exc.message)
            return
        hints = (*context.terms, *await self._glossary())
        model = ""
        for track in await self.store.tracks(recording_id):
            if track.state is JobState.DONE:
                continue  # (done before a restart)
            await self.store.set_track(recording_id, track.track, JobState.RUNNING)
            path = folder / track.track
            if path.parent != folder / AUDIO:  # only our own audio files
                result = TrackResult(error=f"{track.track} is not a track of this recording")
            else:
                language = context.language_of(track.pid)
                result = await self.worker.transcribe(
                    path, language=language if language in LANGUAGES else "ja", hints=hints)
            if result.model_error:
                # The engine's words name the model's folder: the log has them, the job
                # (which the public reads once published) says what to do.
                log.warning("the speech model is unusable: %s", result.error)
                await self._fail_all(recording_id, "the speech-recognition model is missing "
                                     "or damaged (see the server log); run `hiroba models "
                                     "fetch`")
                return
            if result.error:
                # The reason without the server's folders (a published job shows it).
                result = TrackResult(error=result.error.replace(f"{folder}/", ""),
                                     seconds=result.seconds)
                log.warning("transcription of %s %s failed: %s", recording_id, track.track,
                            result.error)
                await self.store.set_track(recording_id, track.track, JobState.FAILED,
                                           error=result.error, seconds=result.seconds)
                continue
            model = result.model or model
            await self.store.replace_segments(
                recording_id, track.track, _segments(context, track.pid, result),
                seconds=result.seconds)
            log.info("transcribed %s %s: %d segments, %.1f s of audio in %.1f s",
                     recording_id, track.track, len(result.segments), result.duration,
                     result.seconds)
        tracks = await self.store.tracks(recording_id)
        failed = [t for t in tracks if t.state is JobState.FAILED]
        if tracks and len(failed) == len(tracks):
            await self.store.set_job(recording_id, JobState.FAILED, model=model,
                                     error=failed[0].error)
        else:
            await self.store.set_job(recording_id, JobState.DONE, model=model,
                                     error="; ".join(f"{t.track}: {t.error}" for t in failed))

    async def _fail_all(self, recording_id: str, error: str) -> None:
        for track in await self.store.tracks(recording_id):
            if track.state is not JobState.DONE:
                await self.store.set_track(recording_id, track.track, JobState.FAILED,
                                           error=error)
        await self.store.set_job(recording_id, JobState.FAILED, error=error)
        log.warning("transcription of %s failed: %s", recording_id, error)

    async def _glossary(self) -> tuple[str, ...]:
        path = self.settings.transcription_glossary
        if path is None:
            return ()
        try:
            return await asyncio.get_running_loop().run_in_executor(None, read_glossary, path)
        except HirobaError as exc:
            log.warning("the glossary is not used: %s", exc.message)
            return ()


def _segments(context: FloorContext, pid: str, result: TrackResult) -> list[NewSegment]:
    """The worker's segments as stored: the speaker's name and role, the floor turn; none
    inside a closed session."""
    name, role = context.who.get(pid, (pid, ""))
    out = []
    for start, end, text in result.segments:
        middle = (start + end) / 2
        if any(s <= middle and (e is None or middle <= e) for s, e in context.closed):
            continue
        out.append(NewSegment(pid, name, role, turn_of(context.turns, pid, start, end),
                              start, end, text))
    return out
