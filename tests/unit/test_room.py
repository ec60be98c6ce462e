"""The room core: joining, seating, leaving, moving and deltas, without an event loop."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation import policy
from rooms.appearance import AvatarStyle
from rooms.errors import HirobaError, Reason
from rooms.layouts import default_layout
from rooms.model import Role, RoomKind
from rooms.room import AVATAR_RADIUS, MOVE_SLACK, Room, RoomInfo


def make_room(kind: RoomKind = RoomKind.PLAZA, capacity: int = 10) -> Room:
    info = RoomInfo("r1", kind, "部屋", "Room", capacity)
    return Room(info=info, layout=default_layout(kind), max_speed=4.0, rng=random.Random(7))


def join(room: Room, pid: str, role: Role = Role.CITIZEN, now: float = 0.0):
    return room.join(pid, pid.upper(), role, AvatarStyle(), now, seated=policy.takes_seat(role))


def test_citizen_spawns_inside_spawn_circle_and_bounds() -> None:
    room = make_room(capacity=50)
    for i in range(50):
        p = join(room, f"p{i}")
        lay = room.layout
        assert math.hypot(p.x - lay.spawn_x, p.z - lay.spawn_z) <= lay.spawn_radius + 1e-9
        assert lay.bounds.contains(p.x, p.z)
        assert p.seat is None


def test_members_take_seats_and_chair_takes_chair_seat() -> None:
    room = make_room(RoomKind.COMMITTEE, capacity=50)
    member = join(room, "m1", Role.MEMBER)
    assert member.seat is not None
    chair_seat = next(s for s in room.layout.seats if s.chair)
    assert member.seat != chair_seat.id, "the chair's seat is kept for the chair"
    chair = join(room, "c1", Role.CHAIR)
    assert chair.seat == chair_seat.id
    assert (chair.x, chair.z, chair.h) == (chair_seat.x, chair_seat.z, chair_seat.h)


def test_seats_fill_then_members_stand() -> None:
    room = make_room(RoomKind.COMMITTEE, capacity=50)
    seats = len(room.layout.seats)
    members = [join(room, f"m{i}", Role.MEMBER) for i in range(seats + 1)]
    assert len({m.seat for m in members[:seats]}) == seats
    assert members[-1].seat is None
    room.leave(members[0].id)
    assert join(room, "late", Role.MEMBER).seat == members[0].seat


def test_capacity_is_enforced() -> None:
    room = make_room(capacity=2)
    join(room, "a")
    join(room, "b")
    with pytest.raises(HirobaError) as err:
        join(room, "c")
    assert err.value.reason is Reason.ROOM_FULL


def test_seated_participants_do_not_move() -> None:
    room = make_room(RoomKind.COMMITTEE)
    m = join(room, "m", Role.MEMBER)
    before = (m.x, m.z, m.h)
    room.move("m", m.x + 1, m.z + 1, 0.0, now=1.0, may_enter_stage=True)
    assert (m.x, m.z, m.h) == before


def test_speed_limit_clamps_long_steps() -> None:
    room = make_room()
    p = join(room, "a", now=0.0)
    start = (p.x, p.z)
    room.move("a", p.x + 100, p.z, 0.0, now=0.5)
    travelled = math.hypot(p.x - start[0], p.z - start[1])
    assert travelled == pytest.approx(4.0 * 0.5 + MOVE_SLACK)


def test_long_pause_does_not_allow_teleport() -> None:
    room = make_room()
    p = join(room, "a", now=0.0)
    start = (p.x, p.z)
    room.move("a", p.x - 40, p.z, 0.0, now=600.0)
    assert math.hypot(p.x - start[0], p.z - start[1]) <= 4.0 * 1.0 + MOVE_SLACK + 1e-9


def test_citizens_are_kept_off_the_stage_but_staff_may_enter() -> None:
    room = make_room(RoomKind.CONSULTATION)
    stage = room.layout.stage
    assert stage is not None
    c = join(room, "c")
    s = join(room, "s", Role.STAFF)
    for pid in ("c", "s"):
        p = room.participants[pid]
        p.x, p.z = stage.x, stage.max_z + 0.6  # just in front of the stage
        room.grid.set(pid, p.x, p.z)
    room.move("c", stage.x, stage.z, 0.0, now=5.0, may_enter_stage=False)
    room.move("s", stage.x, stage.z, 0.0, now=5.0, may_enter_stage=True)
    assert not stage.contains(c.x, c.z, AVATAR_RADIUS - 1e-9)
    assert stage.contains(s.x, s.z)


def test_non_finite_move_is_rejected() -> None:
    room = make_room()
    join(room, "a")
    with pytest.raises(HirobaError) as err:
        room.move("a", math.nan, 0.0, 0.0, now=1.0)
    assert err.value.reason is Reason.BAD_FIELD


def test_move_for_absent_participant_is_not_joined() -> None:
    room = make_room()
    with pytest.raises(HirobaError) as err:
        room.move("ghost", 0, 0, 0, now=1.0)
    assert err.value.reason is Reason.NOT_JOINED


def test_delta_reports_joins_moves_and_leaves_once() -> None:
    room = make_room()
    join(room, "a")
    join(room, "b")
    first = room.take_delta(1000)
    assert first is not None
    assert {p.id for p in first.joined} == {"a", "b"}
    assert first.moved == () and first.left == ()
    assert room.take_delta(1100) is None, "nothing changed"
    a = room.participants["a"]
    room.move("a", a.x + 1, a.z, 0.3, now=1.0)
    room.leave("b")
    second = room.take_delta(1200)
    assert second is not None
    assert [p.id for p in second.moved] == ["a"]
    assert second.left == ("b",)
    wire = second.to_wire()
    assert wire["moved"] == [["a", round(a.x, 2), round(a.z, 2), 0.3]]
    assert second.tick == first.tick + 2


def test_join_and_leave_within_a_tick_announces_only_the_leave() -> None:
    # A snapshot taken between the two holds "a": its receivers must hear that "a" left.
    room = make_room()
    join(room, "a")
    room.leave("a")
    delta = room.take_delta(1)
    assert delta is not None
    assert (delta.joined, delta.left) == ((), ("a",))


def test_snapshot_holds_layout_notices_and_occupants() -> None:
    room = make_room(RoomKind.COMMITTEE)
    chair = join(room, "c", Role.CHAIR)
    wire = room.snapshot(5, 10.0).to_wire()
    assert wire["room"]["kind"] == "committee"  # type: ignore[index]
    seats = wire["room"]["seats"]  # type: ignore[index]
    assert any(s["occupant"] == chair.id for s in seats)
    assert wire["participants"][0]["id"] == "c"  # type: ignore[index]
    assert wire["tick_hz"] == 10.0


finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(list(RoomKind)),
    role=st.sampled_from([Role.CITIZEN, Role.STAFF, Role.OBSERVER]),
    steps=st.lists(st.tuples(finite, finite, finite, st.floats(0, 3)), min_size=1, max_size=30),
)
def test_moves_stay_in_bounds_off_stage_and_under_speed(kind, role, steps) -> None:
    room = make_room(kind)
    p = join(room, "a", role)
    lay = room.layout
    now = 0.0
    for x, z, h, dt in steps:
        px, pz = p.x, p.z
        now += dt
        room.move("a", x, z, h, now, may_enter_stage=policy.may_enter_stage(role))
        assert lay.bounds.contains(p.x, p.z, 1e-9)
        assert -math.pi < p.h <= math.pi
        assert math.hypot(p.x - px, p.z - pz) <= 4.0 * min(dt, 1.0) + MOVE_SLACK + 1e-6
        if lay.stage is not None and not policy.may_enter_stage(role):
            assert not lay.stage.contains(p.x, p.z, AVATAR_RADIUS - 1e-6)


def test_delta_without_moves_when_the_motion_plane_carries_them() -> None:
    room = make_room()
    join(room, "a")
    room.take_delta(1)
    a = room.participants["a"]
    room.move("a", a.x + 0.2, a.z, 0.0, now=1.0)
    assert room.take_delta(2, include_moved=False) is None
    room.move("a", a.x + 0.2, a.z, 0.0, now=2.0)
    room.leave("a")
    delta = room.take_delta(3, include_moved=False)
    assert delta is not None and delta.moved == () and delta.left == ("a",)
