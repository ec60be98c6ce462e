"""Who sits where: one :class:`Seat` per socket that entered a meeting.

A seat is in the room (with an avatar), in the gallery (an avatar that only watches), in
the lobby (no avatar yet) or a staff console (never an avatar). :class:`Seats` finds them
by socket and by participant id, and lets a seat go together with its avatar.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from moderation.credentials import device_ref
from moderation.lobby import Place
from moderation.roster import Person
from moderation.sanctions import SanctionRecord
from rooms.appearance import AvatarStyle
from rooms.confusables import confusable
from rooms.errors import PermissionDenied, Reason
from rooms.model import Role
from rooms.room import RESERVED_ROLES, PlaceLimits, Room
from server.common.networks import is_loopback, limit_key
from server.sockets.hub import Hub


def staff_room(room: str) -> str:
    """The socket.io room of a room's staff (consoles and staff avatars)."""
    return f"staff:{room}"


def address_key(remote: str | None, ipv6_prefix: int) -> str | None:
    """The key a socket's per-address places count under, or None if they are not
    counted: a socket of another cluster node, or a loopback peer (a proxy on this machine
    that is not in ``trusted_proxies`` would make every browser one)."""
    if remote is None or is_loopback(remote):
        return None
    return limit_key(remote, ipv6_prefix)


def refuse_reserved_name(name: str, people: Iterable[Person]) -> None:
    """Refuse ``name_reserved`` if ``name`` reads like the name of someone present with
    a reserved role (an invited member, the chair, staff): a citizen may not pass for
    them (same confusable skeleton, :mod:`rooms.confusables`)."""
    taken = confusable(name, [p.name for p in people if p.role in RESERVED_ROLES])
    if taken is not None:
        raise PermissionDenied(Reason.NAME_RESERVED,
                               "someone taking part under this name is here: choose another")


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
    #: The client address the seat counts against in per-address limits
    #: (:func:`server.common.networks.limit_key`), or None when not counted.
    address: str | None = None
    #: The approved VRM model the person wears (its sha256), looked up at the join.
    vrm: str | None = None


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

    def gallery(self, room: str, *, address: str | None = None,
                excluding: str | None = None) -> int:
        """Gallery places of ``room`` held (from ``address`` only, if given), not counting
        the socket ``excluding`` (one that joins again)."""
        return sum(1 for s in self._by_sid.values()
                   if s.room == room and s.place is Place.GALLERY and s.sid != excluding
                   and (address is None or s.address == address))

    def check_entry(
        self, room: Room, limits: PlaceLimits, *, sid: str, place: Place, invited: bool,
        address: str | None, replacing: str | None,
    ) -> None:
        """Raise ``room_full`` / ``address_limit`` if the socket ``sid`` may not take a
        ``place`` in ``room`` now (:meth:`rooms.room.Room.check_entry`); the lobby holds
        no place."""
        if place is Place.LOBBY:
            return
        gallery = place is Place.GALLERY
        room.check_entry(
            limits, invited=invited, gallery=gallery, replacing=replacing,
            gallery_taken=self.gallery(room.id, excluding=sid) if gallery else 0,
            address_taken=(self.gallery(room.id, address=address, excluding=sid)
                           if gallery and address is not None else 0),
        )

    def reached(self, record: SanctionRecord) -> list[Seat]:
        """Seats a sanction reaches (in its room; every room for a ban)."""
        return [s for s in self
                if (record.room is None or s.room == record.room)
                and record.reaches(s.pid, device_ref(s.device), s.account)]
