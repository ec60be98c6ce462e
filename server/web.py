"""HTTP routes: the page, health, the room list, and static files."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from rooms.errors import HirobaError, Reason
from server import __version__
from server.hub import Hub
from server.static_files import StaticFiles, app_file, vendor_file

IMPORTMAP_PLACEHOLDER = "<!-- hiroba:importmap -->"
HUB_KEY = web.AppKey("hub", Hub)
STATIC_KEY = web.AppKey("static", StaticFiles)
WEB_ROOT_KEY = web.AppKey("web_root", Path)
IMPORTMAP_KEY = web.AppKey("importmap", str)


#: HTTP status of an error by its reason code (anything else is 400).
HTTP_STATUS = {
    Reason.NO_SUCH_ROOM: 404, Reason.NOT_FOUND: 404, Reason.NO_SUCH_ITEM: 404,
    Reason.BAD_CREDENTIALS: 401, Reason.SESSION_EXPIRED: 401, Reason.FORBIDDEN: 403,
    Reason.BAD_CSRF: 403, Reason.BANNED: 403, Reason.RATE_LIMITED: 429,
    Reason.WRONG_STATE: 409, Reason.DUPLICATE: 409, Reason.INTERNAL: 500,
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


async def index(request: web.Request) -> web.Response:
    return await serve_page(request, "index.html")


async def replay(request: web.Request) -> web.Response:
    """The replay page; it asks /api/recordings/{id}, which checks who may see what."""
    return await serve_page(request, "replay.html")


async def serve_page(request: web.Request, filename: str) -> web.Response:
    """An HTML page of web_client/ with the import map inserted (hashed into the CSP)."""
    static = request.app[STATIC_KEY]
    cached = await static.get(request.app[WEB_ROOT_KEY] / filename)
    if cached is None:
        raise HirobaError(Reason.NOT_FOUND, "the web client is missing; run make run")
    script = f'<script type="importmap">{request.app[IMPORTMAP_KEY]}</script>'
    html = cached.body.decode("utf-8").replace(IMPORTMAP_PLACEHOLDER, script, 1)
    return web.Response(
        text=html,
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


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


async def list_rooms(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    rooms = [
        {
            "id": room.id,
            "kind": room.kind.value,
            "name": {"ja": room.info.name_ja, "en": room.info.name_en},
            "capacity": room.info.capacity,
            "participants": len(room.participants),
            "recording": room.id in hub.recording_since,
        }
        for room in hub.rooms.values()
    ]
    return web.json_response(
        {"rooms": rooms}, dumps=lambda obj: json.dumps(obj, ensure_ascii=False)
    )


async def app_static(request: web.Request) -> web.Response:
    path = app_file(request.app[WEB_ROOT_KEY], request.match_info["path"])
    cached = None if path is None else await request.app[STATIC_KEY].get(path)
    if cached is None:
        raise HirobaError(Reason.NOT_FOUND, "no such file")
    # Our own files change with every deploy: revalidate (cheap, ETag) instead of caching.
    return StaticFiles.respond(request, cached, "no-cache")


async def vendor_static(request: web.Request) -> web.Response:
    package, rest = request.match_info["package"], request.match_info["path"]
    if package.startswith("@") and "/" in rest:  # a scoped npm package: @scope/name/...
        name, rest = rest.split("/", 1)
        package = f"{package}/{name}"
    path = vendor_file(request.app[WEB_ROOT_KEY], package, rest)
    cached = None if path is None else await request.app[STATIC_KEY].get(path)
    if cached is None:
        raise HirobaError(Reason.NOT_FOUND, "no such file")
    return StaticFiles.respond(request, cached, "public, max-age=86400")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/replay", replay)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/rooms", list_rooms)
    app.router.add_get("/app/{path:.+}", app_static)
    app.router.add_get("/vendor/{package}/{path:.+}", vendor_static)
