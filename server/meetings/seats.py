"""Who sits where: one :class:`Seat` per socket that entered a meeting.

A seat is in the room (with an avatar), in the gallery (an avatar that only watches), in
the lobby (no avatar yet) or a staff console (never an avatar). :class:`Seats` finds them
by socket and by participant id, and lets a seat go together with its avatar.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from moderation.credentials import device_ref
from moderation.lobby import Place
from moderation.sanctions import SanctionRecord
from rooms.appearance import AvatarStyle
from rooms.model import Role
from server.sockets.hub import Hub


def staff_room(room: str) -> str:
    """The socket.io room of a room's staff (consoles and staff avatars)."""
    return f"staff:{room}"


@dataclass
class Seat:
    """A socket's place in a meeting."""

    sid: str
    room: str
    pid: str
    name: str
    role: Role
    place: Place
    device: str | None
    account: str | None = None
    console: bool = False
    style: AvatarStyle | None = None
    lang: str = "ja"
    #: The staff login session this seat acts under, and when it was last checked.
    session_key: str | None = None
    checked_at: float = 0.0


@dataclass
class Seats:
    """The seats of one process, by socket id and by participant id."""

    hub: Hub
    _by_sid: dict[str, Seat] = field(default_factory=dict)
    _by_pid: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Seat]:
        return iter(list(self._by_sid.values()))

    def __len__(self) -> int:
        """Seats taken now, by socket."""
        return len(self._by_sid)

    def get(self, sid: str) -> Seat | None:
        return self._by_sid.get(sid)

    def of(self, pid: str) -> Seat | None:
        sid = self._by_pid.get(pid)
        return None if sid is None else self._by_sid.get(sid)

    def add(self, seat: Seat) -> None:
        self._by_sid[seat.sid] = seat
        self._by_pid[seat.pid] = seat.sid

    def remove(self, sid: str) -> Seat | None:
        """Let the seat go, and its avatar with it."""
        seat = self._by_sid.pop(sid, None)
        if seat is not None:
            self._by_pid.pop(seat.pid, None)
            session = self.hub.sessions.get(sid)
            if session is not None and session.pid == seat.pid:
                self.hub.leave(session)
        return seat

    def reached(self, record: SanctionRecord) -> list[Seat]:
        """Seats a sanction reaches (in its room; every room for a ban)."""
        return [s for s in self
                if (record.room is None or s.room == record.room)
                and record.reaches(s.pid, device_ref(s.device), s.account)]
