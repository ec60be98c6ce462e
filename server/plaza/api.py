"""Socket.io handlers: each validates at the edge, asks the core, and acks.

Handlers return the acknowledgement; python-socketio sends it only to clients that asked
for one. Errors go back as ``{"ok": false, "reason", "message"}`` and never reach others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import socketio

from moderation import policy
from moderation.rate_limit import ConnectionCounts
from rooms.appearance import AvatarStyle
from rooms.errors import HirobaError, Reason
from rooms.model import Participant
from rooms.room import Room
from server.common.networks import limit_key, peer_address
from server.meetings.seats import Seat
from server.meetings.service import MeetingService
from server.motion.service import MotionService
from server.sockets import events
from server.sockets.hub import Hub, Session
from server.sockets.messages import JoinRequest, LeaveRequest, MoveRequest
from server.sockets.registry import Ack, Register, moves_bucket

log = logging.getLogger(__name__)

#: A part of the join acknowledgement, ``extra(room, participant)`` (e.g. the audio plane's
#: slots, the recording status, TURN credentials).
JoinExtra = Callable[[Room, Participant], dict[str, object]]


def signalling_address(environ: dict[str, Any]) -> str | None:
    """The socket's peer address (the browser's, behind a trusted proxy), or None for a
    socket of another cluster node."""
    request = environ.get("aiohttp.request")
    remote = getattr(request, "remote", None)
    return remote if isinstance(remote, str) else None


def client_address(environ: dict[str, Any], ipv6_prefix: int = 64) -> str | None:
    """The key a socket's connection counts against (:func:`server.common.networks.limit_key`),
    or None if it is not counted: a socket of another cluster node (its own node counted
    it) or a loopback peer (a proxy on this machine that is not in ``trusted_proxies``
    would make every browser one)."""
    remote = signalling_address(environ)
    if remote is None:
        return None
    address = peer_address(remote)
    if address is not None and address.is_loopback:
        return None
    return limit_key(remote, ipv6_prefix)  # (a Unix socket's peer: counted as one address)


class SocketApi:
    """The plaza's socket events: connections, join, leave and move."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        hub: Hub,
        meetings: MeetingService,
        motion: MotionService | None = None,
        join_extras: Sequence[JoinExtra] = (),
    ) -> None:
        self.sio = sio
        self.hub = hub
        self.meetings = meetings
        self.motion = motion
        #: Extra parts of the join ack, each merged into it in this order.
        self.join_extras = tuple(join_extras)
        #: Sockets per client address on this node (docs/security.md, "per address").
        self.connections = ConnectionCounts(hub.settings.max_connections_per_address)
        # The meeting admits people from its lobby later, and needs this API to seat their
        # avatars; the API needs the meeting to decide joins: one of the two is told of the
        # other after construction, through this one documented method.
        meetings.bind(self.enter)

    def bind(self, register: Register) -> None:
        """Register join, leave and move behind the guard, and the socket's own events."""
        register(events.JOIN, self.join)
        register(events.LEAVE, self.leave)
        register(events.MOVE, self.move, bucket_of=moves_bucket)
        # A connection's opening, end and unknown events belong to no session yet (or any
        # more): they go straight to python-socketio, outside the guard.
        self.sio.on("connect", self.on_connect)
        self.sio.on("disconnect", self.on_disconnect)
        self.sio.on("*", self.on_unknown)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        address = client_address(environ, self.hub.settings.ipv6_limit_prefix)
        if address is not None and not self.connections.open(sid, address):
            log.warning("refused a socket: %d open from one address", self.connections.limit)
            message = "too many connections from your network; try again later"
            raise socketio.exceptions.ConnectionRefusedError(
                message, {"reason": Reason.RATE_LIMITED.value, "message": message}
            )
        self.hub.connect(sid).address = signalling_address(environ)

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        self.connections.close(sid)
        session = self.hub.disconnect(sid)
        await self.meetings.leave(sid)
        if session is not None:
            log.debug("socket %s disconnected", sid)

    async def on_unknown(self, event: str, sid: str, *args: object) -> Ack:
        return HirobaError(Reason.UNKNOWN_EVENT, f"no event {str(event)[:40]!r}").to_ack()

    async def join(self, session: Session, payload: object) -> Ack:
        request = JoinRequest.parse(payload)
        room = self.hub.room(request.room)
        if request.resume is not None:
            claim = self.meetings.resumed(request.resume, room.id, request.device)
            await self._end_stale(claim.pid, session)
        # Who the person is (invitation, staff login, device) and where they go (lobby,
        # gallery, room) is the meeting's to decide (server/meetings/service.py).
        entry = await self.meetings.join(
            session,
            room,
            name=request.name,
            lang=request.lang,
            style=request.avatar,
            device=request.device,
            token=request.token,
            code=request.code,
            gallery=request.gallery,
            staff=request.staff,
            resume=request.resume,
        )
        if not session.connected:
            # The socket went away while the meeting was deciding: its disconnect handler
            # ran before the meeting knew the person, so take them out of it here.
            await self.meetings.leave(session.sid)
            return _gone()
        if entry.waiting:
            return entry.ack
        return await self.enter(session, room, entry.seat)

    async def _end_stale(self, pid: str, session: Session) -> None:
        """A resumed id still held by another socket (one whose node stopped before it
        could say so): that socket's person leaves, so the id is free for this join."""
        for other in list(self.hub.sessions.values()):
            if other.pid == pid and other is not session:
                self.hub.disconnect(other.sid)
                await self.meetings.leave(other.sid)
                await self.sio.disconnect(other.sid)

    async def enter(self, session: Session, room: Room, seat: Seat) -> Ack:
        """Put a seated person's avatar into ``room``: on joining, or once admitted from
        the lobby. Returns the join acknowledgement."""
        if not session.connected:
            return _gone()
        previous = session.room
        style = seat.style or AvatarStyle.parse(None)
        participant = self.hub.join(session, room, seat.name, seat.role, style, pid=seat.pid)
        participant.vrm = seat.vrm  # (before any await: the join's delta carries it)
        session.lang = seat.lang
        if previous is not None and previous != room.id:
            await self.sio.leave_room(session.sid, previous)
        await self.sio.enter_room(session.sid, room.id)
        if not session.connected:
            # The socket went away while we were entering it into the room. If its
            # disconnect handler ran before the participant existed, nobody removed them:
            # do it here (both calls are no-ops when the handler already did).
            self.hub.leave(session)
            await self.meetings.leave(session.sid)
            return _gone()
        log.info("%s joined %s as %s", participant.name, room.id, participant.role.value)
        snapshot = self.hub.snapshot(room).to_wire()
        # The client predicts its own movement; it learns its limits from the policy here
        # rather than keeping a copy of the rules.
        snapshot["self_may"] = {
            "enter_stage": policy.may_enter_stage(participant.role),
            "track_on_server": self.hub.settings.server_tracking_max > 0
            and self.hub.server_tracking_ready
            and policy.decide(participant.role, policy.Action.TRACKING_SERVER).allowed,
        }
        ack: Ack = {"ok": True, "self": participant.id, "snapshot": snapshot}
        if self.motion is not None:
            ack["motion"] = self.motion.joined(room, participant)
        for extra in self.join_extras:
            ack.update(extra(room, participant))
        return {**ack, **await self.meetings.welcome(session.sid)}

    async def leave(self, session: Session, payload: object) -> Ack:
        LeaveRequest.parse(payload)
        room_id = self.hub.leave(session)
        if room_id is not None:
            await self.sio.leave_room(session.sid, room_id)
        await self.meetings.leave(session.sid)
        return {"ok": True}

    async def move(self, session: Session, payload: object) -> Ack:
        request = MoveRequest.parse(payload)
        p = self.hub.move(session, request.x, request.z, request.h)
        if self.motion is not None and session.room is not None:
            # A fallback upload: the position reaches others on the motion plane only.
            self.motion.plane.place(session.room, p.id, p.x, p.z, p.h)
        return {"ok": True, "x": round(p.x, 2), "z": round(p.z, 2), "h": round(p.h, 3)}


def _gone() -> Ack:
    return HirobaError(Reason.NOT_JOINED, "socket disconnected during join").to_ack()
