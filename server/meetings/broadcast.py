"""Telling people what happened in a meeting: the room (public, redacted), its staff (in
full) and single sockets (notices). Uses the views of :mod:`server.meetings.views`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence

import socketio

from moderation.committee import GalleryVisited
from moderation.events import DomainEvent
from moderation.meeting import Meeting
from server.meetings import views
from server.meetings.seats import staff_room
from server.sockets import events as ev

#: How long a burst of committee changes is gathered before the one ``committee:state``.
COMMITTEE_DELAY = 0.05
#: Least time between two ``committee:state`` of one room: the state is sent whole to
#: every socket of the room (thousands with a public gallery), so a flood of changes by
#: one actor (a member raising and lowering a hand at the socket event budget) must not
#: multiply into 20 whole states a second to each (docs/performance.md, "Committees").
COMMITTEE_SPACING = 0.25


class Broadcaster:
    """Emits meeting events over socket.io. ``rooms()`` lists every room id (for events
    that belong to no room, such as the expiry of a ban)."""

    def __init__(self, sio: socketio.AsyncServer, rooms: Callable[[], Iterable[str]]) -> None:
        self.sio = sio
        self.rooms = rooms
        #: Rooms whose ``committee:state`` is due (one emit per burst of changes).
        self._committee_due: dict[str, asyncio.Task[None]] = {}
        #: When each room's last ``committee:state`` went out (loop time).
        self._committee_sent: dict[str, float] = {}
        self.committee_delay = COMMITTEE_DELAY
        self.committee_spacing = COMMITTEE_SPACING

    async def events(
        self, room: str, meeting: Meeting | None, happened: Sequence[DomainEvent], now: float
    ) -> None:
        staff: list[dict[str, object]] = []
        floor = agenda = False
        for e in happened:
            body = views.public_event(e)
            if body is not None and room:
                await self.sio.emit(ev.MEETING_EVENT, body, room=room)
            floor = floor or e.topic.startswith(views.FLOOR_PREFIXES)
            agenda = agenda or e.topic.startswith(views.AGENDA_PREFIX)
            staff_body = views.staff_event(meeting, e)
            if staff_body is not None:
                staff.append(staff_body)
        if meeting is not None and floor:
            await self.sio.emit(ev.MEETING_FLOOR, views.floor_view(meeting, now), room=room)
        if meeting is not None and agenda:
            await self.sio.emit(ev.MEETING_AGENDA, views.agenda_view(meeting, now), room=room)
        # A gallery visitor's join changes no procedure: the room hears of the gallery's
        # numbers with the next state (GalleryCounted, every few seconds at most).
        if meeting is not None and room and any(
                e.topic.startswith(views.COMMITTEE_PREFIX) and not isinstance(e, GalleryVisited)
                for e in happened):
            self.committee_soon(room, meeting)
        if staff:
            for r in [room] if room else list(self.rooms()):
                await self.sio.emit(ev.MEETING_STAFF, {"room": r, "events": staff},
                                    room=staff_room(r))

    def committee_soon(self, room: str, meeting: Meeting) -> None:
        """Send the room its whole ``committee:state`` shortly, once however many changes
        arrive meanwhile (a roll call answered by 30 members is one message, not 30), and
        never sooner than ``committee_spacing`` after the room's previous one."""
        if room in self._committee_due:
            return
        loop = asyncio.get_running_loop()
        last = self._committee_sent.get(room)
        wait = self.committee_delay if last is None else max(
            self.committee_delay, last + self.committee_spacing - loop.time())

        async def later() -> None:
            try:
                await asyncio.sleep(wait)
            finally:
                self._committee_due.pop(room, None)
            self._committee_sent[room] = loop.time()
            await self.sio.emit(ev.COMMITTEE_STATE, {"room": room, **meeting.committee.state()},
                                room=room)

        self._committee_due[room] = loop.create_task(later())

    async def notify(self, sid: str, kind: str, **details: object) -> None:
        """A personal notice (muted, removed...) to one socket."""
        with contextlib.suppress(Exception):  # the socket may be gone already
            await self.sio.emit(ev.MEETING_NOTICE, {"kind": kind, **details}, to=sid)

    async def admitted(self, sid: str, ack: dict[str, object]) -> None:
        await self.sio.emit(ev.MEETING_ADMITTED, ack, to=sid)

    async def enter(self, sid: str, room: str, *, staff: bool = False) -> None:
        await self.sio.enter_room(sid, room)
        if staff:
            await self.sio.enter_room(sid, staff_room(room))

    async def leave(self, sid: str, room: str) -> None:
        with contextlib.suppress(Exception):  # the socket may be gone already
            await self.sio.leave_room(sid, room)
            await self.sio.leave_room(sid, staff_room(room))
            await self.sio.leave_room(sid, f"closed:{room}")  # (closed.closed_room)

    async def disconnect(self, sid: str) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect(sid)
