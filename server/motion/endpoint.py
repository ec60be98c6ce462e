"""The motion plane's raw WebSocket endpoint, ``GET /motion``.

The first message is the motion token from the join acknowledgement (text); after that,
binary uplinks go in and binary frames come out. Errors are counted, not answered
(answering each bad uplink would let a flood double itself): after too many the socket is
closed with code 4400; a bad token closes it with 4401; a frame that breaks RFC 6455 with
1002, a message over the uplink size with 1009.

Reading: the token is read through aiohttp's WebSocket reader; then the connection's bytes
are parsed where they arrive (:mod:`server.common.wsread`) and each uplink is handed to
its :class:`UplinkReader` at once, with no queue and no wake-up of this handler's task,
which only waits for the connection to end (about a third of the server's receive cost
per uplink at 10,000 a second, docs/performance.md "Motion plane").

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
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from moderation.rate_limit import TokenBucket
from server.common.wsread import (
    CLOSE_NORMAL,
    OP_PONG,
    ClientFrameReader,
    close_frame,
    control_frame,
    take_over_reading,
)
from server.motion import codec
from server.motion.plane import MotionPlane
from server.motion.transport import WebSocketTransport
from server.motion.uplink import UplinkReader, Verdict

log = logging.getLogger(__name__)

CLOSE_BAD_TOKEN = 4401
CLOSE_BAD_INPUT = 4400
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_GOING_AWAY = 1001
#: Pings answered per second on one connection, and at once (the rest are ignored).
PING_RATE = 1.0
PING_BURST = 5
#: Seconds to wait for the client's close frame after sending ours (RFC 6455 7.1.1).
CLOSE_WAIT = 2.0
#: Close codes a client may send that are answered as they came (others with 1000).
ANSWERABLE_CLOSE = frozenset((1000, 1001))
#: The largest message taken after the token: an uplink (longer ones are closed with 1009).
MAX_MESSAGE = codec.MAX_UPLINK + 64
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


class _Uplinks:
    """One ``/motion`` connection's incoming frames, read in the protocol's callback
    (:class:`ClientFrameReader`): uplinks to the :class:`UplinkReader` at once, pings
    answered, pongs and every message counted for the liveness sweep.

    Closing follows RFC 6455 5.5.1 whichever side begins: this side writes its close frame
    (after which no motion frame is written), ignores what else arrives and closes the TCP
    connection when the client's close frame comes back, or after :data:`CLOSE_WAIT`
    seconds; a client's close is answered and the connection closed. ``ended`` resolves
    when the connection is closed; the handler waits on it."""

    def __init__(self, reader: UplinkReader, watched: _Watched, request: web.Request,
                 frames_out: WebSocketTransport, ended: asyncio.Future[None]) -> None:  # fmt: skip
        self.reader = reader
        self.watched = watched
        self.transport = request.transport
        self.frames_out = frames_out
        self.ended = ended
        self.frames = ClientFrameReader(self, MAX_MESSAGE)
        self.closing = False
        self._timer: asyncio.TimerHandle | None = None
        # Pings are answered, a few at most: each pong is a write, and a ping flood
        # must not buy a client more of the server than its uplinks may (browsers send
        # none; libraries one every 20 s or so).
        self.pings = TokenBucket(rate=PING_RATE, burst=PING_BURST)

    def on_binary(self, payload: bytes) -> None:
        self.watched.heard += 1
        if not self.closing:
            self._verdict(self.reader.feed(payload))

    def on_text(self, payload: bytes) -> None:
        self.watched.heard += 1
        if not self.closing:
            self._verdict(self.reader.feed(None))  # counted malformed, as before

    def on_ping(self, payload: bytes) -> None:
        self.watched.heard += 1
        if not self.closing and self.pings.allow(time.monotonic()):
            self._write(control_frame(OP_PONG, payload))

    def on_pong(self) -> None:
        self.watched.heard += 1

    def on_close(self, code: int | None) -> None:
        if not self.closing:  # the client began: answer with its code, then close
            self._say_close(code if code in ANSWERABLE_CLOSE else CLOSE_NORMAL, b"")
        self._shut()

    def on_protocol_error(self, code: int, why: str) -> None:
        self.close(code, why.encode(), wait_for_reply=False)  # nothing more can be read

    def on_eof(self) -> None:
        self._shut()

    def _verdict(self, verdict: Verdict) -> None:
        if verdict is Verdict.GONE:
            self.close(CLOSE_NORMAL, b"left the room")
        elif verdict is Verdict.CLOSE_BAD_INPUT:
            self.close(CLOSE_BAD_INPUT, b"malformed motion data")

    def close(self, code: int, reason: bytes, *, wait_for_reply: bool = True) -> None:
        """Begin closing with ``code`` (once): the close frame goes after the frames
        already buffered, and the connection is closed on the client's reply (or a
        timeout), or at once unless ``wait_for_reply``."""
        if not self.closing:
            self._say_close(code, reason)
            t = self.transport
            if wait_for_reply and t is not None and not t.is_closing():
                self._timer = asyncio.get_running_loop().call_later(CLOSE_WAIT, self._shut)
                return
        if not wait_for_reply:
            self._shut()

    def _say_close(self, code: int, reason: bytes) -> None:
        self.closing = True
        self.frames_out.closing = True  # no motion frame after the close frame
        self._write(close_frame(code, reason))

    def _write(self, data: bytes) -> None:
        t = self.transport
        if t is not None and not t.is_closing():
            t.write(data)

    def _shut(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.frames.stop()
        t = self.transport
        if t is not None and not t.is_closing():
            t.close()
        if not self.ended.done():
            self.ended.set_result(None)


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
        ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        connection = _Uplinks(reader, watched, request, transport, ended)
        # The plane closes it when its participant leaves: one close frame, ours.
        transport.closed_by(lambda: connection.close(CLOSE_NORMAL, b"left the room"))
        try:
            # The token was the last message through aiohttp's reader: from here on the
            # bytes are parsed where they arrive and each uplink goes to the plane at once
            # (server/common/wsread.py). The client sends nothing before this "ok".
            take_over_reading(request, connection.frames)
            t = request.transport
            if t is None or t.is_closing():
                return ws  # gone already: aiohttp told its own reader, not ours
            try:
                await ws.send_str("ok")
            except ConnectionResetError:
                return ws
            await ended
        finally:
            alive.unwatch(watched)
            plane.detach(room_id, pid, transport)
            # The connection is closed by now (or, cancelled, gone), so aiohttp's own
            # close of the WebSocket when this handler returns finds nothing to wait for.
            connection.close(CLOSE_GOING_AWAY, b"", wait_for_reply=False)
        return ws

    return handle
