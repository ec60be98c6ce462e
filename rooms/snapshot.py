"""Snapshots (everything a new client needs) and per-tick deltas (what changed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rooms.geometry import Rect
from rooms.model import Participant

if TYPE_CHECKING:
    from rooms.room import Room


def _rect(rect: Rect | None) -> dict[str, float] | None:
    return None if rect is None else rect.to_wire()


@dataclass(frozen=True, slots=True)
class Snapshot:
    room: Room
    participants: tuple[Participant, ...]
    tick: int
    t: int
    tick_hz: float

    def to_wire(self) -> dict[str, object]:
        room = self.room
        layout = room.layout
        occupants = room.seat_occupants()
        boards = []
        for board in layout.boards:
            boards.append(
                {
                    "id": board.id,
                    "x": board.x,
                    "z": board.z,
                    "h": round(board.h, 4),
                    "notices": [n.to_wire() for n in room.notices if n.board == board.id],
                }
            )
        b = layout.bounds
        return {
            "room": {
                "id": room.id,
                "kind": room.kind.value,
                "name": {"ja": room.info.name_ja, "en": room.info.name_en},
                "capacity": room.info.capacity,
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
            "max_speed": room.max_speed,
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
            "tracking": [[p.id, p.tracking.value] for p in self.tracking],
        }
