"""HTTP API of VRM avatars (docs/protocol.md, "VRM avatars"; docs/avatars.md, "Uploads and
approval").

Staff (a console session; changes also need the CSRF header and a same-origin ``Origin``):

- ``POST /api/avatars?for=member:<name>|staff:<account>&label=<text>[&licence_confirmed=1]``
  with the file as the body. The session is checked before a byte of the body is read; a
  ``Content-Length`` over ``avatar_max_bytes`` is refused at once, and a body that grows
  past it is refused while it arrives (at most ``avatar_max_bytes + 1`` bytes are ever
  held): ``413 {reason: bad_avatar, limit: size}``. At most :data:`VALIDATIONS_AT_ONCE`
  uploads are read and checked at a time (``503 unavailable``, ``error: busy``, beyond
  that); the check (``avatar.vrm_check.check_vrm``) runs in an executor. A refused file
  is ``422 {reason: bad_avatar, error: bad_avatar, limit, message}`` and nothing is
  stored; a licence that does not allow the binding is ``403`` with ``limit: licence``
  (``moderation.avatar_rules``). Otherwise the file is stored under its sha256 and
  ``201 {sha256, status: pending, report}``.
- ``GET /api/avatars``: every upload with its report, and the limits in force.
- ``GET /api/avatars/<sha256>.vrm``: any upload's file, to preview before approving.
- ``POST /api/avatars/<sha256>/approve`` and ``.../withdraw`` (audited).

Anyone: ``GET /avatars/<sha256>.vrm``, an approved file only (else 404), as
``model/gltf-binary``, ``Cache-Control: public, max-age=31536000, immutable`` and the
sha256 as its ETag: the name is the content's hash, so it never changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from aiohttp import web

from avatar.vrm_check import AvatarRejected, VrmLimits, VrmReport, check_vrm
from moderation import audit
from moderation.avatar_rules import (
    LABEL_MAX,
    STAFF,
    LicenceRefused,
    check_binding,
    next_status,
    parse_principal,
    staff_principal,
)
from moderation.events import DomainEvent
from moderation.limits import clean_text
from moderation.policy import Action
from rooms.errors import HirobaError, ProcedureError, Reason, ValidationError
from rooms.model import Role
from server.avatars.store import CHUNK, AvatarRow, AvatarStore
from server.config.settings import Settings
from server.console.routes import staff
from server.http.routes import error_response
from server.meetings.service import MeetingService
from server.staff.auth import StaffIdentity

log = logging.getLogger(__name__)

#: Uploads read and checked at the same time; more are refused ``503`` (busy) at once
#: rather than queued: each holds up to ``avatar_max_bytes`` in memory and a CPU.
VALIDATIONS_AT_ONCE = 2
CONTENT_TYPE = "model/gltf-binary"
PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, no-store"
_SHA = re.compile(r"[0-9a-f]{64}")
_QUERY = frozenset({"for", "label", "licence_confirmed"})


def limits_of(settings: Settings) -> VrmLimits:
    """The validator's limits from the settings (the rest at the validator's defaults)."""
    return VrmLimits(max_bytes=settings.avatar_max_bytes,
                     max_triangles=settings.avatar_max_triangles,
                     max_morph_targets=settings.avatar_max_morph_targets,
                     max_textures=settings.avatar_max_textures,
                     max_texture_px=settings.avatar_max_texture_px)


def _json(body: object, status: int = 200, *, cache: str = PRIVATE_CACHE) -> web.Response:
    return web.json_response(body, status=status,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False),
                             headers={"Cache-Control": cache})


def refusal(status: int, limit: str, message: str, *, reason: Reason = Reason.BAD_AVATAR,
            error: str = "bad_avatar") -> web.Response:
    """A refused upload: the reason code as every error has it, and ``error`` and ``limit``
    for the console to say which rule it broke."""
    response = _json({"ok": False, "reason": reason.value, "error": error, "limit": limit,
                      "message": message}, status)
    return response


def _checked(data: bytes, limits: VrmLimits) -> tuple[str, VrmReport]:
    """The file's sha256 and its report (blocking: runs in an executor)."""
    return hashlib.sha256(data).hexdigest(), check_vrm(data, limits)


@dataclass
class AvatarsHttp:
    """The avatar routes of one server."""

    settings: Settings
    store: AvatarStore
    meetings: MeetingService

    def __post_init__(self) -> None:
        self.limits = limits_of(self.settings)
        #: Uploads being read or checked now (at most :data:`VALIDATIONS_AT_ONCE`).
        self.busy = 0
        #: Refused uploads since start, by limit (for the log and tests).
        self.refused: dict[str, int] = {}

    def add_routes(self, app: web.Application) -> None:
        app[AVATARS_KEY] = self
        app.router.add_post("/api/avatars", self.upload)
        app.router.add_get("/api/avatars", self.list_uploads)
        app.router.add_get("/api/avatars/{id}.vrm", self.preview)
        app.router.add_post("/api/avatars/{id}/approve", self.approve)
        app.router.add_post("/api/avatars/{id}/withdraw", self.withdraw)
        app.router.add_get("/avatars/{id}.vrm", self.public_file)

    # -- upload -----------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.StreamResponse:
        identity, _ = await staff(request, Action.AVATAR_UPLOAD, change=True)
        uploader = staff_principal(identity.name)
        query = request.query
        for key in query:
            if key not in _QUERY:
                raise ValidationError(Reason.UNKNOWN_FIELD, f"unknown field: {key[:40]}")
        bound_to = parse_principal(query.get("for", uploader))
        label = clean_text(query["label"], LABEL_MAX, "label") if query.get("label") else ""
        confirmed = query.get("licence_confirmed", "") in ("1", "true")
        if bound_to.startswith(STAFF + ":") and bound_to != uploader:
            account = bound_to.partition(":")[2]
            if await self.meetings.staff.account(account) is None:
                raise ProcedureError(Reason.NO_SUCH_ITEM, "no such staff account")
        cap = self.limits.max_bytes
        if request.content_length is not None and request.content_length > cap:
            return self._refused(413, "size", f"the file has {request.content_length:,} bytes;"
                                 f" the limit is {cap:,}", close=True)
        if self.busy >= VALIDATIONS_AT_ONCE:
            return refusal(503, "busy", "other uploads are being checked; try again shortly",
                           reason=Reason.UNAVAILABLE, error="busy")
        self.busy += 1
        try:
            data = await self._read(request, cap)
            if data is None:
                return self._refused(413, "size", f"the file has more than {cap:,} bytes; the "
                                     f"limit is {cap:,}", close=True)
            try:
                sha, report = await asyncio.get_running_loop().run_in_executor(
                    None, _checked, data, self.limits)
            except AvatarRejected as rejected:
                return self._refused(413 if rejected.limit == "size" else 422,
                                     rejected.limit, rejected.message)
            except Exception:
                # A file the check itself could not get through is refused, never stored.
                log.exception("the avatar check failed on an upload")
                return self._refused(422, "glb", "the file could not be read")
            try:
                check_binding(report.permission, uploader=uploader, bound_to=bound_to,
                              licence_confirmed=confirmed)
            except LicenceRefused as refused:
                return self._refused(403, refused.limit, refused.message)
            return await self._keep(identity, uploader, bound_to, label, sha, report, data)
        finally:
            self.busy -= 1

    async def _read(self, request: web.Request, cap: int) -> bytes | None:
        """The body, or None as soon as it passes ``cap`` bytes (the rest is not read)."""
        body = bytearray()
        while True:
            chunk = await request.content.readany()
            if not chunk:
                return bytes(body)
            if len(body) + len(chunk) > cap:
                return None
            body += chunk

    def _refused(self, status: int, limit: str, message: str, *,
                 close: bool = False) -> web.Response:
        self.refused[limit] = self.refused.get(limit, 0) + 1
        log.info("avatar upload refused (%s): %s", limit, message)
        response = refusal(status, limit, message)
        if close:
            # The rest of an oversize body is not wanted: end the connection rather than
            # read it to keep the connection alive.
            response.force_close()
        return response

    async def _keep(self, identity: StaffIdentity, uploader: str, bound_to: str, label: str,
                    sha: str, report: VrmReport, data: bytes) -> web.Response:
        existing = await self.store.row(sha)
        if existing is not None:
            if existing.bound_to != bound_to:
                raise ProcedureError(Reason.DUPLICATE, "this file was uploaded already for "
                                     f"{existing.bound_to}")
            return _json({"ok": True, **existing.to_json()})
        now = self.meetings.clock()
        row = AvatarRow(sha, uploader, bound_to, label, "pending", report.to_json(), now)
        await self.store.save_file(sha, data)
        await self.store.add(row)
        await self._audit(identity, Action.AVATAR_UPLOAD, row, now)
        return _json({"ok": True, **row.to_json()}, 201)

    async def _audit(self, identity: StaffIdentity, action: Action, row: AvatarRow,
                     now: float) -> None:
        entries: list[DomainEvent] = [audit.entry(
            "", now, actor=identity.name, actor_name=identity.display_name,
            actor_role=Role.STAFF, action=action, target=row.sha256, target_name=row.bound_to,
            details={"sha256": row.sha256, "for": row.bound_to, "label": row.label,
                     "status": row.status, "title": str(row.report.get("title", ""))})]
        await self.meetings.commit("", entries)

    # -- the console's list, preview, approval ----------------------------------------

    async def list_uploads(self, request: web.Request) -> web.Response:
        await staff(request, Action.AVATAR_UPLOAD)  # asked, not done: nothing to audit
        limits = self.limits
        return _json({"ok": True, "avatars": [r.to_json() for r in await self.store.rows()],
                      "limits": {"bytes": limits.max_bytes, "triangles": limits.max_triangles,
                                 "morph_targets": limits.max_morph_targets,
                                 "textures": limits.max_textures,
                                 "texture_px": limits.max_texture_px}})

    async def _row(self, request: web.Request) -> AvatarRow:
        sha = request.match_info["id"]
        row = await self.store.row(sha) if _SHA.fullmatch(sha) else None
        if row is None:
            raise HirobaError(Reason.NOT_FOUND, "no such avatar")
        return row

    async def preview(self, request: web.Request) -> web.StreamResponse:
        await staff(request, Action.AVATAR_UPLOAD)
        row = await self._row(request)
        return await self._send(request, row.sha256, PRIVATE_CACHE)

    async def approve(self, request: web.Request) -> web.Response:
        return await self._change(request, "approve")

    async def withdraw(self, request: web.Request) -> web.Response:
        return await self._change(request, "withdraw")

    async def _change(self, request: web.Request, change: str) -> web.Response:
        identity, _ = await staff(request, Action.AVATAR_APPROVE, change=True)
        row = await self._row(request)
        status = next_status(row.status, change)
        now = self.meetings.clock()
        changed = await self.store.set_status(row, status, now, staff_principal(identity.name))
        await self._audit(identity, Action.AVATAR_APPROVE, changed, now)
        return _json({"ok": True, **changed.to_json()})

    # -- the public file --------------------------------------------------------------

    async def public_file(self, request: web.Request) -> web.StreamResponse:
        sha = request.match_info["id"]
        if not self.store.db.is_open:
            # A cluster edge without the database (docs/avatars.md, "Cluster mode").
            return error_response(503, Reason.UNAVAILABLE, "avatars are served by the "
                                  "nodes that hold the database")
        # Only a name that is a sha256 reaches the store (nothing else is a file of ours).
        row = await self.store.row(sha) if _SHA.fullmatch(sha) else None
        if row is None or row.status != "approved":
            raise HirobaError(Reason.NOT_FOUND, "no such avatar")
        etag = f'"{sha}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag, "Cache-Control": PUBLIC_CACHE})
        return await self._send(request, sha, PUBLIC_CACHE)

    async def _send(self, request: web.Request, sha: str, cache: str) -> web.StreamResponse:
        """Stream the stored file, read off the loop a chunk at a time."""
        loop = asyncio.get_running_loop()
        path = self.store.path(sha)
        try:
            f, size = await loop.run_in_executor(None, _open, path)
        except OSError:
            raise HirobaError(Reason.NOT_FOUND, "no such avatar") from None
        try:
            response = web.StreamResponse(headers={
                "Content-Type": CONTENT_TYPE, "Cache-Control": cache, "ETag": f'"{sha}"'})
            response.content_length = size
            await response.prepare(request)
            if request.method != "HEAD":
                while chunk := await loop.run_in_executor(None, f.read, CHUNK):
                    await response.write(chunk)
            await response.write_eof()
            return response
        finally:
            await loop.run_in_executor(None, f.close)


#: The routes' state (uploads under way, refusals by limit) in the application.
AVATARS_KEY = web.AppKey("avatars", AvatarsHttp)


def _open(path: Path) -> tuple[IO[bytes], int]:
    f = path.open("rb")
    return f, path.stat().st_size
