"""The motion plane's raw WebSocket endpoint, ``GET /motion``.

The first message is the motion token from the join acknowledgement (text); after that,
binary uplinks go in and binary frames come out. Errors are counted, not answered
(answering each bad uplink would let a flood double itself): after too many the socket is
closed with code 4400; a bad token closes it with 4401.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from server.motion import codec
from server.motion.plane import MotionPlane
from server.motion.transport import WebSocketTransport
from server.motion.uplink import UplinkReader, Verdict

log = logging.getLogger(__name__)

CLOSE_BAD_TOKEN = 4401
CLOSE_BAD_INPUT = 4400
CLOSE_FORBIDDEN_ORIGIN = 4403
AUTH_TIMEOUT = 5.0


def motion_handler(
    plane: MotionPlane,
    tick_hz: float,
    origin_allowed: Callable[[str | None, str], bool],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for ``/motion``, bound to a plane."""

    async def handle(request: web.Request) -> web.StreamResponse:
        # Room for the first message, the token, as well as for uplinks; anything larger
        # is closed by aiohttp with 1009 (message too big).
        ws = web.WebSocketResponse(
            max_msg_size=max(codec.MAX_UPLINK, codec.MAX_TOKEN_LENGTH) + 64, heartbeat=20.0,
            compress=False,
        )
        await ws.prepare(request)
        own = f"{request.scheme}://{request.host}"
        if not origin_allowed(request.headers.get("Origin"), own):
            await ws.close(code=CLOSE_FORBIDDEN_ORIGIN, message=b"origin not allowed")
            return ws
        try:
            first = await ws.receive(timeout=AUTH_TIMEOUT)
        except TimeoutError:
            await ws.close(code=CLOSE_BAD_TOKEN, message=b"no token")
            return ws
        token = first.data if first.type is WSMsgType.TEXT else None
        transport = WebSocketTransport(ws, request)
        bound = plane.attach(token, transport) if isinstance(token, str) else None
        if bound is None:
            await ws.close(code=CLOSE_BAD_TOKEN, message=b"unknown motion token")
            return ws
        room_id, pid = bound
        reader = UplinkReader(plane, room_id, pid, tick_hz)
        try:
            await ws.send_str("ok")
            async for msg in ws:
                verdict = reader.feed(msg.data if msg.type is WSMsgType.BINARY else None)
                if verdict is Verdict.GONE:
                    break
                if verdict is Verdict.CLOSE_BAD_INPUT:
                    await ws.close(code=CLOSE_BAD_INPUT, message=b"malformed motion data")
                    break
        finally:
            plane.detach(room_id, pid, transport)
            # A dropped connection cancels this handler (handler_cancellation) without
            # closing the WebSocket: its heartbeat timer would keep it, its request and
            # buffers alive for another heartbeat (20 s). Closing a dead one returns at once.
            gone = request.transport is None or request.transport.is_closing()
            if gone and not ws.closed:
                await ws.close()
        return ws

    return handle
