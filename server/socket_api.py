"""Socket.io handlers: each validates at the edge, asks the core, and acks.

Handlers return the acknowledgement; python-socketio sends it only to clients that asked
for one. Errors go back as ``{"ok": false, "reason", "message"}`` and never reach others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from moderation import policy
from moderation.tokens import verify_token
from rooms.errors import HirobaError, Reason
from server import events
from server.hub import Hub, Session
from server.messages import JoinRequest, LeaveRequest, MoveRequest

log = logging.getLogger(__name__)

Ack = dict[str, Any]
Handler = Callable[[Session, object], Awaitable[Ack]]


class SocketApi:
    """Binds the hub to a python-socketio server."""

    def __init__(self, sio: socketio.AsyncServer, hub: Hub, secret: bytes) -> None:
        self.sio = sio
        self.hub = hub
        self.secret = secret
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        sio.on(events.JOIN, self._guard(self.join))
        sio.on(events.LEAVE, self._guard(self.leave))
        sio.on(events.MOVE, self._guard(self.move, move=True))
        sio.on("*", self.on_unknown)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        self.hub.connect(sid)

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        session = self.hub.disconnect(sid)
        if session is not None:
            log.debug("socket %s disconnected", sid)

    async def on_unknown(self, event: str, sid: str, *args: object) -> Ack:
        return HirobaError(Reason.UNKNOWN_EVENT, f"no event {str(event)[:40]!r}").to_ack()

    def _guard(self, handler: Handler, move: bool = False) -> Callable[..., Awaitable[Ack]]:
        """Wrap a handler with rate limiting and error-to-ack translation."""

        async def guarded(sid: str, payload: object = None, *extra: object) -> Ack:
            session = self.hub.sessions.get(sid)
            if session is None:
                return HirobaError(Reason.NOT_JOINED, "socket is not connected").to_ack()
            now = self.hub.clock()
            bucket = session.moves if move else session.events
            if not bucket.allow(now):
                if not session.violations.allow(now) and session.connected:
                    session.connected = False
                    log.warning("disconnecting socket %s for flooding", sid)
                    await self.sio.disconnect(sid)
                return HirobaError(Reason.RATE_LIMITED, "too many messages").to_ack()
            try:
                if extra:
                    raise HirobaError(Reason.BAD_PAYLOAD, "send one payload object")
                return await handler(session, payload)
            except HirobaError as exc:
                return exc.to_ack()
            except Exception:
                log.exception("handler failed for socket %s", sid)
                return HirobaError(Reason.INTERNAL, "the server failed; try again").to_ack()

        return guarded

    async def join(self, session: Session, payload: object) -> Ack:
        request = JoinRequest.parse(payload)
        room = self.hub.room(request.room)
        role, name = policy.ANONYMOUS_ROLE, request.name
        if request.token is not None:
            grant = verify_token(self.secret, request.token, room.id, now=time.time())
            role, name = grant.role, grant.name or name
        previous = session.room
        participant = self.hub.join(session, room, name, role, request.avatar)
        session.lang = request.lang
        if previous is not None and previous != room.id:
            await self.sio.leave_room(session.sid, previous)
        await self.sio.enter_room(session.sid, room.id)
        if not session.connected:
            # The socket went away while we were entering it into the room: the
            # disconnect handler already removed the participant; undo nothing else.
            return HirobaError(Reason.NOT_JOINED, "socket disconnected during join").to_ack()
        log.info("%s joined %s as %s", participant.name, room.id, participant.role.value)
        snapshot = self.hub.snapshot(room).to_wire()
        # The client predicts its own movement; it learns its limits from the policy here
        # rather than keeping a copy of the rules.
        snapshot["self_may"] = {"enter_stage": policy.may_enter_stage(participant.role)}
        return {"ok": True, "self": participant.id, "snapshot": snapshot}

    async def leave(self, session: Session, payload: object) -> Ack:
        LeaveRequest.parse(payload)
        room_id = self.hub.leave(session)
        if room_id is not None:
            await self.sio.leave_room(session.sid, room_id)
        return {"ok": True}

    async def move(self, session: Session, payload: object) -> Ack:
        request = MoveRequest.parse(payload)
        p = self.hub.move(session, request.x, request.z, request.h)
        return {"ok": True, "x": round(p.x, 2), "z": round(p.z, 2), "h": round(p.h, 3)}
