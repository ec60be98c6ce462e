"""The lobby (waiting room) of committee rooms, and who goes where on entering a room.

A committee room admits its members through the lobby: staff check who is waiting and
admit or refuse them. The chair, staff and the captioner enter directly (they run the
meeting). Observers, and citizens who only want to watch, go to the public gallery: they
watch and listen without taking a seat, with an observer's rights whatever their role.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from moderation import policy
from moderation.events import DomainEvent
from moderation.policy import Action
from rooms.errors import ProcedureError, Reason
from rooms.model import Role


class Place(StrEnum):
    """Where a person is in a room."""

    LOBBY = "lobby"
    ROOM = "room"
    GALLERY = "gallery"


def placement(role: Role, *, lobby: bool, gallery: bool = False) -> Place:
    """Where someone of ``role`` goes on entering a room (``lobby``: the room has one;
    ``gallery``: they asked only to watch)."""
    if role is Role.OBSERVER or (gallery and role is Role.CITIZEN):
        return Place.GALLERY
    if lobby and not policy.decide(role, Action.LOBBY_BYPASS).allowed:
        return Place.LOBBY
    return Place.ROOM


@dataclass(frozen=True, slots=True)
class Waiter:
    """Someone waiting in the lobby, as stored."""

    pid: str
    name: str
    role: str
    since: float


@dataclass(frozen=True, slots=True)
class LobbyEntered(DomainEvent):
    topic = "lobby.entered"
    waiter: Waiter
    position: int


@dataclass(frozen=True, slots=True)
class LobbyLeft(DomainEvent):
    """Someone stopped waiting: ``outcome`` is ``admitted``, ``refused`` or ``left``."""

    topic = "lobby.left"
    pid: str
    outcome: str
    by: str | None
    reason: str = ""


@dataclass
class Lobby:
    """The waiting list of one room, in arrival order."""

    room: str
    _waiting: dict[str, Waiter] = field(default_factory=dict)

    def waiting(self) -> tuple[Waiter, ...]:
        return tuple(self._waiting.values())

    def __contains__(self, pid: object) -> bool:
        return pid in self._waiting

    def position(self, pid: str) -> int | None:
        for i, waiting in enumerate(self._waiting, start=1):
            if waiting == pid:
                return i
        return None

    def enter(self, pid: str, name: str, role: Role, now: float) -> LobbyEntered:
        if pid in self._waiting:
            raise ProcedureError(Reason.DUPLICATE, f"{pid} is already waiting")
        waiter = self._waiting[pid] = Waiter(pid, name, role.value, now)
        return LobbyEntered(self.room, now, waiter=waiter, position=len(self._waiting))

    def _take(self, pid: str) -> Waiter:
        waiter = self._waiting.pop(pid, None)
        if waiter is None:
            raise ProcedureError(Reason.NO_SUCH_ITEM, f"{pid} is not waiting in the lobby")
        return waiter

    def admit(self, pid: str, now: float, *, by: str) -> LobbyLeft:
        self._take(pid)
        return LobbyLeft(self.room, now, pid=pid, outcome="admitted", by=by)

    def refuse(self, pid: str, now: float, *, by: str, reason: str = "") -> LobbyLeft:
        """Refuse entry: the server sends the person back (they may knock again; a
        removal is what keeps someone out)."""
        self._take(pid)
        return LobbyLeft(self.room, now, pid=pid, outcome="refused", by=by, reason=reason)

    def leave(self, pid: str, now: float) -> list[DomainEvent]:
        if pid not in self._waiting:
            return []
        self._take(pid)
        return [LobbyLeft(self.room, now, pid=pid, outcome="left", by=None)]

    def to_records(self) -> tuple[Waiter, ...]:
        return self.waiting()

    @classmethod
    def from_records(cls, room: str, waiters: Iterable[Waiter]) -> Lobby:
        ordered = sorted(waiters, key=lambda w: w.since)
        return cls(room, {w.pid: w for w in ordered})
