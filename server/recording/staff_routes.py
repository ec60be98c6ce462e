"""HTTP API of the staff-only records of closed sessions (秘密会; docs/recording.md,
"Closed sessions"; :mod:`server.recording.staff_record`).

Staff only, and only here: every route asks for a valid staff session (the policy's
``recording.view``) before it looks anything up, and each read of a staff record's
content (its manifest, a file, its minutes) is an audit entry under the record's room.
The public recordings API (:mod:`server.recording.routes`) finds recordings by their index
row only; a staff record has none, so the archive, replay, files and minutes routes answer
``404`` for its id, whoever asks, and publishing it is refused (``403 forbidden``).

Answers are ``Cache-Control: private, no-store``; files stream with ``FileResponse``
(``Range`` for audio); folder reads and the minutes run in an executor.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from moderation import audit
from moderation.policy import Action
from rooms.errors import HirobaError, Reason
from rooms.model import Role
from server.console.routes import staff
from server.http.security import document_security_policy
from server.meetings.service import MeetingService
from server.recording.minutes import build_minutes, render_html, render_markdown
from server.recording.recorder import EVENTS, MANIFEST
from server.recording.routes import (
    CONTENT_TYPES,
    FILE_NAME,
    PRIVATE_CACHE,
    _manifest_body,
    _sized_file,
    range_refusal,
)
from server.recording.staff_record import StaffRecord, find, list_records, read

T = TypeVar("T")
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def _json(body: object) -> web.Response:
    return web.json_response(body, dumps=lambda o: json.dumps(o, ensure_ascii=False),
                             headers={"Cache-Control": PRIVATE_CACHE})


class StaffRecordsHttp:
    """The ``/api/staff-records`` routes of one server."""

    def __init__(self, root: Path, meetings: MeetingService) -> None:
        self.root = root  # the recordings folder (the staff records are under staff/)
        self.meetings = meetings

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/staff-records", self.list_records)
        app.router.add_get("/api/staff-records/{id}", self.manifest)
        app.router.add_get("/api/staff-records/{id}/files/{name:.+}", self.file)
        app.router.add_get("/api/staff-records/{id}/minutes", self.minutes)

    async def _off_loop(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def _open(self, request: web.Request, what: str) -> tuple[Path, StaffRecord]:
        """The staff record of the URL, for a staff session (checked first: nobody else
        learns whether the id exists), with the read audited."""
        identity, _ = await staff(request, Action.RECORDING_VIEW)
        folder = await self._off_loop(find, self.root, request.match_info["id"])
        record = await self._off_loop(read, folder)
        entry = audit.entry(
            record.manifest.room, self.meetings.clock(), actor=identity.name,
            actor_name=identity.display_name, actor_role=Role.STAFF,
            action=Action.RECORDING_VIEW,
            details={"staff_record": record.id, "recording": record.recording, "read": what})
        await self.meetings.commit(record.manifest.room, [entry])
        return folder, record

    async def list_records(self, request: web.Request) -> web.Response:
        """``GET /api/staff-records[?recording=ID]``: every staff record (of one public
        recording), newest first. Staff only; a list says that records exist and when,
        not what they hold, so it is not audited."""
        await staff(request, Action.RECORDING_VIEW)
        recording = request.query.get("recording")
        records = await self._off_loop(list_records, self.root, recording)
        return _json([r.to_wire() for r in records])

    async def manifest(self, request: web.Request) -> web.Response:
        """``GET /api/staff-records/{id}``: the manifest, files and speakers."""
        folder, record = await self._open(request, "manifest")
        body: dict[str, Any] = await self._off_loop(_manifest_body, folder)
        body.update(record.to_wire())
        return _json(body)

    async def file(self, request: web.Request) -> web.StreamResponse:
        """``GET /api/staff-records/{id}/files/{name}``: one whitelisted file, whole (the
        event log unfiltered)."""
        name = request.match_info["name"]
        if FILE_NAME.fullmatch(name) is None:
            raise HirobaError(Reason.NOT_FOUND, "no such file")
        folder, _ = await self._open(request, name)
        found = await self._off_loop(_sized_file, folder, name)
        if found is None:
            raise HirobaError(Reason.NOT_FOUND, "no such file")
        path, size = found
        content_type = CONTENT_TYPES.get(name, CONTENT_TYPES[".opus"])
        if name in (EVENTS, MANIFEST):
            content_type += "; charset=utf-8"
        refusal = range_refusal(request, size)
        if refusal is not None:
            return refusal
        return web.FileResponse(path, headers={
            "Cache-Control": PRIVATE_CACHE, "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="staff-{folder.name}-'
                                   f'{name.replace("/", "-")}"'})

    async def minutes(self, request: web.Request) -> web.Response:
        """``GET /api/staff-records/{id}/minutes?format=md|html``: the staff edition of the
        closed part's minutes (committee record with votes by name, attendance, the reason
        for closing among the moderation actions)."""
        fmt = request.query.get("format", "html")
        if fmt not in ("md", "html"):
            raise HirobaError(Reason.BAD_FIELD, "format must be md or html")
        lang = request.query.get("lang", "ja")
        if lang not in ("ja", "en", "zh", "ko"):
            lang = "ja"
        folder, record = await self._open(request, f"minutes.{fmt}")
        zone = self.meetings.settings.zone
        render = render_markdown if fmt == "md" else render_html

        def build() -> str:
            return render(build_minutes(folder, None, include_moderation=True, tz=zone),
                          lang=lang)

        text = await self._off_loop(build)
        headers = {"Cache-Control": PRIVATE_CACHE}
        if fmt == "md":
            headers["Content-Disposition"] = (
                f'attachment; filename="minutes-staff-{record.id}.md"')
            return web.Response(text=text, content_type="text/markdown", charset="utf-8",
                                headers=headers)
        headers["Content-Security-Policy"] = document_security_policy(_STYLE.findall(text))
        return web.Response(text=text, content_type="text/html", charset="utf-8",
                            headers=headers)


def add_staff_record_routes(app: web.Application, root: Path,
                            meetings: MeetingService) -> StaffRecordsHttp:
    """Register ``/api/staff-records`` on ``app`` (``root``: the recordings folder)."""
    api = StaffRecordsHttp(root, meetings)
    api.add_routes(app)
    return api
