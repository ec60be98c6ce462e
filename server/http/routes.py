"""HTTP routes: the page, health, the room list, and static files."""

from __future__ import annotations

import json
import time

from aiohttp import web

from moderation.roster import Schedule
from rooms.errors import HirobaError, Reason
from rooms.room import Room
from server import __version__
from server.http.static_files import ClientFiles
from server.sockets.hub import Hub

HUB_KEY = web.AppKey("hub", Hub)
#: The browser client's files: the build, or the sources in dev mode (server/http/static_files.py).
CLIENT_KEY = web.AppKey("client", ClientFiles)


#: HTTP status of an error by its reason code (anything else is 400).
HTTP_STATUS = {
    Reason.NO_SUCH_ROOM: 404, Reason.NOT_FOUND: 404, Reason.NO_SUCH_ITEM: 404,
    Reason.BAD_CREDENTIALS: 401, Reason.SESSION_EXPIRED: 401, Reason.FORBIDDEN: 403,
    Reason.BAD_CSRF: 403, Reason.BANNED: 403, Reason.RATE_LIMITED: 429,
    Reason.WRONG_STATE: 409, Reason.DUPLICATE: 409, Reason.NOT_APPROVED: 409,
    Reason.INTERNAL: 500,
}


def error_response(status: int, reason: Reason, message: str) -> web.Response:
    return web.json_response(
        {"ok": False, "reason": reason.value, "message": message}, status=status
    )


@web.middleware
async def error_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """HirobaError becomes a 4xx with its reason; 404s answer in JSON too."""
    try:
        return await handler(request)
    except HirobaError as exc:
        return error_response(HTTP_STATUS.get(exc.reason, 400), exc.reason, exc.message)
    except web.HTTPNotFound:
        return error_response(404, Reason.NOT_FOUND, "no such page")
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, Reason.TOO_LONG, "the request body is too large")
    except web.HTTPMethodNotAllowed as exc:
        return error_response(405, Reason.BAD_PAYLOAD, f"method {exc.method} not allowed")


async def index(request: web.Request) -> web.StreamResponse:
    return await serve_page(request, "index.html")


async def gallery(request: web.Request) -> web.StreamResponse:
    """The public gallery's page (issue 19): watch-only, its data over ``/gallery/ws``."""
    return await serve_page(request, "gallery.html")


async def replay(request: web.Request) -> web.StreamResponse:
    """The replay page; it asks /api/recordings/{id}, which checks who may see what."""
    return await serve_page(request, "replay.html")


async def serve_page(request: web.Request, filename: str) -> web.StreamResponse:
    """One of the client's pages (server/http/static_files.py PAGES), never cached unasked."""
    return await request.app[CLIENT_KEY].page(request, filename)


async def healthz(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "rooms": len(hub.rooms),
            "participants": hub.participant_count,
        },
        dumps=lambda obj: json.dumps(obj, ensure_ascii=False),
    )


def _room_entry(hub: Hub, room: Room, now: float) -> dict[str, object]:
    meeting = hub.meetings.get(room.id)
    plan = meeting.rules.schedule if meeting is not None else Schedule()
    recording = room.id in hub.recording_since
    return {
        "id": room.id,
        "kind": room.kind.value,
        "name": {"ja": room.info.name_ja, "en": room.info.name_en},
        "capacity": room.info.capacity,
        "participants": len(room.participants),
        "recording": recording,
        # Who holds the event and when (staff set it): the join page says so.
        "organiser": plan.organiser or None,
        # A meeting on record, or within its scheduled window, is the meeting on now: the
        # join page chooses it first (issue 15, defect 10). Times in the city's zone.
        "on_now": room.kind.value != "plaza" and (recording or plan.covers(now)),
        "starts_at": plan.starts_at if plan.starts_at is not None
        else hub.recording_since.get(room.id),
        "ends_at": plan.ends_at if plan.starts_at is not None else None,
        "time_zone": hub.settings.time_zone,
    }


async def list_rooms(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    now = time.time()  # the schedule is in wall-clock seconds (the hub's clock is monotonic)
    rooms = [_room_entry(hub, room, now) for room in hub.rooms.values()]
    return web.json_response(
        {"rooms": rooms}, dumps=lambda obj: json.dumps(obj, ensure_ascii=False)
    )


async def favicon(request: web.Request) -> web.Response:
    """No icon, said without an error: a page whose policy forbids an inline icon (the
    minutes: ``default-src 'none'``) would otherwise log a 404 in every browser."""
    return web.Response(status=204, headers={"Cache-Control": "public, max-age=86400"})


async def app_static(request: web.Request) -> web.StreamResponse:
    return await request.app[CLIENT_KEY].app(request, request.match_info["path"])


async def vendor_static(request: web.Request) -> web.StreamResponse:
    package, rest = request.match_info["package"], request.match_info["path"]
    if package.startswith("@") and "/" in rest:  # a scoped npm package: @scope/name/...
        name, rest = rest.split("/", 1)
        package = f"{package}/{name}"
    return await request.app[CLIENT_KEY].vendor(request, package, rest)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/replay", replay)
    app.router.add_get("/gallery", gallery)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/api/rooms", list_rooms)
    app.router.add_get("/app/{path:.+}", app_static)
    app.router.add_get("/vendor/{package}/{path:.+}", vendor_static)
