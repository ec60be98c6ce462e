"""The motion plane's raw WebSocket endpoint, ``GET /motion``.

The first message is the motion token from the join acknowledgement (text); after that,
binary uplinks go in and binary frames come out. Errors are counted, not answered
(answering each bad uplink would let a flood double itself): after too many the socket is
closed with code 4400; a bad token closes it with 4401.

Liveness: a connection silent for :data:`LIVENESS_IDLE` seconds (no uplink, no pong, no
other message) is sent a ping; one that still says nothing :data:`LIVENESS_ANSWER` seconds
later is dropped (its transport aborted), so a dead peer is closed within
idle + answer + two sweeps. This replaces aiohttp's ``heartbeat``, which gave the same
guarantee (a ping after 20 s without data, 10 s for the pong) but scheduled a callback for
every chunk received (about 8 % of the server at 500 clients, docs/performance.md "Motion
plane"); here a message costs one counter increment, and one sweep a few times a minute
looks at every connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

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
#: Seconds without a message from a client before it is pinged (aiohttp's heartbeat was 20).
LIVENESS_IDLE = 20.0
#: Seconds a pinged client has to say anything (a pong, an uplink) before it is dropped.
LIVENESS_ANSWER = 10.0
#: An unmasked ping with no payload (RFC 6455 5.5.2), written whole like the frames.
_PING = b"\x89\x00"


@dataclass(eq=False)
class _Watched:
    """One connection's liveness: ``heard`` counts its messages (the handler's only cost
    per message); the sweep compares it with what it saw last time."""

    ws: web.WebSocketResponse
    request: web.Request
    heard: int = 0
    seen: int = 0
    quiet_since: float = 0.0
    pinged_at: float | None = None


@dataclass(eq=False)
class Liveness:
    """Pings silent ``/motion`` connections and drops those that stay silent.

    One sweep task for all of them, every ``min(idle, answer) / 4`` seconds, started with
    the first connection and ended with the last (no app hooks needed).
    """

    idle: float = LIVENESS_IDLE
    answer: float = LIVENESS_ANSWER
    watched: set[_Watched] = field(default_factory=set)
    _task: asyncio.Task[None] | None = None

    @property
    def every(self) -> float:
        return min(self.idle, self.answer) / 4

    def watch(self, ws: web.WebSocketResponse, request: web.Request) -> _Watched:
        loop = asyncio.get_running_loop()
        w = _Watched(ws, request, quiet_since=loop.time())
        self.watched.add(w)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._sweep())
        return w

    def unwatch(self, w: _Watched) -> None:
        self.watched.discard(w)

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while self.watched:
            await asyncio.sleep(self.every)
            now = loop.time()
            for w in list(self.watched):
                self.check(w, now)

    def check(self, w: _Watched, now: float) -> None:
        if w.heard != w.seen:
            w.seen, w.quiet_since, w.pinged_at = w.heard, now, None
            return
        t = w.request.transport
        if t is None or t.is_closing() or w.ws.closed:
            return
        if w.pinged_at is None:
            if now - w.quiet_since >= self.idle:
                t.write(_PING)
                w.pinged_at = now
        elif now - w.pinged_at >= self.answer:
            # A dead peer: no close handshake can complete and a graceful close would
            # wait for a send buffer it never reads. The handler's read ends, it detaches.
            log.info("motion: no answer to a ping in %.0f s, dropped", self.answer)
            t.abort()


def motion_handler(
    plane: MotionPlane,
    tick_hz: float,
    origin_allowed: Callable[[str | None, str], bool],
    liveness: Liveness | None = None,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for ``/motion``, bound to a plane (and a :class:`Liveness`:
    the default one, 20 s idle and 10 s to answer, unless given)."""
    alive = liveness or Liveness()

    async def handle(request: web.Request) -> web.StreamResponse:
        # Room for the first message, the token, as well as for uplinks; anything larger
        # is closed by aiohttp with 1009 (message too big). No aiohttp heartbeat: the
        # liveness sweep above does its work (pongs are read here, so no autoping).
        ws = web.WebSocketResponse(
            max_msg_size=max(codec.MAX_UPLINK, codec.MAX_TOKEN_LENGTH) + 64, heartbeat=None,
            autoping=False, compress=False,
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
        watched = alive.watch(ws, request)
        try:
            await ws.send_str("ok")
            async for msg in ws:
                watched.heard += 1
                if msg.type is WSMsgType.PONG:
                    continue
                if msg.type is WSMsgType.PING:  # answered as autoping would
                    await ws.pong(msg.data)
                    continue
                verdict = reader.feed(msg.data if msg.type is WSMsgType.BINARY else None)
                if verdict is Verdict.GONE:
                    break
                if verdict is Verdict.CLOSE_BAD_INPUT:
                    await ws.close(code=CLOSE_BAD_INPUT, message=b"malformed motion data")
                    break
        finally:
            alive.unwatch(watched)
            plane.detach(room_id, pid, transport)
            # A dropped connection cancels this handler (handler_cancellation) without
            # closing the WebSocket object: close it, so nothing of it waits for a timeout.
            # Closing a dead one returns at once.
            gone = request.transport is None or request.transport.is_closing()
            if gone and not ws.closed:
                await ws.close()
        return ws

    return handle
