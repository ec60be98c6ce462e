"""A room's motion rows are sized by the room's capacity, never guessed.

A cluster edge meets a room through a leader's state or another node's token, possibly
before its hub has loaded the room: the plane refuses such a room until it is known, and
then sizes it by the hub's capacity (rows are sized once; a guess would stay too small).
"""

from __future__ import annotations

from rooms.interest import InterestConfig
from rooms.model import RoomKind
from rooms.room import RoomInfo
from server.cluster.motion_relay import apply_state, decode_state, encode_state
from server.config.settings import Settings
from server.motion.plane import MotionPlane
from server.motion.service import MotionService
from server.sockets.hub import Hub
from tests.motion_doubles import QuietTransport

PEOPLE = 80  # more than the 64 rows an unknown room used to get


def same(room: str, pid: str, x: float, z: float, h: float) -> tuple[float, float, float]:
    return x, z, h


def leader_state(room: str) -> bytes:
    leader = MotionPlane(InterestConfig(), same)
    leader.add_room(room, PEOPLE)
    for i in range(PEOPLE):
        leader.join(room, f"p_{i:03d}", i + 1, float(i % 20), float(i // 20), 0.0, False)
    return encode_state(leader, [room])


def test_an_unknown_room_is_refused_then_sized_by_the_hub() -> None:
    hub = Hub(Settings())
    edge = MotionService(Settings(), hub).plane
    (state,) = decode_state(leader_state("plaza"))[2]
    # The edge's hub has no rooms yet: the state is skipped, no row is made.
    assert apply_state(edge, state, 0.0, set()) == []
    assert "plaza" not in edge.rooms
    hub.add_room(RoomInfo("plaza", RoomKind.PLAZA, "ひろば", "Plaza", 600), [])
    assert apply_state(edge, state, 0.0, set()) == []
    room = edge.rooms["plaza"]
    assert room.table.capacity == 600
    assert len(room.pids) == PEOPLE


def test_a_token_for_an_unknown_room_is_refused() -> None:
    hub = Hub(Settings())
    plane = MotionService(Settings(), hub).plane
    plane.use_tokens(lambda room, pid: f"{room}.{pid}",
                     lambda token: ("committee", "p_x") if token == "t" else None)
    assert plane.attach("t", QuietTransport()) is None
    assert "committee" not in plane.rooms
    hub.add_room(RoomInfo("committee", RoomKind.COMMITTEE, "委員会", "Committee", 200), [])
    assert plane.attach("t", QuietTransport()) == ("committee", "p_x")
    assert plane.rooms["committee"].table.capacity == 200
