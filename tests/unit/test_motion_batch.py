"""The motion plane's batched uplink path (issue 19): uplinks kept raw on arrival, the
latest per person, then decoded, checked and applied in one numpy batch at the tick."""

from __future__ import annotations

import asyncio
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avatar import codec as pose_codec
from avatar.pose import Pose, TrackingState
from moderation import policy
from rooms.appearance import AvatarStyle
from rooms.errors import HirobaError
from rooms.interest import InterestConfig
from rooms.layouts import default_layout
from rooms.model import Role, RoomKind
from rooms.room import Room, RoomInfo
from server.motion import codec
from server.motion.plane import MotionPlane
from server.motion.transport import Written
from server.motion.uplink import MAX_BAD_UPLINKS, UplinkReader, Verdict
from tests.motion_doubles import QuietTransport


def record(roll: float) -> bytes:
    return pose_codec.encode(Pose(timestamp_ms=1, state=TrackingState.TRACKED, roll=roll))


class Counter:
    def __init__(self) -> None:
        self.bad = 0

    def rejected(self) -> None:
        self.bad += 1


def plane_of(*pids: str) -> MotionPlane:
    plane = MotionPlane(InterestConfig(), lambda room, pid, x, z, h: (x, z, h),
                        clock=lambda: 1.0)
    plane.add_room("r", 16)
    for i, pid in enumerate(pids):
        plane.join("r", pid, i, 0.0, 0.0, 0.0, on_stage=False)
    return plane


def position(plane: MotionPlane, pid: str) -> tuple[float, float]:
    room = plane.rooms["r"]
    return codec.plain_xz(room.plain[room.table.row(pid)])


def test_bad_uplinks_in_a_batch_leave_the_others_applied() -> None:
    plane = plane_of("a", "b", "c", "d", "e")
    sinks = {pid: Counter() for pid in "abcde"}
    plane.offer("r", "a", codec.encode_uplink(1.0, 2.0, 0.0), sinks["a"])
    plane.offer("r", "b", b"\x07" + codec.encode_uplink(3.0, 3.0, 0.0)[1:], sinks["b"])
    plane.offer("r", "c", b"\x01\x02" + codec.encode_uplink(4.0, 4.0, 0.0)[2:], sinks["c"])
    plane.offer("r", "d", codec.encode_uplink(5.0, 5.0, 0.0, record(3.0)), sinks["d"])
    up_e = bytearray(codec.encode_uplink(6.0, -6.0, 0.0, record(10.0)))
    up_e[8] = 0xF0  # the pose record's version byte
    plane.offer("r", "e", bytes(up_e), sinks["e"])
    plane.apply_pending()
    assert position(plane, "a") == (1.0, 2.0)
    assert position(plane, "d") == (5.0, 5.0)
    for pid in "bce":
        assert position(plane, pid) == (0.0, 0.0), pid
    assert {pid: s.bad for pid, s in sinks.items()} == {"a": 0, "b": 1, "c": 1, "d": 0, "e": 1}
    assert plane.stats.uplinks_rejected == 3 and plane.stats.uplinks_applied == 2
    room = plane.rooms["r"]
    assert room.records[room.table.row("d")] == record(3.0)
    assert room.records[room.table.row("e")] is None
    assert not plane.rooms["r"].pending


def test_a_wrong_length_is_refused_on_arrival_and_never_queued() -> None:
    plane = plane_of("a")
    for data in (b"", b"\x01", codec.encode_uplink(1.0, 1.0, 0.0) + b"\x00"):
        try:
            plane.offer("r", "a", data)
        except HirobaError:
            pass
        else:
            raise AssertionError(f"{data!r} accepted")
    assert not plane.rooms["r"].pending and plane.stats.uplinks_rejected == 3


def test_the_latest_uplink_wins_and_the_overwritten_are_counted() -> None:
    plane = plane_of("a", "b")
    for i in range(1, 6):
        plane.offer("r", "a", codec.encode_uplink(float(i), 0.0, 0.0))
    plane.offer("r", "b", codec.encode_uplink(0.0, 7.0, 0.0))
    assert len(plane.rooms["r"].pending) == 2, "one waiting uplink per person, however many"
    plane.apply_pending()
    assert position(plane, "a") == (5.0, 0.0) and position(plane, "b") == (0.0, 7.0)
    assert plane.stats.uplinks_overwritten == 4 and plane.stats.uplinks_applied == 2


def test_the_queue_is_bounded_by_the_people_in_the_room() -> None:
    plane = plane_of("a")
    try:
        plane.offer("r", "ghost", codec.encode_uplink(1.0, 1.0, 0.0))
    except KeyError:
        pass
    else:
        raise AssertionError("an uplink for someone not in the room was queued")
    plane.offer("r", "a", codec.encode_uplink(1.0, 1.0, 0.0))
    plane.leave("r", "a")
    assert not plane.rooms["r"].pending, "a leaver's waiting uplink goes with them"
    plane.apply_pending()


def test_the_tick_applies_waiting_uplinks_before_its_frames() -> None:
    plane = plane_of("a")
    plane.offer("r", "a", codec.encode_uplink(2.5, 0.0, 0.0, record(12.0)))
    asyncio.run(plane.tick())
    room = plane.rooms["r"]
    assert position(plane, "a") == (2.5, 0.0) and room.records[room.table.row("a")] is not None


class Recorded(QuietTransport):
    """A transport that notes, for each frame, where the room had the mover then."""

    def __init__(self, room: Room, pid: str) -> None:
        self.room, self.pid = room, pid
        self.seen: list[tuple[float, float]] = []

    def write_frame(self, frame: bytes) -> Written:
        p = self.room.participants[self.pid]
        self.seen.append((p.x, p.z))
        return super().write_frame(frame)


def test_the_room_keeps_a_ticks_moves_once_its_frames_are_written() -> None:
    info = RoomInfo("r", RoomKind.PLAZA, "部屋", "Room", 8)
    room = Room(info=info, layout=default_layout(RoomKind.PLAZA), max_speed=4.0)
    join(room, "a", Role.CITIZEN)
    join(room, "b", Role.CITIZEN)
    clock = [5.0]
    plane = MotionPlane(
        InterestConfig(), lambda *_: (0.0, 0.0, 0.0), clock=lambda: clock[0],
        mover_many=lambda _r, pids, x, z, h: room.check_moves(
            pids, x, z, h, clock[0], policy.may_enter_stage))
    plane.add_room("r", 8)
    for pid in "ab":
        p = room.participants[pid]
        plane.join("r", pid, p.slot, p.x, p.z, p.h, on_stage=False)
    token = plane.token_of("r", "b")
    assert token is not None
    watcher = Recorded(room, "a")
    plane.attach(token, watcher)
    a = room.participants["a"]
    before = (a.x, a.z)
    target = (round(a.x + 1.0, 2), round(a.z, 2))  # (uplinks carry centimetres)
    plane.offer("r", "a", codec.encode_uplink(*target, 0.0))
    asyncio.run(plane.tick())
    # b's frame left while the room still had a where she was (the frames need only the
    # plane's arrays), and by the tick's end the room has her where the frame says.
    assert watcher.seen == [before]
    assert (a.x, a.z) == pytest.approx(target) and a.last_move_at == 5.0
    assert room.grid.position("a") == pytest.approx(target)
    assert position(plane, "a") == pytest.approx(target)


def test_a_reader_is_closed_after_too_many_malformed_uplinks_found_at_the_tick() -> None:
    plane = plane_of("a")
    reader = UplinkReader(plane, "r", "a", tick_hz=20.0)
    reader.bucket.rate = reader.bucket.burst = 1e9  # the rate limit is not what is tested
    bad = b"\x09" + codec.encode_uplink(1.0, 1.0, 0.0)[1:]  # unknown message type
    verdict = Verdict.OK
    for _ in range(MAX_BAD_UPLINKS + 2):
        verdict = reader.feed(bad)
        plane.apply_pending()
    assert reader.bad > MAX_BAD_UPLINKS and verdict is Verdict.CLOSE_BAD_INPUT


def join(room: Room, pid: str, role: Role) -> None:
    room.join(pid, pid.upper(), role, AvatarStyle(), 0.0, seated=policy.takes_seat(role))


coordinate = st.floats(min_value=-40, max_value=40, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(list(RoomKind)),
    steps=st.lists(
        st.tuples(st.lists(st.tuples(coordinate, coordinate, st.floats(-10, 10)),
                           min_size=8, max_size=8), st.floats(0, 2)),
        min_size=1, max_size=6),
)
def test_move_many_follows_the_same_rules_as_move(
    kind: RoomKind, steps: list[tuple[list[tuple[float, float, float]], float]]
) -> None:
    roles = [Role.CITIZEN, Role.CITIZEN, Role.STAFF, Role.MEMBER, Role.OBSERVER, Role.CITIZEN,
             Role.CHAIR, Role.CITIZEN]
    rooms = []
    for _ in range(2):
        info = RoomInfo("r1", kind, "部屋", "Room", 10)
        room = Room(info=info, layout=default_layout(kind), max_speed=4.0,
                    rng=random.Random(3))
        for i, role in enumerate(roles):
            join(room, f"p{i}", role)
        rooms.append(room)
    one, many = rooms
    pids = [f"p{i}" for i in range(len(roles))]
    now = 0.0
    for requests, dt in steps:
        now += dt
        for pid, (x, z, h) in zip(pids, requests, strict=True):
            p = one.participants[pid]
            one.move(pid, x, z, h, now, may_enter_stage=policy.may_enter_stage(p.role))
        xs, zs, hs = (np.array(column, dtype=np.float64) for column in zip(*requests, strict=True))
        present, ax, az, ah = many.move_many(pids, xs, zs, hs, now, policy.may_enter_stage)
        assert present.all()
        for i, pid in enumerate(pids):
            a, b = one.participants[pid], many.participants[pid]
            assert np.allclose((a.x, a.z, a.h), (b.x, b.z, b.h), atol=1e-9), (pid, a, b)
            assert np.allclose((ax[i], az[i], ah[i]), (b.x, b.z, b.h), atol=1e-9)
            assert a.last_move_at == b.last_move_at
        assert set(one.grid._where) == set(many.grid._where)


def test_move_many_ignores_who_has_left() -> None:
    info = RoomInfo("r1", RoomKind.PLAZA, "部屋", "Room", 10)
    room = Room(info=info, layout=default_layout(RoomKind.PLAZA), max_speed=4.0)
    join(room, "a", Role.CITIZEN)
    present, *_ = room.move_many(["gone", "a"], np.zeros(2), np.zeros(2), np.zeros(2), 1.0,
                                 policy.may_enter_stage)
    assert present.tolist() == [False, True]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.binary(max_size=90),
    st.builds(lambda x, z, h, cut, flip: _mutated(x, z, h, cut, flip),
              coordinate, coordinate, st.floats(-4, 4), st.booleans(), st.integers(0, 76)),
), min_size=1, max_size=12))
def test_the_batch_decoder_agrees_with_the_single_one(messages: list[bytes]) -> None:
    batch = codec.decode_uplinks(messages)
    for i, data in enumerate(messages):
        try:
            up = codec.decode_uplink(data)
        except HirobaError:
            assert not batch.ok[i], data
            continue
        assert batch.ok[i], data
        assert (batch.x[i], batch.z[i], batch.h[i], batch.poses[i]) == (up.x, up.z, up.h,
                                                                          up.pose)


def _mutated(x: float, z: float, h: float, posed: bool, flip: int) -> bytes:
    """A valid uplink (with a pose or not) with one byte flipped."""
    data = bytearray(codec.encode_uplink(x, z, h, record(12.0) if posed else None))
    data[flip % len(data)] ^= 0x5A
    return bytes(data)


def test_move_many_keeps_the_public_off_the_stage_as_move_does() -> None:
    rooms = []
    for _ in range(2):
        info = RoomInfo("r1", RoomKind.PLAZA, "部屋", "Room", 10)
        room = Room(info=info, layout=default_layout(RoomKind.PLAZA), max_speed=4.0)
        join(room, "citizen", Role.CITIZEN)
        join(room, "staff", Role.STAFF)
        stage = room.layout.stage
        assert stage is not None
        for p in room.participants.values():  # both a step in front of the stage
            p.x, p.z = stage.x + 0.4, stage.max_z + 0.5
        rooms.append(room)
    one, many = rooms
    assert stage is not None
    for pid in ("citizen", "staff"):
        p = one.participants[pid]
        one.move(pid, stage.x, stage.max_z - 0.5, 0.0, 1.0,
                 may_enter_stage=policy.may_enter_stage(p.role))
    many.move_many(["citizen", "staff"], np.full(2, float(stage.x)),
                   np.full(2, stage.max_z - 0.5), np.zeros(2), 1.0, policy.may_enter_stage)
    for pid in ("citizen", "staff"):
        a, b = one.participants[pid], many.participants[pid]
        assert (a.x, a.z) == pytest.approx((b.x, b.z)), pid
    citizen, staff = many.participants["citizen"], many.participants["staff"]
    assert not stage.contains(citizen.x, citizen.z, 0.29) and stage.contains(staff.x, staff.z)
