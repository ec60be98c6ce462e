"""The HTTP API in cluster mode: an edge passes calls that read or change live meeting
state to the leader, which holds it (docs/cluster.md).

``/api/rooms`` (who is in which room, which is being recorded), staff calls (invitations,
registration codes, exports, audit, publishing recordings) and logins go to the leader, so
they see and change the one copy of each meeting. Reading recordings' files and the
node's own diagnostics stay local: the files are on the shared disk.

The edge tells the leader who the client is (address, scheme, host) in one header signed
with the shared secret, so that the leader's per-address limits (staff logins) and origin
checks see the browser, not the edge. A header that does not verify is ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

FORWARDED = "X-Hiroba-Forwarded"
#: A forwarded request older than this is not trusted (clock skew between nodes included).
MAX_AGE_SECONDS = 30
#: Request headers the leader needs; everything else stays at the edge.
PASS_REQUEST = ("Cookie", "Content-Type", "Origin", "X-CSRF-Token", "Accept", "Accept-Language",
                "If-None-Match")  # fmt: skip
#: Response headers that belong to one connection, not passed through.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "date", "server",
                        "content-length", "upgrade", "proxy-authenticate", "te", "trailer"})
#: Reads of the shared disk and this node's own counters are served where they arrive.
LOCAL_PREFIXES = ("/api/motion/stats", "/api/debug/")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _mac(secret: bytes, value: str) -> str:
    return hmac.new(secret, b"hiroba-forwarded\0" + value.encode(), hashlib.sha256).hexdigest()


def sign_client(secret: bytes, remote: str, scheme: str, host: str, now: float) -> str:
    value = f"{remote}|{scheme}|{host}|{int(now)}"
    return f"{value}|{_mac(secret, value)}"


def verify_client(secret: bytes, header: str, now: float) -> tuple[str, str, str] | None:
    """``(remote, scheme, host)`` of a forwarded request, or None if it does not verify."""
    parts = header.rsplit("|", 1)
    if len(parts) != 2 or not hmac.compare_digest(parts[1], _mac(secret, parts[0])):
        return None
    fields = parts[0].split("|")
    if len(fields) != 4 or fields[1] not in ("http", "https"):
        return None
    try:
        age = now - int(fields[3])
    except ValueError:
        return None
    if not -MAX_AGE_SECONDS <= age <= MAX_AGE_SECONDS:
        return None
    return fields[0], fields[1], fields[2]


def forwarded(request: web.Request, local_disk: bool = True) -> bool:
    """Whether the edge should pass ``request`` on to the leader. ``local_disk``: this node
    shares the leader's data folder (database and recordings)."""
    path = request.path
    if not path.startswith("/api/") or path.startswith(LOCAL_PREFIXES):
        return False
    # Recordings' manifests, files and minutes can be read from a shared disk and database.
    reading = request.method in ("GET", "HEAD") and path.startswith("/api/recordings")
    return not (reading and local_disk)


class HttpForwarder:
    """Both sides: the edge's pass-through and the leader's reading of the header."""

    def __init__(
        self,
        secret: Callable[[], bytes],
        leader_url: Callable[[], Awaitable[str | None]],
        is_leader: Callable[[], bool],
        local_disk: bool = True,
    ) -> None:
        self.local_disk = local_disk
        self.secret = secret
        self.leader_url = leader_url
        self.is_leader = is_leader
        self._http: aiohttp.ClientSession | None = None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get(FORWARDED)
        if header is not None:
            client = verify_client(self.secret(), header, time.time())
            if client is not None:
                remote, scheme, host = client
                request = request.clone(remote=remote, scheme=scheme, host=host)
            return await handler(request)
        if self.is_leader() or not forwarded(request, self.local_disk):
            return await handler(request)
        return await self._forward(request)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        leader = await self.leader_url()
        if leader is None:
            return web.json_response(
                {"ok": False, "reason": "unavailable",
                 "message": "the meeting server is changing over; try again in a moment"},
                status=503, headers={"Retry-After": "2"},
            )  # fmt: skip
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        headers = {k: request.headers[k] for k in PASS_REQUEST if k in request.headers}
        headers["Host"] = request.host
        headers[FORWARDED] = sign_client(
            self.secret(), request.remote or "?", request.scheme, request.host, time.time()
        )
        body = await request.read()  # bounded by the app's client_max_size
        async with self._http.request(
            request.method, leader + request.path_qs, headers=headers, data=body,
            allow_redirects=False,
        ) as answer:
            # Streamed through (a recording's audio may be large); the leader's security
            # headers come with it, this node's middleware cannot add to sent headers.
            response = web.StreamResponse(status=answer.status)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    response.headers.add(name, value)
            await response.prepare(request)
            async for chunk in answer.content.iter_chunked(64 * 1024):
                await response.write(chunk)
            await response.write_eof()
            return response

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
