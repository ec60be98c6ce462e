"""HTTP API of recordings: the public archive, replay manifests, files, minutes, and
publishing (issue 6; docs/recording.md "Publishing and access", docs/protocol.md).

Access is decided on every request, never remembered: a recording is readable when it is
published, or by a valid staff session (the policy's ``recording.view``). Anything else,
an unknown id, a malformed one or an unpublished one, gets the same ``404 not_found``
body, so probing tells nothing. Files are named from a fixed whitelist and found through
:func:`server.recording.ids.recording_dir` only; symlinks are refused. File bodies stream
from disk (``FileResponse``); whatever has to be read whole (the manifest, the event log
for the public, the minutes) is read in an executor. Rendered minutes are kept once a
recording has stopped (:mod:`server.recording.minutes_cache`); what the caller may read
is still decided on every request, before the cache is asked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import stat
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from moderation.meeting import authorize_account
from moderation.policy import Action
from rooms.errors import HirobaError, PermissionDenied, Reason
from rooms.model import Role
from server.console.routes import staff
from server.http.routes import error_response, serve_page
from server.http.security import document_security_policy
from server.meetings.service import MeetingService
from server.recording.approval import MinutesApprovals, approved_html
from server.recording.approval_routes import add_approval_routes
from server.recording.event_log import EventKind, parse_events
from server.recording.ids import recording_dir
from server.recording.index import RecordingIndex, RecordingRow
from server.recording.minutes import build_minutes, render_html, render_markdown
from server.recording.minutes_cache import MinutesCache, Rendered, folder_stamp
from server.recording.recorder import (
    AUDIO,
    EVENTS,
    MANIFEST,
    MOTION,
    RecordingState,
    read_manifest,
)
from server.recording.staff_record import find as find_staff_record
from server.recording.staff_record import list_records as list_staff_records
from server.sockets.hub import Hub
from server.transcription.segments import Segment
from server.transcription.store import TranscriptStore

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The only file names a client may ask for (relative to the recording's folder).
FILE_NAME = re.compile(r"(recording\.json|motion\.bin|events\.jsonl|audio/[0-9]{2}\.opus)")
_AUDIO_NAME = re.compile(r"[0-9]{2}\.opus")
CONTENT_TYPES = {
    MANIFEST: "application/json",
    MOTION: "application/octet-stream",
    EVENTS: "application/x-ndjson",
    ".opus": "audio/ogg",
}
#: Published answers may be kept, but must be revalidated: unpublishing takes effect at
#: once, because every revalidation is checked again.
PUBLIC_CACHE = "no-cache"
#: Staff-only answers stay out of every cache (shared machines, proxies).
PRIVATE_CACHE = "private, no-store"
#: Event-log kinds the public never receives (reports, sanctions, the audit trail).
PRIVATE_KINDS = frozenset({EventKind.MODERATION.value})
#: Fields of public lines the public copy leaves out: who acted (a staff login, or a
#: participant id, with their name), which the public minutes never show.
PRIVATE_FIELDS = ("by", "by_name", "by_role")
#: Why someone left, in the public copy: a removal or ban is a moderation fact (its line
#: is private); the public minutes show only that they left.
_LEAVE_CAUSES_SHOWN = frozenset({"left"})

_UNKNOWN = "no such recording"
#: The inline style blocks of a rendered minutes document (allowed by hash).
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def _json(body: object, *, cache: str = PUBLIC_CACHE) -> web.Response:
    return web.json_response(
        body, dumps=lambda o: json.dumps(o, ensure_ascii=False), headers={"Cache-Control": cache}
    )


def _not_found() -> HirobaError:
    # One answer for unknown, malformed and unpublished ids alike.
    return HirobaError(Reason.NOT_FOUND, _UNKNOWN)


def filter_public_events(data: bytes) -> bytes:
    """An event log as the public may read it: moderation lines removed, and so are lines
    that do not parse and a torn last line (what cannot be judged is not shown). Lines
    that stay keep only what the public minutes show: no ``by`` (a staff login name on
    floor, hand and agenda lines) and no removal or ban as a reason for leaving."""
    out = []
    at = 0
    while (nl := data.find(b"\n", at)) >= 0:
        line = data[at : nl + 1]
        at = nl + 1
        try:
            body = json.loads(line)
            kind = body.get("kind")
            if isinstance(kind, str) and kind not in PRIVATE_KINDS:
                out.append(_public_line(body, line))
        except (ValueError, AttributeError, RecursionError):  # (nested deeper than json goes)
            continue
    return b"".join(out)


def _public_line(body: dict[str, Any], line: bytes) -> bytes:
    """``line`` (parsed as ``body``) without what the public copy leaves out; the same
    bytes when nothing is."""
    private = [key for key in PRIVATE_FIELDS if key in body]
    cause = body.get("cause")
    sanctioned = (body.get("kind") == EventKind.LEAVE.value and cause is not None
                  and cause not in _LEAVE_CAUSES_SHOWN)
    if not private and not sanctioned:
        return line
    for key in private:
        del body[key]
    if sanctioned:
        body["cause"] = "left"
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _read_public_events(path: Path) -> bytes:
    return filter_public_events(path.read_bytes())


def _sized_file(folder: Path, name: str) -> tuple[Path, int] | None:
    """:func:`_existing_file` and its size in bytes."""
    path = _existing_file(folder, name)
    try:
        return None if path is None else (path, path.stat().st_size)
    except OSError:
        return None


def range_refusal(request: web.Request, size: int) -> web.Response | None:
    """A ``416`` with a reason for a ``Range`` a file of ``size`` bytes cannot satisfy
    (aiohttp's ``FileResponse`` would answer it with an empty body), else None. With
    ``If-Range`` the range may be ignored, which ``FileResponse`` decides."""
    if "Range" not in request.headers or "If-Range" in request.headers:
        return None
    try:
        wanted = request.http_range
        start = wanted.start
        if start is not None and start < 0 and wanted.stop is None:
            start = max(0, start + size)  # the last -start bytes
        unsatisfiable = start is not None and start >= size
        message = f"the range starts beyond the file's {size} bytes"
    except ValueError:
        unsatisfiable, message = True, "the Range header is not bytes=start-end"
    if not unsatisfiable:
        return None
    response = error_response(416, Reason.BAD_FIELD, message)
    response.headers["Content-Range"] = f"bytes */{size}"
    return response


def _existing_file(folder: Path, name: str) -> Path | None:
    """``folder/name`` if it is a regular file inside ``folder`` (not a symlink)."""
    path = folder.joinpath(*name.split("/"))
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
        if path.parent != folder and stat.S_ISLNK(path.parent.lstat().st_mode):
            return None
        if not path.resolve().is_relative_to(folder.resolve()):
            return None
    except OSError:
        return None
    return path


def _listing(folder: Path) -> list[str]:
    """The whitelisted files a recording's folder holds, in a stable order."""
    names = [n for n in (MANIFEST, MOTION, EVENTS) if _existing_file(folder, n)]
    audio = folder / AUDIO
    if audio.is_dir() and not audio.is_symlink():
        names += sorted(
            f"{AUDIO}/{p.name}" for p in audio.iterdir()
            if _AUDIO_NAME.fullmatch(p.name) and _existing_file(folder, f"{AUDIO}/{p.name}")
        )
    return names


def _speaker_names(folder: Path) -> dict[str, str]:
    """Participant id → display name, from the event log's join / present lines."""
    path = _existing_file(folder, EVENTS)
    if path is None:
        return {}
    names: dict[str, str] = {}
    for e in parse_events(path.read_bytes()).events:
        pid, name = e.data.get("pid"), e.data.get("pid_name")
        if e.kind is EventKind.JOIN and isinstance(pid, str) and isinstance(name, str):
            names[pid] = name
    return names


def _manifest_body(folder: Path) -> dict[str, Any]:
    """recording.json's fields, the fetchable files and who speaks in which audio file."""
    manifest = read_manifest(folder)
    names = _speaker_names(folder)
    body = asdict(manifest)
    body["state"] = manifest.state.value
    body["files"] = _listing(folder)
    body["speakers"] = [
        {"file": file, "pid": pid, "name": names.get(pid, "")}
        for file, pid in manifest.speakers.items()
    ]
    return body


async def archive_page(request: web.Request) -> web.StreamResponse:
    """``GET /archive``: the public archive page (it lists what ``/api/recordings`` gives)."""
    return await serve_page(request, "archive.html")


class RecordingsHttp:
    """The ``/api/recordings`` routes of one server."""

    def __init__(self, index: RecordingIndex, hub: Hub, meetings: MeetingService,
                 minutes_cache: MinutesCache | None = None,
                 transcripts: TranscriptStore | None = None) -> None:
        self.index = index
        self.hub = hub
        self.meetings = meetings
        self.minutes_cache = MinutesCache() if minutes_cache is None else minutes_cache
        #: The recordings' transcripts (the minutes' 発言 section), when the server keeps them.
        self.transcripts = transcripts
        self.approvals = MinutesApprovals(index.store)
        #: Called with the recording id after it is published or unpublished, or its
        #: approved minutes are (the archive search rebuilds its rows).
        self.on_publish: list[Callable[[str], None]] = []

    @property
    def root(self) -> Path:
        return self.index.root

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/archive", archive_page)
        app.router.add_get("/api/recordings", self.list_recordings)
        app.router.add_get("/api/recordings/{id}", self.manifest)
        app.router.add_get("/api/recordings/{id}/files/{name:.+}", self.file)
        app.router.add_get("/api/recordings/{id}/minutes", self.minutes)
        app.router.add_post("/api/recordings/{id}/publish", self.publish)
        app.router.add_post("/api/recordings/{id}/unpublish", self.unpublish)

    # -- access -------------------------------------------------------------------------

    async def _off_loop(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def is_staff(self, request: web.Request) -> bool:
        """Whether ``request`` carries a staff session allowed to see unpublished
        recordings (no session is not an error here: the public reads the archive)."""
        if "Cookie" not in request.headers:
            return False
        try:
            await staff(request, Action.RECORDING_VIEW)
        except PermissionDenied:
            return False
        return True

    async def _visible(self, request: web.Request) -> tuple[RecordingRow, bool]:
        """The recording of the URL and whether the caller is staff; ``not_found`` when
        the caller may not see it. Checked on every request."""
        try:
            row = await self.index.get(request.match_info["id"])
        except HirobaError as exc:
            raise _not_found() from exc
        is_staff = await self.is_staff(request)
        if not (row.published or is_staff):
            raise _not_found()
        return row, is_staff

    def _cache(self, row: RecordingRow) -> str:
        return PUBLIC_CACHE if row.published else PRIVATE_CACHE

    def room_name(self, row: RecordingRow) -> str:
        room = self.hub.rooms.get(row.room_id)
        # A recording outlives its room: then its own title names it.
        if room is None:
            return row.title or row.room_id
        return room.info.name_ja or row.room_id

    def room_layout(self, row: RecordingRow) -> dict[str, Any] | None:
        """The room's layout for the replay (bounds, stage, seats, gallery, boards, spawn),
        or None when the room is gone; who sits where now is left out."""
        room = self.hub.rooms.get(row.room_id)
        if room is None:
            return None
        wire: dict[str, Any] = self.hub.snapshot(room).to_wire()["room"]  # type: ignore[assignment]
        for seat in wire["seats"]:
            seat["occupant"] = None
        return wire

    def item(self, row: RecordingRow, *, full: bool) -> dict[str, Any]:
        """One recording in a list; ``full`` adds what only staff see."""
        base = f"/api/recordings/{row.id}/minutes"
        body: dict[str, Any] = {
            "id": row.id, "room": row.room_id, "room_name": self.room_name(row),
            "title": row.title, "started": row.started, "stopped": row.stopped,
            "duration_ms": row.duration_ms, "published": row.published,
            "minutes": {"md": f"{base}?format=md", "html": f"{base}?format=html"},
            "replay": f"/replay?id={row.id}",
        }
        if full:
            body.update(state=row.state.value, started_by=row.started_by,
                        published_at=row.published_at, bytes=row.bytes, recovered=row.recovered)
        return body

    # -- routes -------------------------------------------------------------------------

    async def list_recordings(self, request: web.Request) -> web.Response:
        """``GET /api/recordings[?all=1]``: the published recordings, newest first; with
        ``all=1`` and a staff session, every recording (``401`` without one)."""
        if request.query.get("all") == "1":
            await staff(request, Action.RECORDING_VIEW)
            rows = await self.index.list_all()
            # "A staff record exists" (秘密会, staff only): the ids for the console's
            # /api/staff-records links; the public list never carries them.
            kept: dict[str, list[dict[str, object]]] = {}
            for record in await self._off_loop(list_staff_records, self.root):
                kept.setdefault(record.recording, []).append(
                    {"id": record.id, "started": record.manifest.started,
                     "stopped": record.manifest.stopped,
                     "duration_ms": record.manifest.duration_ms})
            # Each recording's transcription job (issue 17), for the console's line.
            jobs = {} if self.transcripts is None else await self.transcripts.summaries()
            return _json([{**self.item(r, full=True), "staff_records": kept.get(r.id, []),
                           "transcript": jobs.get(r.id)} for r in rows], cache=PRIVATE_CACHE)
        rows = await self.index.list_all(published_only=True)
        return _json([self.item(r, full=False) for r in rows])

    async def manifest(self, request: web.Request) -> web.Response:
        """``GET /api/recordings/{id}``: the replay manifest."""
        row, _ = await self._visible(request)
        folder = recording_dir(self.root, row.id)
        try:
            body = await self._off_loop(_manifest_body, folder)
        except HirobaError as exc:  # the folder is gone or unreadable
            raise _not_found() from exc
        body.update(
            room_name=self.room_name(row),
            room_layout=self.room_layout(row),
            published=row.published,
        )
        return _json(body, cache=self._cache(row))

    async def file(self, request: web.Request) -> web.StreamResponse:
        """``GET /api/recordings/{id}/files/{name}``: one whitelisted file (Range for audio
        comes with ``FileResponse``); the public's event log without moderation lines."""
        name = request.match_info["name"]
        if FILE_NAME.fullmatch(name) is None:
            raise HirobaError(Reason.NOT_FOUND, "no such file")
        row, is_staff = await self._visible(request)
        folder = recording_dir(self.root, row.id)
        found = await self._off_loop(_sized_file, folder, name)
        if found is None:
            raise HirobaError(Reason.NOT_FOUND, "no such file")
        path, size = found
        headers = {"Cache-Control": self._cache(row) if not is_staff else PRIVATE_CACHE,
                   "Content-Type": CONTENT_TYPES.get(name, CONTENT_TYPES[".opus"])}
        if name == EVENTS and not is_staff:
            body = await self._off_loop(_read_public_events, path)
            headers["Content-Type"] += "; charset=utf-8"
            return web.Response(body=body, headers=headers)
        if name in (EVENTS, MANIFEST):
            headers["Content-Type"] += "; charset=utf-8"
        refusal = range_refusal(request, size)
        if refusal is not None:
            return refusal
        return web.FileResponse(path, headers=headers)

    async def minutes(self, request: web.Request) -> web.Response:
        """``GET /api/recordings/{id}/minutes?format=md|html[&staff=1]``: the minutes;
        ``staff=1`` (staff only) includes the moderation actions. Once an approved version
        was published (会議録署名), the public minutes are its text; ``generated=1`` asks
        for the generated ones all the same."""
        fmt = request.query.get("format", "html")
        if fmt not in ("md", "html"):
            raise HirobaError(Reason.BAD_FIELD, "format must be md or html")
        row, is_staff = await self._visible(request)
        with_moderation = request.query.get("staff") == "1"
        if with_moderation and not is_staff:
            raise PermissionDenied(Reason.SESSION_EXPIRED, "log in as staff for these minutes")
        lang = request.query.get("lang", "ja")
        if lang not in ("ja", "en", "zh", "ko"):
            lang = "ja"
        folder = recording_dir(self.root, row.id)
        render = render_markdown if fmt == "md" else render_html
        zone = self.meetings.settings.zone  # the city's, as the exports and the console
        if not with_moderation and request.query.get("generated") != "1":
            # Approved minutes (会議録署名) replace the generated ones once published.
            approved = await self.approvals.published(row.id)
            if approved is not None:
                return self._approved(row, approved.text, fmt, zone)

        # Built once per version of what it is built from (the row: published, title,
        # state; the files' sizes and times; the transcript's changes), and kept once the
        # recording has stopped.
        key = (row.id, fmt, lang, with_moderation)
        version = (row, await self._off_loop(folder_stamp, folder),
                   0 if self.transcripts is None else self.transcripts.generation(row.id))
        transcript: list[Segment] | None = None
        if self.transcripts is not None and not self.minutes_cache.has(key, version) \
                and await self.transcripts.job(row.id) is not None:
            transcript = await self.transcripts.segments(row.id)

        def build() -> Rendered:
            m = build_minutes(folder, row, include_moderation=with_moderation, tz=zone,
                              transcript=transcript)
            text = render(m, lang=lang)
            # The app's CSP would block the document's inline style; it gets its own,
            # stricter one (no scripts at all) that allows exactly its styles.
            return Rendered(text, None if fmt == "md" else
                            document_security_policy(_STYLE.findall(text)))

        rendered = await self.minutes_cache.get(
            key, version, build,
            keep=row.state is not RecordingState.RECORDING)
        text = rendered.text
        cache = PRIVATE_CACHE if (with_moderation or not row.published) else PUBLIC_CACHE
        headers = {"Cache-Control": cache}
        if fmt == "md":
            day = _day(row.started, zone)
            headers["Content-Disposition"] = (
                f'attachment; filename="minutes-{day}-{row.id}.md"')
            return web.Response(text=text, content_type="text/markdown", charset="utf-8",
                                headers=headers)
        assert rendered.csp is not None
        headers["Content-Security-Policy"] = rendered.csp
        return web.Response(text=text, content_type="text/html", charset="utf-8",
                            headers=headers)

    def _approved(self, row: RecordingRow, text: str, fmt: str, zone: tzinfo) -> web.Response:
        """The published approved version of the minutes, as Markdown or HTML."""
        headers = {"Cache-Control": PUBLIC_CACHE if row.published else PRIVATE_CACHE}
        if fmt == "md":
            headers["Content-Disposition"] = (
                f'attachment; filename="minutes-{_day(row.started, zone)}-{row.id}.md"')
            return web.Response(text=text, content_type="text/markdown", charset="utf-8",
                                headers=headers)
        doc, csp = approved_html(text, row.title or self.room_name(row))
        headers["Content-Security-Policy"] = csp
        return web.Response(text=doc, content_type="text/html", charset="utf-8",
                            headers=headers)

    async def publish(self, request: web.Request) -> web.Response:
        """``POST /api/recordings/{id}/publish``: staff, CSRF token; stopped only."""
        return await self._set_published(request, True)

    async def unpublish(self, request: web.Request) -> web.Response:
        """``POST /api/recordings/{id}/unpublish``: staff, CSRF token."""
        return await self._set_published(request, False)

    async def _set_published(self, request: web.Request, published: bool) -> web.Response:
        # Session and CSRF first: nobody else learns whether the id exists.
        identity, _ = await staff(request, Action.RECORDING_PUBLISH, change=True)
        try:
            row = await self.index.get(request.match_info["id"])
        except HirobaError as exc:
            try:
                await self._off_loop(find_staff_record, self.root, request.match_info["id"])
            except HirobaError:
                raise _not_found() from exc
            # Staff asked (the session is checked above): say why, not "no such".
            raise PermissionDenied(Reason.FORBIDDEN, "a closed session's staff record is "
                                   "never published") from exc
        now = self.meetings.clock()
        entries = authorize_account(
            identity.name, identity.display_name, Role.STAFF, Action.RECORDING_PUBLISH, now,
            room=row.room_id,
            details={"recording": row.id, "published": published, "title": row.title},
        )
        changed = await self.index.set_published(row.id, published, now)
        self.minutes_cache.drop(row.id)  # (the row is part of each entry's version, too)
        await self.meetings.commit(row.room_id, entries)
        for hook in self.on_publish:
            hook(row.id)
        log.info("recording %s %s by %s", row.id,
                 "published" if published else "unpublished", identity.name)
        return _json({"ok": True, **self.item(changed, full=True)}, cache=PRIVATE_CACHE)


def _day(started: float, zone: tzinfo) -> str:
    return datetime.fromtimestamp(started, zone).strftime("%Y%m%d")


def add_recording_routes(app: web.Application, index: RecordingIndex, hub: Hub,
                         meetings: MeetingService,
                         minutes_cache: MinutesCache | None = None,
                         transcripts: TranscriptStore | None = None) -> RecordingsHttp:
    """Register the recordings API on ``app`` (``minutes_cache``: the process's, which the
    recording service owns; a fresh one when None; ``transcripts``: the service's, for the
    minutes' 発言 section)."""
    api = RecordingsHttp(index, hub, meetings, minutes_cache, transcripts)
    api.add_routes(app)
    # Minutes approval (会議録署名): versions, signers, publication of an approved version.
    approvals = add_approval_routes(app, index, meetings, api.minutes_cache)
    approvals.on_publish = api.on_publish  # (one list: the same listeners hear both)
    approvals.transcripts = api.transcripts
    return api
