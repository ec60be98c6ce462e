"""Poses that reach the motion plane without an uplink (server-side tracking, the socket.io
``pose`` upload), positions from the ``move`` fallback, and the own-entry echo."""

from __future__ import annotations

import asyncio

from avatar import codec as pose_codec
from avatar.pose import Pose, TrackingState
from rooms.interest import InterestConfig
from server.motion import codec
from server.motion.codec import FrameEntry
from server.motion.plane import MotionPlane
from server.motion.transport import Written


class Sink:
    kind = "test"

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def write_frame(self, frame: bytes) -> Written:
        self.frames.append(frame)
        return Written.SENT

    async def close(self) -> None:
        pass


def record(roll: float) -> bytes:
    return pose_codec.encode(Pose(timestamp_ms=1, state=TrackingState.TRACKED, roll=roll))


def plane_with(*people: tuple[str, int, float]) -> tuple[MotionPlane, dict[str, Sink]]:
    config = InterestConfig(neighbour_period=1)  # neighbours from the first tick on
    plane = MotionPlane(config, lambda room, pid, x, z, h: (x, z, h), clock=lambda: 0.0)
    plane.add_room("r", 10)
    sinks = {}
    for pid, slot, x in people:
        token = plane.join("r", pid, slot, x, 0.0, 0.0, on_stage=False)
        sinks[pid] = Sink()
        assert plane.attach(token, sinks[pid]) == ("r", pid)
    return plane, sinks


def tick(plane: MotionPlane, sink: Sink) -> list[FrameEntry]:
    """The entries of the frame ``sink`` got in one tick (none: no frame)."""
    before = len(sink.frames)
    asyncio.run(plane.tick())
    return codec.decode_frame(sink.frames[-1])[1] if len(sink.frames) > before else []


def test_a_pose_without_an_uplink_reaches_others_but_not_its_page() -> None:
    plane, sinks = plane_with(("a", 1, 0.0), ("b", 2, 1.0))
    tick(plane, sinks["b"])
    plane.set_pose("r", "a", record(12.0))
    (entry,) = tick(plane, sinks["b"])
    assert entry.slot == 1 and entry.pose is not None and entry.pose.roll == 12.0
    assert not any(e.slot == 1 for f in sinks["a"].frames for e in codec.decode_frame(f)[1])


def test_server_made_poses_echo_to_their_owner_until_dropped() -> None:
    plane, sinks = plane_with(("a", 1, 0.0), ("b", 2, 1.0))
    tick(plane, sinks["a"])
    plane.set_pose("r", "a", record(-5.0), echo=True)
    own = tick(plane, sinks["a"])
    assert [(e.slot, e.pose.roll if e.pose else None) for e in own] == [(1, -5.0)]
    assert tick(plane, sinks["a"]) == [], "only when it changed"
    # The page's own poses do not override the server's meanwhile; its position goes.
    plane.uplink("r", "a", codec.encode_uplink(0.25, 0.0, 0.0, record(40.0)))
    (entry,) = tick(plane, sinks["b"])
    assert entry.x == 0.25 and entry.pose is not None and entry.pose.roll == -5.0
    plane.set_pose("r", "a", None)  # tracking off: no pose, no echo
    entries = tick(plane, sinks["b"])
    assert [(e.slot, e.pose) for e in entries] == [(1, None)]
    assert not any(e.slot == 1 for e in tick(plane, sinks["a"]))


def test_a_posed_person_who_moves_is_sent_at_the_new_place() -> None:
    plane, sinks = plane_with(("a", 1, 0.0), ("b", 2, 1.0))
    plane.set_pose("r", "a", record(3.0))
    tick(plane, sinks["b"])
    plane.place("r", "a", 0.5, -0.25, 1.0)  # the socket.io move fallback
    (entry,) = tick(plane, sinks["b"])
    assert (entry.x, entry.z, entry.h) == (0.5, -0.25, 1.0)
    assert entry.pose is not None and entry.pose.roll == 3.0


def test_poses_of_people_who_left_are_ignored() -> None:
    plane, sinks = plane_with(("a", 1, 0.0), ("b", 2, 1.0))
    tick(plane, sinks["b"])
    plane.leave("r", "a")
    # A pose or a move that was on its way when its sender left (a tracker's last frame,
    # a fallback move): dropped without an error, and nobody is sent a ghost of it.
    plane.set_pose("r", "a", record(1.0), echo=True)
    plane.set_pose("elsewhere", "a", record(1.0))
    plane.place("r", "a", 1.0, 1.0, 0.0)
    assert "a" not in plane.rooms["r"].table and "elsewhere" not in plane.rooms
    assert plane.rooms["r"].records == [None] * 10
    assert tick(plane, sinks["b"]) == []
    # The row it left is a newcomer's, with nothing of the leaver's in it.
    plane.join("r", "c", 3, 2.0, 0.0, 0.0, on_stage=False)
    assert [(e.slot, e.pose) for e in tick(plane, sinks["b"])] == [(3, None)]
