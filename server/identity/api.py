"""The identity plane wired to the app: socket events, permissions, caps, departures.

:class:`server.identity.plane.IdentityPlane` does the media work; this module feeds it:

- ``identity:publish`` / ``identity:view`` / ``identity:stop`` (docs/protocol.md,
  "Identity video"), behind the socket API's rate limits and error acks. Who may publish
  is the policy's ``identity.publish`` row (members and the chair, in committee rooms);
  who may view is ``identity.view`` (the chair and staff). Everyone else, the public
  gallery included, is refused ``forbidden`` before any SDP is parsed.
- Offers spend the socket's offer budget (``offers_per_second``). A socket holds at most
  one camera and one viewer peer (a new offer replaces its own old one); a room at most
  ``identity_max_publishers`` cameras and ``identity_max_viewers`` viewers
  (``identity_full``); a viewer at most ``identity_max_publishers`` slots.
- Someone who leaves the room, or whom the policy no longer allows after a meeting change,
  has their peers closed; a viewer is told ``identity:closed``.
- ``identity:slots`` tells a viewer which member each slot carries, with their name.

Cluster mode: an edge runs none of these events itself. It passes them to the leader
(server/cluster/forwarding.py), as it does ``rtc:offer``, so every camera and viewer peer
is the leader's, whichever node holds the member's or the chair's socket: the answer
carries the leader's ICE candidates (its ``ice_host_addresses``), the media flows between
the browser and the leader, and ``identity:slots`` / ``identity:closed`` reach the socket
through the socket.io manager. A process that does not hold the room's meeting (an edge
that ran one by mistake) refuses with ``unavailable`` rather than open a peer no meeting
governs. A change of leader ends the peers with the old leader: the page sees its peer
fail (``failed``) and the camera is started again, then with the new leader.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from moderation import policy
from moderation.policy import Action
from rooms.errors import HirobaError, Reason
from rooms.model import Participant
from rooms.room import Room
from server.config.settings import Settings
from server.identity.messages import IdentityPublish, IdentityStop, IdentityTarget, IdentityView
from server.identity.plane import IdentityPlane
from server.meetings.service import MeetingService
from server.rtc.ice import announced_only, rtc_configuration, screen_candidates
from server.sockets import events
from server.sockets.hub import Hub, Session
from server.sockets.registry import Register, offers_bucket

log = logging.getLogger(__name__)

Ack = dict[str, Any]


class IdentityApi:
    """The identity-video side of one server process."""

    def __init__(
        self, settings: Settings, sio: socketio.AsyncServer, hub: Hub, meetings: MeetingService
    ) -> None:
        self.settings = settings
        self.sio = sio
        self.hub = hub
        self.meetings = meetings
        self.plane = IdentityPlane(
            config_of=lambda: rtc_configuration(settings.ice_servers), on_slots=self._on_slots
        )
        #: pid → socket id of every open camera and viewer peer.
        self.publishing: dict[str, str] = {}
        self.viewing: dict[str, str] = {}
        self._outbox: asyncio.Queue[tuple[str, Any, str]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = False
        hub.leave_listeners.append(self._left)
        meetings.change_listeners.append(self.refresh)
        # A committee ballot records whether the voter's camera was live (and may require it).
        meetings.camera_live = self.plane.camera_live

    def bind(self, register: Register) -> None:
        """Register the socket events behind the guard."""
        register(events.IDENTITY_PUBLISH, self.publish, bucket_of=offers_bucket)
        register(events.IDENTITY_VIEW, self.view, bucket_of=offers_bucket)
        register(events.IDENTITY_STOP, self.stop_event)

    def start(self) -> None:
        self._spawn(self._send())

    async def stop(self) -> None:
        """Close every peer (server shutdown); later leaves are no-ops."""
        self._stopped = True
        self.publishing.clear()
        self.viewing.clear()
        await self.plane.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- socket events ------------------------------------------------------------
    async def publish(self, session: Session, payload: object) -> Ack:
        room, pid = await self._allowed(session, Action.IDENTITY_PUBLISH)
        request = IdentityPublish.parse(payload)
        self._admit(room, pid, self.plane.cameras_in(room.id),
                    self.settings.identity_max_publishers, "cameras")
        self.publishing[pid] = session.sid
        try:
            answer = await self.plane.open_camera(
                pid, room.id, screen_candidates(request.sdp, session.address))
        except Exception:
            self.publishing.pop(pid, None)
            raise
        await self._still_there(session, pid, room.id)
        log.info("identity camera on in %s (%d)", room.id, len(self.plane.cameras_in(room.id)))
        return {"ok": True, "type": "answer", "sdp": announced_only(answer)}

    async def view(self, session: Session, payload: object) -> Ack:
        room, pid = await self._allowed(session, Action.IDENTITY_VIEW)
        request = IdentityView.parse(payload)
        most = self.settings.identity_max_publishers
        if request.slots > most:
            raise HirobaError(Reason.BAD_FIELD, f"at most {most} slots on this server")
        self._admit(room, pid, self.plane.viewers_in(room.id),
                    self.settings.identity_max_viewers, "viewers")
        self.viewing[pid] = session.sid
        try:
            answer = await self.plane.open_viewer(
                pid, room.id, screen_candidates(request.sdp, session.address), request.slots)
        except Exception:
            self.viewing.pop(pid, None)
            raise
        await self._still_there(session, pid, room.id)
        return {"ok": True, "type": "answer", "sdp": announced_only(answer),
                "slots": self._named(room.id, self.plane.slots_of(pid))}  # fmt: skip

    async def stop_event(self, session: Session, payload: object) -> Ack:
        request = IdentityStop.parse(payload)
        seat = self.meetings.seats.get(session.sid)
        if seat is None:
            raise HirobaError(Reason.NOT_JOINED, "join a room first")
        pid = seat.pid
        if request.what in (IdentityTarget.PUBLISH, IdentityTarget.ALL):
            self.publishing.pop(pid, None)
            await self.plane.close_camera(pid)
        if request.what in (IdentityTarget.VIEW, IdentityTarget.ALL):
            self.viewing.pop(pid, None)
            await self.plane.close_viewer(pid)
        return {"ok": True}

    # --- meeting changes ----------------------------------------------------------
    def refresh(self, room_id: str) -> None:
        """After a meeting change: close the peers of those no longer allowed."""
        if self._stopped:
            return
        now = self.meetings.clock()
        for peers, action, what in ((self.publishing, Action.IDENTITY_PUBLISH, "publish"),
                                    (self.viewing, Action.IDENTITY_VIEW, "view")):
            for pid, sid in list(peers.items()):
                seat = self.meetings.seats.get(sid)
                meeting = self.meetings.meetings.get(seat.room) if seat is not None else None
                person = meeting.people.get(pid) if meeting is not None else None
                if seat is None or seat.pid != pid or meeting is None or person is None:
                    # The seat is gone (a console closed, a socket left the room).
                    decision = policy.Decision(False, Reason.NOT_JOINED, "you left the room")
                elif room_id and seat.room != room_id:
                    continue
                else:
                    decision = policy.decide(person.role, action, meeting.context(person, now))
                if decision.allowed:
                    continue
                peers.pop(pid, None)
                close = (self.plane.close_camera if what == "publish"
                         else self.plane.close_viewer)  # fmt: skip
                self._spawn(close(pid))
                reason = decision.reason or Reason.FORBIDDEN
                self._emit(events.IDENTITY_CLOSED,
                           {"what": what, "reason": reason.value, "message": decision.message},
                           sid)

    # --- internals ----------------------------------------------------------------
    async def _allowed(self, session: Session, action: Action) -> tuple[Room, str]:
        """The room and id of the socket's seat (an avatar's or a staff console's), if the
        policy lets it do ``action`` there; checked before the payload's SDP is read."""
        if session.room is not None and session.room not in self.meetings.meetings:
            # Not this process's meeting: an edge passes identity:* to the leader, so only
            # a stray local call lands here; no peer without the meeting's rules.
            raise HirobaError(Reason.UNAVAILABLE,
                              "identity video runs on the node that holds the meeting")
        seat, meeting = await self.meetings.acting(session)
        meeting.require(seat.pid, action, self.meetings.clock())
        return self.hub.room(seat.room), seat.pid

    def _admit(self, room: Room, pid: str, held: list[str], most: int, what: str) -> None:
        """Refuse a new peer over the room's cap; one that replaces the same person's own
        takes no new place."""
        if pid not in held and len(held) >= most:
            raise HirobaError(Reason.IDENTITY_FULL,
                              f"this room has all the identity {what} it may ({most})")

    async def _still_there(self, session: Session, pid: str, room_id: str) -> None:
        seat = self.meetings.seats.get(session.sid)
        if seat is None or seat.pid != pid or seat.room != room_id or not session.connected:
            # Left (or moved rooms) while the connection was negotiated.
            self.publishing.pop(pid, None)
            self.viewing.pop(pid, None)
            await self.plane.leave(pid)
            raise HirobaError(Reason.NOT_JOINED, "left the room during set-up")

    def _named(self, room_id: str, slots: list[str | None]) -> list[dict[str, str] | None]:
        room = self.hub.rooms.get(room_id)
        people = room.participants if room is not None else {}
        out: list[dict[str, str] | None] = []
        for pid in slots:
            person = people.get(pid) if pid is not None else None
            out.append(None if pid is None else
                       {"pid": pid, "name": person.name if person is not None else ""})
        return out

    def _on_slots(self, viewer: str, slots: list[str | None]) -> None:
        sid = self.viewing.get(viewer)
        seat = self.meetings.seats.get(sid) if sid is not None else None
        if sid is not None and seat is not None:
            self._emit(events.IDENTITY_SLOTS, {"slots": self._named(seat.room, slots)}, sid)

    def _emit(self, event: str, body: Any, sid: str) -> None:
        if not self._stopped:
            self._outbox.put_nowait((event, body, sid))

    async def _send(self) -> None:
        while True:
            event, body, sid = await self._outbox.get()
            try:
                await self.sio.emit(event, body, to=sid)
            except Exception:
                log.exception("could not send %s", event)

    def _left(self, room_id: str, participant: Participant) -> None:
        pid = participant.id
        self.publishing.pop(pid, None)
        self.viewing.pop(pid, None)
        if not self._stopped:
            self._spawn(self.plane.leave(pid))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
