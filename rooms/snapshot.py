"""Snapshots (everything a new client needs) and per-tick deltas (what changed)."""

from __future__ import annotations

from dataclasses import dataclass

from rooms.geometry import Rect
from rooms.model import Layout, Notice, Participant, RoomKind


def _rect(rect: Rect | None) -> dict[str, float] | None:
    return None if rect is None else rect.to_wire()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A room as it was at ``tick``: what a newly joined client needs to draw it.

    ``Room.snapshot`` fills it with values, never the live room: the room goes on changing
    (moves, seats, notices) while the snapshot waits to be sent, and a snapshot that read
    the room when serialised would mix two moments. The participants are copies that
    nothing else holds; the layout and notices are frozen already.
    """

    room_id: str
    kind: RoomKind
    name_ja: str
    name_en: str
    capacity: int
    max_speed: float
    layout: Layout
    notices: tuple[Notice, ...]
    participants: tuple[Participant, ...]
    tick: int
    t: int
    tick_hz: float

    def to_wire(self) -> dict[str, object]:
        layout = self.layout
        occupants = {p.seat: p.id for p in self.participants if p.seat is not None}
        boards = []
        for board in layout.boards:
            boards.append(
                {
                    "id": board.id,
                    "x": board.x,
                    "z": board.z,
                    "h": round(board.h, 4),
                    "notices": [n.to_wire() for n in self.notices if n.board == board.id],
                }
            )
        b = layout.bounds
        return {
            "room": {
                "id": self.room_id,
                "kind": self.kind.value,
                "name": {"ja": self.name_ja, "en": self.name_en},
                "capacity": self.capacity,
                "bounds": {"min_x": b.min_x, "max_x": b.max_x, "min_z": b.min_z, "max_z": b.max_z},
                "stage": _rect(layout.stage),
                "seats": [
                    {
                        "id": s.id, "x": s.x, "z": s.z, "h": round(s.h, 4),
                        "chair": s.chair, "occupant": occupants.get(s.id),
                    }
                    for s in layout.seats
                ],
                "gallery": _rect(layout.gallery),
                "boards": boards,
                "spawn": {"x": layout.spawn_x, "z": layout.spawn_z, "radius": layout.spawn_radius},
            },
            "participants": [p.to_wire() for p in self.participants],
            "tick": self.tick,
            "t": self.t,
            "tick_hz": self.tick_hz,
            "max_speed": self.max_speed,
        }


@dataclass(frozen=True, slots=True)
class Delta:
    room: str
    tick: int
    t: int
    joined: tuple[Participant, ...]
    left: tuple[str, ...]
    moved: tuple[Participant, ...]
    #: Participants whose tracking mode changed (and who are not in ``joined``).
    tracking: tuple[Participant, ...] = ()

    def to_wire(self) -> dict[str, object]:
        return {
            "room": self.room,
            "tick": self.tick,
            "t": self.t,
            "joined": [p.to_wire() for p in self.joined],
            "left": list(self.left),
            "moved": [[p.id, round(p.x, 2), round(p.z, 2), round(p.h, 3)] for p in self.moved],
            "tracking": [_tracking_entry(p) for p in self.tracking],
        }


def _tracking_entry(p: Participant) -> list[str]:
    # The reason only when there is one: ``[id, mode]`` stays what older readers expect.
    if p.tracking_reason is None:
        return [p.id, p.tracking.value]
    return [p.id, p.tracking.value, p.tracking_reason.value]
