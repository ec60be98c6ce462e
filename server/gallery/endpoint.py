"""The gallery's WebSocket, ``GET /gallery/ws?room=<id>``: no login, no name, no avatar.

The server speaks first (``hello``), then frames every period and state messages on
change. A viewer may raise a hand or ask to speak (JSON text, :func:`codec.decode_uplink`);
a bad uplink is answered ``error`` and the connection kept, more than
:data:`FLOOD_MESSAGES` messages in :data:`FLOOD_SECONDS` close it (4429). Close codes:
4403 foreign origin, 4404 no such room, 4429 flood, 4503 gallery full (an ``error`` with
``room_full`` or ``address_limit`` first).

Opened with ``compress=False``: the plane writes the same pre-built, uncompressed frame to
every viewer's transport (:mod:`server.common.wsframe`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from rooms.errors import HirobaError
from rooms.names import normalise_name
from server.gallery import codec
from server.gallery.plane import GalleryPlane, Viewer
from server.gallery.state import GalleryState
from server.meetings.seats import address_key
from server.sockets.hub import Hub

log = logging.getLogger(__name__)

GALLERY_WS_PATH = "/gallery/ws"
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_NO_SUCH_ROOM = 4404
CLOSE_FLOOD = 4429
CLOSE_FULL = 4503
#: Uplink messages a viewer may send in :data:`FLOOD_SECONDS` before it is closed.
FLOOD_MESSAGES = 10
FLOOD_SECONDS = 10.0
#: Largest message aiohttp reads at all (larger: closed 1009 by aiohttp itself); between
#: codec.MAX_UPLINK and this a message is answered ``bad_payload``.
READ_LIMIT = 4096


def gallery_handler(
    plane: GalleryPlane,
    state: GalleryState,
    hub: Hub,
    ipv6_prefix: int,
    origin_allowed: Callable[[str | None, str], bool],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler of :data:`GALLERY_WS_PATH`."""

    async def handle(request: web.Request) -> web.StreamResponse:
        room = request.query.get("room", "")
        ws = web.WebSocketResponse(max_msg_size=READ_LIMIT, heartbeat=20.0, compress=False)
        await ws.prepare(request)
        own = f"{request.scheme}://{request.host}"
        if not origin_allowed(request.headers.get("Origin"), own):
            await ws.close(code=CLOSE_FORBIDDEN_ORIGIN, message=b"origin not allowed")
            return ws
        if room not in hub.rooms:
            await ws.close(code=CLOSE_NO_SUCH_ROOM, message=b"no such room")
            return ws
        transport = request.transport
        if transport is None:
            return ws
        bound_send_buffer(transport, plane.limits.busy_bytes)
        try:
            viewer = plane.admit(room, transport, address_key(request.remote, ipv6_prefix))
        except HirobaError as refused:
            await ws.send_bytes(codec.encode_state(1, {
                "t": "error", "reason": refused.reason.value, "message": refused.message}))
            await ws.close(code=CLOSE_FULL, message=b"gallery full")
            return ws
        # Nothing before its hello (an edge's hello may wait for the leader's snapshot);
        # a state message meanwhile marks it stale: it gets the whole state after.
        viewer.greeted = False
        try:
            await state.ready(viewer)
            plane.send_state(viewer, state.hello(viewer))
            viewer.greeted = True
            await _read(ws, plane, viewer)
        finally:
            plane.remove(viewer)
            gone = request.transport is None or request.transport.is_closing()
            if gone and not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
        return ws

    return handle


def bound_send_buffer(transport: asyncio.BaseTransport, size: int) -> None:
    """Fix the kernel's send buffer of a viewer's socket near ``size``: left to itself,
    Linux grows a socket's buffer up to ``tcp_wmem``'s maximum (4 MiB) for a peer that does
    not read, minutes of frames held per viewer before the plane even sees it busy. Fixed,
    a viewer that stops reading holds at most about twice ``size`` in the kernel and
    ``busy_bytes`` here, and is skipped, then cut off, within seconds."""
    sock = transport.get_extra_info("socket")
    if sock is None or size <= 0:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


async def _read(ws: web.WebSocketResponse, plane: GalleryPlane, viewer: Viewer) -> None:
    recent: deque[float] = deque()
    async for msg in ws:
        if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            break
        now = plane.clock()
        recent.append(now)
        while recent and now - recent[0] > FLOOD_SECONDS:
            recent.popleft()
        if len(recent) > FLOOD_MESSAGES:
            await ws.close(code=CLOSE_FLOOD, message=b"too many messages")
            break
        try:
            apply_uplink(plane, viewer, codec.decode_uplink(msg.data), now)
            for listener in plane.request_listeners:
                listener(viewer.room)
        except HirobaError as bad:
            plane.send_state(viewer, {"t": "error", "reason": bad.reason.value,
                                      "message": bad.message})


def apply_uplink(plane: GalleryPlane, viewer: Viewer, up: codec.Uplink, now: float) -> None:
    """A viewer's hand or request to speak: kept on the viewer for staff to see."""
    if isinstance(up, codec.Hand):
        viewer.hand = up.up
    elif up.cancel:
        viewer.ask, viewer.text = False, ""
    else:
        if up.name:
            viewer.name = normalise_name(up.name)  # checked like a join name
        viewer.ask, viewer.text = True, up.text
    if viewer.hand or viewer.ask:
        viewer.asked_at = viewer.asked_at or plane.wall()  # Unix seconds: staff see a time
    else:
        viewer.asked_at = None
