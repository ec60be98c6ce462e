"""Closed sessions (秘密会) on the wire: who is held out, and what still reaches them.

When a committee closes its session (``committee:closed_session {closed: true}``), everyone
in the room who is not a member, the chair or staff (citizens, the gallery, observers and
press, captioners) is *held out*: their socket leaves the room's socket.io room (so no chat,
caption, floor, agenda, avatar delta or ``committee:state`` broadcast reaches it) and waits
in the room's closed holding room, told ``meeting:notice {kind: "closed_session", since}``
and nothing else. The audio plane routes no speaker to them and the motion plane sends them
no frames while held out (both read :attr:`ClosedSessions.withheld` through
:attr:`ClosedSessions.listeners`, wired by the composition root; in a cluster another listener
has the leader tell every node, whose planes hold out the people whose sockets they carry:
server/cluster/audio_relay.py and motion_relay.py). When the session reopens
they are let back in at once (``closed_session_ended`` with the meeting's state and the
room's avatars as they then are) and everything resumes.

Why held out in place rather than sent to the lobby: a 議会事務局 orders the gallery out
(退場) and lets it back in when the session reopens, without a second admission or identity
check. Sending each citizen through the lobby would make them queue again (and, in a room
without a lobby, would have no way back in); holding their connection open, with nothing of
the room reaching it, is the 退場 with the door kept for them. Someone joining while the
session is closed is held out from their first moment (:meth:`ClosedSessions.welcome_state`
redacts their join state).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import socketio

from moderation.committee import ClosedPeriod
from moderation.meeting import Meeting
from rooms.model import RoomKind
from server.meetings.seats import Seats
from server.sockets import events as ev

#: ``(room, participant ids held out)``: told on every change (audio, motion).
WithheldListener = Callable[[str, frozenset[str]], None]


def closed_room(room: str) -> str:
    """The socket.io room where those held out of ``room``'s closed session wait."""
    return f"closed:{room}"


def closed_period(meeting: Meeting | None) -> ClosedPeriod | None:
    """The closed session ``meeting`` is in now, or None."""
    if meeting is None or meeting.kind is not RoomKind.COMMITTEE:
        return None
    return meeting.committee.in_closed_session()


#: Held out of every closed session, present or not: the public gallery plane's viewers
#: (issue 19), who have no seat. Never a participant id (those have no colon). With it the
#: held-out set is never empty while a session is closed, so the audio plane of every node
#: learns that it is (the leader announces the set to cluster edges), whoever else is
#: present.
GALLERY_PLANE = "gallery:plane"


def outsiders(meeting: Meeting) -> frozenset[str]:
    """Participant ids held out of ``meeting`` now (none while its session is open), and
    :data:`GALLERY_PLANE`."""
    if closed_period(meeting) is None:
        return frozenset()
    # The same test the permission policy is given (moderation: Meeting.held_out).
    return frozenset({GALLERY_PLANE,
                      *(p.pid for p in meeting.people.values() if meeting.held_out(p))})


def closed_notice(room: str, period: ClosedPeriod) -> dict[str, object]:
    """All an outsider learns of a closed session: that it is closed, and since when."""
    return {"room": room, "since": period.start}


class ClosedSessions:
    """Holds outsiders out of closed sessions (see the module docstring)."""

    def __init__(self, sio: socketio.AsyncServer, seats: Seats) -> None:
        self.sio = sio
        self.seats = seats
        #: room → participant ids held out now.
        self.withheld: dict[str, frozenset[str]] = {}
        self.listeners: list[WithheldListener] = []

    async def sync(self, room: str, meeting: Meeting | None,
                   reopened: Callable[[str], dict[str, object]] | None = None) -> None:
        """Bring ``room``'s held-out set in line with its meeting: hold out newcomers to a
        closed session, let everyone back in when it reopened. ``reopened(pid)`` gives
        what is sent to someone let back in (``meeting``, ``snapshot``)."""
        period = closed_period(meeting)
        now_out = frozenset() if meeting is None else outsiders(meeting)
        before = self.withheld.get(room, frozenset())
        if now_out == before:
            return
        if now_out:
            self.withheld[room] = now_out
        else:
            self.withheld.pop(room, None)
        for listener in self.listeners:  # audio and motion stop before anything else
            listener(room, now_out)
        for pid in now_out - before:
            await self.hold_out(room, pid, period)
        for pid in before - now_out:
            seat = self.seats.of(pid)
            if seat is None or seat.room != room:
                continue
            with contextlib.suppress(Exception):
                await self.sio.leave_room(seat.sid, closed_room(room))
                await self.sio.enter_room(seat.sid, room)
                body: dict[str, object] = {"kind": "closed_session_ended", "room": room}
                if reopened is not None:
                    body.update(reopened(pid))
                await self.sio.emit(ev.MEETING_NOTICE, body, to=seat.sid)

    async def hold_out(self, room: str, pid: str, period: ClosedPeriod | None) -> None:
        """Take ``pid``'s socket out of ``room``'s broadcasts into the holding room and
        tell it the session is closed. Also for someone already counted held out whose
        socket has just entered the room (admitted from the lobby meanwhile)."""
        seat = self.seats.of(pid)
        if seat is None or period is None:
            return
        with contextlib.suppress(Exception):  # the socket may be gone already
            await self.sio.leave_room(seat.sid, room)
            await self.sio.enter_room(seat.sid, closed_room(room))
            await self.sio.emit(ev.MEETING_NOTICE, {"kind": "closed_session",
                                                    **closed_notice(room, period)},
                                to=seat.sid)

    @staticmethod
    def welcome_state(meeting: Meeting, state: dict[str, object]) -> dict[str, object]:
        """The join state of someone held out of a closed session: the meeting as it was
        when the session closed (chat and captions from before), the committee reduced to
        the closed notice."""
        period = closed_period(meeting)
        if period is None:
            return state
        since = period.start

        def before(items: object) -> list[object]:
            return [x for x in items if isinstance(x, dict)
                    and float(x.get("at", 0) or 0) < since] if isinstance(items, list) else []

        return {**state, "chat": before(state.get("chat")),
                "captions": before(state.get("captions")),
                "committee": {"room": meeting.room, "closed_session": {"since": since}},
                "closed_session": {"since": since}}
