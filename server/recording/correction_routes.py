"""HTTP API of transcript correction and the archive search (issue 17; docs/protocol.md,
docs/recording.md "Correcting the transcript", "Archive search").

- ``GET /api/recordings/{id}/transcript/edits``: staff; the current segments (removed
  ones left out), the version (how many edits) and every edit (who, when, before, after).
- ``POST /api/recordings/{id}/transcript/edits {kind, segment, ...}``: staff, CSRF,
  audited (``transcript.edit``); one edit (:mod:`server.transcription.edits`).
- ``GET /api/recordings/{id}/transcript/diff?from=A&to=B``: staff; a unified diff of the
  transcript after edit A and after edit B (0: before any), computed in an executor.
- ``GET /api/search?q=...[&all=1]``: anyone, published recordings only; ``all=1`` with a
  staff session: every recording. Rate-limited per address like the archive list.

The staff session (and on a change the CSRF token) is checked before anything else, so
nobody without one learns whether an id exists.
"""

from __future__ import annotations

import asyncio
import difflib
import json

from aiohttp import web

from moderation.meeting import authorize_account
from moderation.policy import Action
from rooms.errors import HirobaError, Reason, ValidationError
from rooms.model import Role
from server.console.routes import read_json, staff
from server.meetings.service import MeetingService
from server.recording.archive_search import ArchiveSearch
from server.recording.index import RecordingIndex, RecordingRow
from server.transcription.edit_store import EditStore
from server.transcription.edits import shown_text
from server.transcription.search import terms
from server.transcription.segments import Segment

_PRIVATE = {"Cache-Control": "private, no-store"}
_UNKNOWN = "no such recording"
#: An edit's body at most (a text of MAX_TEXT_CHARS, each character as a 6-byte escape).
MAX_EDIT_BODY = 16 * 1024


def _json(body: object, *, cache: str = "private, no-store") -> web.Response:
    return web.json_response(body, headers={"Cache-Control": cache},
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


def unified(before: list[Segment], after: list[Segment], a: int, b: int) -> str:
    """The unified diff of two versions' transcripts (blocking: run it in an executor)."""
    return "".join(difflib.unified_diff(
        shown_text(before).splitlines(keepends=True),
        shown_text(after).splitlines(keepends=True),
        fromfile=f"version {a}", tofile=f"version {b}"))


class CorrectionHttp:
    """The transcript edit routes and ``/api/search`` of one server."""

    def __init__(self, index: RecordingIndex, meetings: MeetingService, edits: EditStore,
                 search: ArchiveSearch) -> None:
        self.index = index
        self.meetings = meetings
        self.edits = edits
        self.search = search

    def add_routes(self, app: web.Application) -> None:
        base = "/api/recordings/{id}/transcript"
        app.router.add_get(f"{base}/edits", self.list_edits)
        app.router.add_post(f"{base}/edits", self.edit)
        app.router.add_get(f"{base}/diff", self.diff)
        app.router.add_get("/api/search", self.query)

    async def _row(self, request: web.Request) -> RecordingRow:
        try:
            return await self.index.get(request.match_info["id"])
        except HirobaError as exc:
            raise HirobaError(Reason.NOT_FOUND, _UNKNOWN) from exc

    async def list_edits(self, request: web.Request) -> web.Response:
        """``GET .../transcript/edits``: the segments, the version and the edits."""
        await staff(request, Action.RECORDING_VIEW)
        row = await self._row(request)
        segs = await self.edits.segments(row.id)
        edits = await self.edits.edits(row.id)
        return _json({"recording": row.id, "title": row.title, "started": row.started,
                      "published": row.published, "version": len(edits),
                      "segments": [s.to_json() for s in segs if not s.removed],
                      "edits": [e.to_json() for e in edits]})

    async def edit(self, request: web.Request) -> web.Response:
        """``POST .../transcript/edits``: apply and keep one edit (audited)."""
        identity, _ = await staff(request, Action.TRANSCRIPT_EDIT, change=True)
        row = await self._row(request)
        body = await read_json(request, MAX_EDIT_BODY)
        now = self.meetings.clock()
        kept, segs = await self.edits.apply(row.id, body, identity.name, now)
        entries = authorize_account(
            identity.name, identity.display_name, Role.STAFF, Action.TRANSCRIPT_EDIT, now,
            room=row.room_id, details={"recording": row.id, "edit": kept.number,
                                       "kind": kept.kind,
                                       "segments": ", ".join(map(str, kept.segments))})
        await self.meetings.commit(row.room_id, entries)
        return _json({"ok": True, "version": kept.number, "edit": kept.to_json(),
                      "segments": [s.to_json() for s in segs if not s.removed]})

    async def diff(self, request: web.Request) -> web.Response:
        """``GET .../transcript/diff?from=A&to=B``: unified diff between two versions."""
        await staff(request, Action.RECORDING_VIEW)
        row = await self._row(request)
        try:
            a, b = int(request.query["from"]), int(request.query["to"])
        except (KeyError, ValueError) as exc:
            raise ValidationError(Reason.BAD_FIELD, "from and to are edit numbers") from exc
        before = await self.edits.at_version(row.id, a)
        after = await self.edits.at_version(row.id, b)
        if before is None or after is None:
            raise HirobaError(Reason.NOT_FOUND, "no such version")
        text = await asyncio.get_running_loop().run_in_executor(
            None, unified, before, after, a, b)
        return _json({"recording": row.id, "from": a, "to": b, "diff": text})

    async def query(self, request: web.Request) -> web.Response:
        """``GET /api/search?q=...[&all=1]``: hits in published recordings (``all=1``,
        staff: in every recording)."""
        everything = request.query.get("all") == "1"
        if everything:
            await staff(request, Action.RECORDING_VIEW)
        words = terms(request.query.get("q", ""))
        hits = await self.search.search(words, published_only=not everything)
        return _json({"q": " ".join(words), "hits": [h.to_json() for h in hits]},
                     cache="private, no-store" if everything else "no-cache")


def add_correction_routes(app: web.Application, index: RecordingIndex,
                          meetings: MeetingService, edits: EditStore,
                          search: ArchiveSearch) -> CorrectionHttp:
    """Register the transcript-correction and search API on ``app``."""
    api = CorrectionHttp(index, meetings, edits, search)
    api.add_routes(app)
    return api
