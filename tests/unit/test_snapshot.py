"""A snapshot is what the room was when it was taken, however the room changes after."""

from __future__ import annotations

import random

from moderation import policy
from rooms.appearance import AvatarStyle
from rooms.layouts import default_layout
from rooms.model import Notice, Participant, Role, RoomKind
from rooms.room import Room, RoomInfo


def _join(room: Room, pid: str, role: Role, now: float = 0.0) -> Participant:
    return room.join(pid, pid.upper(), role, AvatarStyle(), now, seated=policy.takes_seat(role))


def test_snapshot_taken_before_a_change_serialises_the_old_state() -> None:
    room = Room(
        info=RoomInfo("r1", RoomKind.COMMITTEE, "委員会", "Committee", 20),
        layout=default_layout(RoomKind.COMMITTEE),
        max_speed=4.0,
        rng=random.Random(3),
    )
    room.notices.append(Notice(1, room.layout.boards[0].id, "お知らせ", "本文", "2024-04-01"))
    _join(room, "chair", Role.CHAIR)
    _join(room, "member", Role.MEMBER)
    walker = _join(room, "walker", Role.CITIZEN)
    snap = room.snapshot(1_000, 10.0)
    # Copies equal in every field (dataclass equality), not the room's own objects.
    assert snap.participants == tuple(room.participants.values())
    assert not {id(p) for p in snap.participants} & {id(p) for p in room.participants.values()}
    # What it says at the moment it is taken, built independently of the snapshot's code.
    taken = {
        "participants": [p.to_wire() for p in room.participants.values()],
        "occupants": dict(room.seat_occupants()),
        "notices": [n.to_wire() for n in room.notices],
        "max_speed": room.max_speed,
    }

    # Everything a room does afterwards: moves, seat changes, arrivals, leaves, notices.
    room.move("walker", walker.x + 0.4, walker.z, 1.0, now=0.5)
    room.set_tracking("walker", next(m for m in type(walker.tracking) if m is not walker.tracking))
    room.leave("member")
    _join(room, "late", Role.MEMBER)
    _join(room, "newcomer", Role.CITIZEN)
    room.notices.append(Notice(2, room.layout.boards[0].id, "追加", "後から", "2024-04-02"))
    room.notices.clear()
    room.max_speed = 9.0
    room.take_delta(2_000)

    wire = snap.to_wire()
    assert wire["participants"] == taken["participants"]
    seats = wire["room"]["seats"]  # type: ignore[index]
    assert {s["id"]: s["occupant"] for s in seats if s["occupant"]} == taken["occupants"]
    notices = [n for b in wire["room"]["boards"] for n in b["notices"]]  # type: ignore[index]
    assert notices == taken["notices"]
    assert wire["max_speed"] == taken["max_speed"]
    assert (wire["tick"], wire["t"], wire["tick_hz"]) == (0, 1_000, 10.0)
