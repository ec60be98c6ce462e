"""Default layouts for each kind of room.

A plaza is an open square with a small events stage; a consultation room has a panel stage
facing a wide gallery; a committee room seats up to twelve members in an arc with the
chair at its centre.
"""

from __future__ import annotations

import math

from rooms.geometry import Rect
from rooms.model import Board, Layout, RoomKind, Seat

# Facing +z (toward the audience) is heading pi: forward is (-sin h, -cos h).
_FACING_AUDIENCE = math.pi


def _row_of_seats(count: int, stage: Rect, chair_index: int | None) -> tuple[Seat, ...]:
    spacing = stage.width / (count + 1)
    seats = []
    for i in range(count):
        seats.append(
            Seat(
                id=f"s{i + 1}",
                x=round(stage.min_x + spacing * (i + 1), 3),
                z=stage.z,
                h=_FACING_AUDIENCE,
                chair=(i == chair_index),
            )
        )
    return tuple(seats)


def _arc_of_seats(count: int, stage: Rect, radius: float) -> tuple[Seat, ...]:
    # The arc's centre lies in front of the stage so that every member faces the gallery
    # and can see the others; the chair takes the middle seat.
    centre_x, centre_z = stage.x, stage.z + radius - stage.depth / 4
    spread = math.radians(100)
    seats = []
    for i in range(count):
        a = -spread / 2 + spread * i / (count - 1) if count > 1 else 0.0
        x = centre_x + radius * math.sin(a)
        z = centre_z - radius * math.cos(a)
        # Face the arc's centre.
        h = math.atan2(-(centre_x - x), -(centre_z - z))
        seats.append(
            Seat(id=f"s{i + 1}", x=round(x, 3), z=round(z, 3), h=round(h, 4), chair=False)
        )
    middle = count // 2
    seats[middle] = Seat(
        id=seats[middle].id, x=seats[middle].x, z=seats[middle].z, h=seats[middle].h, chair=True
    )
    return tuple(seats)


def default_layout(kind: RoomKind) -> Layout:
    """The layout a room of ``kind`` gets unless configured otherwise."""
    if kind is RoomKind.PLAZA:
        stage = Rect(0, -22, 14, 5)
        return Layout(
            bounds=Rect(0, 0, 60, 60),
            stage=stage,
            seats=_row_of_seats(6, stage, chair_index=None),
            gallery=None,
            boards=(
                Board("b1", -24, -6, math.pi / 2),
                Board("b2", 24, -6, -math.pi / 2),
                Board("b3", 0, 26, 0.0),
            ),
            spawn_x=0,
            spawn_z=12,
            spawn_radius=6,
        )
    if kind is RoomKind.CONSULTATION:
        stage = Rect(0, -13, 12, 4)
        return Layout(
            bounds=Rect(0, 0, 40, 36),
            stage=stage,
            seats=_row_of_seats(5, stage, chair_index=2),
            gallery=Rect(0, 5, 34, 18),
            boards=(Board("b1", -18, -4, math.pi / 2), Board("b2", 18, -4, -math.pi / 2)),
            spawn_x=0,
            spawn_z=10,
            spawn_radius=4,
        )
    stage = Rect(0, -10, 18, 7)
    return Layout(
        bounds=Rect(0, 0, 36, 32),
        stage=stage,
        seats=_arc_of_seats(12, stage, radius=8.0),
        gallery=Rect(0, 7, 30, 14),
        boards=(Board("b1", -16, 0, math.pi / 2), Board("b2", 16, 0, -math.pi / 2)),
        spawn_x=0,
        spawn_z=9,
        spawn_radius=4,
    )


#: Capacity a room of each kind gets unless configured otherwise.
DEFAULT_CAPACITY = {RoomKind.PLAZA: 600, RoomKind.CONSULTATION: 300, RoomKind.COMMITTEE: 200}
