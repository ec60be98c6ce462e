"""HTTP API of a recording's transcript job (issue 17; docs/protocol.md "Transcripts").

- ``GET /api/recordings/{id}/transcript``: the job's state, each speaker track's state
  (and why it failed), and the current segments. Readable as the recording is: by staff
  (``recording.view``) always, by the public once it is published, and then without the
  participant ids, the engine's original words or merged-away segments. Anything else gets
  the recordings' one ``404 not_found``.
- ``POST /api/recordings/{id}/transcript/run``: staff (``transcript.run``, CSRF token,
  audited): transcribe every track again. Refused (``409 wrong_state``) while the
  recording is being made or its job is queued or running, when staff corrected the
  transcript (a new run would overwrite their work), and when post-meeting transcription
  is off.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from moderation.meeting import authorize_account
from moderation.policy import Action
from rooms.errors import HirobaError, ProcedureError, Reason
from rooms.model import Role
from server.console.routes import staff
from server.meetings.service import MeetingService
from server.recording.recorder import RecordingState
from server.recording.routes import PRIVATE_CACHE, PUBLIC_CACHE, RecordingsHttp
from server.recording.transcripts import TranscriptJobs
from server.transcription.store import JobState, TranscriptStore

log = logging.getLogger(__name__)


def _json(body: object, cache: str, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers={"Cache-Control": cache},
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


class TranscriptHttp:
    """The transcript routes of one server."""

    def __init__(self, recordings: RecordingsHttp, store: TranscriptStore,
                 jobs: TranscriptJobs, meetings: MeetingService) -> None:
        self.recordings = recordings
        self.store = store
        self.jobs = jobs
        self.meetings = meetings

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/recordings/{id}/transcript", self.transcript)
        app.router.add_post("/api/recordings/{id}/transcript/run", self.run)

    async def transcript(self, request: web.Request) -> web.Response:
        """``GET /api/recordings/{id}/transcript``."""
        row, is_staff = await self.recordings._visible(request)
        job = await self.store.job(row.id)
        tracks = await self.store.tracks(row.id)
        segments = await self.store.segments(row.id)
        body: dict[str, object] = {
            "id": row.id,
            "state": "none" if job is None else job.state.value,
            "model": "" if job is None else job.model,
            "error": "" if job is None else job.error,
            "finished_at": None if job is None else job.finished_at,
            "done": sum(t.state is JobState.DONE for t in tracks),
            "tracks": [{"track": t.track, "name": t.name, "state": t.state.value,
                        "error": t.error, "seconds": round(t.seconds, 2)} for t in tracks],
            "segments": [s.to_json(full=is_staff) for s in segments],
        }
        cache = PUBLIC_CACHE if row.published and not is_staff else PRIVATE_CACHE
        return _json(body, cache)

    async def run(self, request: web.Request) -> web.Response:
        """``POST /api/recordings/{id}/transcript/run``: transcribe it again."""
        # Session and CSRF first: nobody else learns whether the id exists.
        identity, _ = await staff(request, Action.TRANSCRIPT_RUN, change=True)
        try:
            row = await self.recordings.index.get(request.match_info["id"])
        except HirobaError as exc:
            raise HirobaError(Reason.NOT_FOUND, "no such recording") from exc
        if not self.jobs.enabled:
            raise ProcedureError(Reason.WRONG_STATE, "post-meeting transcription is off on "
                                 "this server (transcription_after_meeting)")
        if row.state is RecordingState.RECORDING:
            raise ProcedureError(Reason.WRONG_STATE, "the recording has not stopped yet")
        job = await self.store.job(row.id)
        if job is not None and job.state in (JobState.QUEUED, JobState.RUNNING):
            raise ProcedureError(Reason.WRONG_STATE, "its transcription is already "
                                 f"{job.state.value}")
        if any(s.status != "auto" for s in await self.store.segments(row.id, True)):
            raise ProcedureError(Reason.WRONG_STATE, "staff corrected this transcript; "
                                 "running it again would overwrite their corrections")
        entries = authorize_account(
            identity.name, identity.display_name, Role.STAFF, Action.TRANSCRIPT_RUN,
            self.meetings.clock(), room=row.room_id,
            details={"recording": row.id, "title": row.title})
        await self.jobs.queue(row.id, again=True)
        await self.meetings.commit(row.room_id, entries)
        log.info("transcription of %s queued again by %s", row.id, identity.name)
        return _json({"ok": True, "id": row.id, "state": JobState.QUEUED.value},
                     PRIVATE_CACHE, status=202)


def add_transcript_routes(app: web.Application, recordings: RecordingsHttp,
                          store: TranscriptStore, jobs: TranscriptJobs,
                          meetings: MeetingService) -> TranscriptHttp:
    """Register the transcript routes on ``app``."""
    api = TranscriptHttp(recordings, store, jobs, meetings)
    api.add_routes(app)
    return api
