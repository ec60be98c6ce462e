"""The gallery plane's frame building and fan-out, without a server: what one frame holds
(stage poses, unposed stage members and a rotating crowd sample, the floor's packets only,
nothing in a closed session), busy viewers skipped then cut off, the caps."""

from __future__ import annotations

import asyncio

import pytest

from avatar import codec as pose_codec
from avatar.pose import Pose, TrackingState
from rooms.errors import HirobaError
from rooms.interest import InterestConfig
from server.gallery import codec
from server.gallery.plane import PLAIN_SAMPLE, REFRESH_PER_FRAME, GalleryLimits, GalleryPlane
from server.motion.plane import MotionPlane

ROOM = "r"


class Pipe:
    """What the plane needs of a transport: bytes written, a buffer size we set."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.buffered = 0
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.data.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


def payload(frame: bytes) -> bytes:
    """The message inside one pre-built WebSocket frame."""
    n = frame[1] & 0x7F
    return frame[2:] if n < 126 else frame[4:] if n == 126 else frame[10:]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def plane_with(people: int, stage: int, **limits: object) -> tuple[GalleryPlane, MotionPlane,
                                                                    Clock]:  # fmt: skip
    motion = MotionPlane(InterestConfig(), lambda _r, _p, x, z, h: (x, z, h))
    motion.add_room(ROOM, people + 8)
    for i in range(people):
        motion.join(ROOM, f"p{i}", i, float(i % 20), float(i // 20), 0.0, i < stage)
    clock = Clock()
    speakers = {"p0"}
    gallery = GalleryPlane(GalleryLimits(**limits), motion,  # type: ignore[arg-type]
                           speakers_of=lambda _room: speakers, clock=clock)
    return gallery, motion, clock


def test_a_frame_holds_the_stage_a_crowd_sample_and_the_floor_only() -> None:
    gallery, motion, clock = plane_with(people=100, stage=3)
    motion.set_pose(ROOM, "p1", pose_codec.encode(Pose(1, TrackingState.TRACKED, roll=9.0)))
    pipe = Pipe()
    gallery.admit(ROOM, pipe, None)
    g = gallery.rooms[ROOM]
    gallery.on_packet(ROOM, "p0", b"\x01" * 60, 960)
    gallery.on_packet(ROOM, "p5", b"\x02" * 60, 960)  # not the floor's: never sent
    clock.now += 0.03
    frame = codec.decode(payload(gallery.build_frame(g, clock.now)))
    assert isinstance(frame, codec.Frame)
    assert frame.crowd == 100 and not frame.closed
    posed = [e for e in frame.entries if e.pose is not None]
    assert [e.slot for e in posed] == [1] and abs(posed[0].pose.roll - 9.0) < 1  # type: ignore[union-attr]
    slots = [e.slot for e in frame.entries]
    # Stage members without a pose travel as plain entries (not as a broken posed one).
    assert {0, 2} <= set(slots) and len(slots) == 1 + 2 + PLAIN_SAMPLE
    assert [(a.slot, a.payload, a.age_ms) for a in frame.audio] == [(0, b"\x01" * 60, 30)]
    # The sample rotates: the next frame shows other people of the crowd.
    second = codec.decode(payload(gallery.build_frame(g, clock.now)))
    assert isinstance(second, codec.Frame) and not second.audio
    assert {e.slot for e in second.entries} - set(slots)


def test_a_closed_session_frame_is_empty_and_viewers_are_told() -> None:
    gallery, _motion, clock = plane_with(people=5, stage=2)
    pipe = Pipe()
    gallery.admit(ROOM, pipe, None)
    gallery.on_packet(ROOM, "p0", b"\x01" * 60, 960)
    closed = {ROOM}
    gallery.closed_of = lambda room: room in closed
    frame = codec.decode(payload(gallery.build_frame(gallery.rooms[ROOM], clock.now)))
    assert isinstance(frame, codec.Frame)
    assert frame.closed and not frame.entries and not frame.audio and frame.crowd == 0
    told = codec.decode(payload(pipe.data[-1]))
    assert told == {"t": "state", "closed": True}
    gallery.on_packet(ROOM, "p0", b"\x01" * 60, 960)  # during it: not even kept
    closed.clear()
    reopened = codec.decode(payload(gallery.build_frame(gallery.rooms[ROOM], clock.now)))
    assert isinstance(reopened, codec.Frame) and not reopened.closed and not reopened.audio


def test_a_busy_viewer_is_skipped_then_cut_off_the_others_served() -> None:
    gallery, _motion, clock = plane_with(people=3, stage=1, busy_bytes=1000, cut_seconds=5.0)
    slow, fast = Pipe(), Pipe()
    gallery.admit(ROOM, slow, None)
    gallery.admit(ROOM, fast, None)
    g = gallery.rooms[ROOM]
    slow.buffered = 1001
    for _ in range(3):
        gallery.fan_out(g, gallery.build_frame(g, clock.now), clock.now)
        clock.now += 2.0
    assert len(fast.data) == 3 and slow.data == [] and not slow.aborted
    assert gallery.stats.skipped == 3 and gallery.stats.cut_off == 0
    gallery.fan_out(g, gallery.build_frame(g, clock.now), clock.now)
    assert slow.aborted and gallery.stats.cut_off == 1
    assert len(fast.data) == 4
    slow2 = Pipe()
    gallery.admit(ROOM, slow2, None)
    slow2.buffered = 5000
    gallery.fan_out(g, gallery.build_frame(g, clock.now), clock.now)
    slow2.buffered = 0  # it read: no longer counted busy
    clock.now += 10
    gallery.fan_out(g, gallery.build_frame(g, clock.now), clock.now)
    assert not slow2.aborted and len(slow2.data) == 1


def test_caps_per_address_room_and_node() -> None:
    gallery, _motion, _clock = plane_with(people=1, stage=0, per_address=2, max_per_room=4,
                                          max_per_node=5)
    gallery.admit(ROOM, Pipe(), "203.0.113.1")
    gallery.admit(ROOM, Pipe(), "203.0.113.1")
    with pytest.raises(HirobaError) as refused:
        gallery.admit(ROOM, Pipe(), "203.0.113.1")
    assert refused.value.reason.value == "address_limit"
    gallery.admit(ROOM, Pipe(), None)  # loopback: not counted by address
    gallery.admit(ROOM, Pipe(), None)
    with pytest.raises(HirobaError) as full:
        gallery.admit(ROOM, Pipe(), None)
    assert full.value.reason.value == "room_full"
    gallery.admit("other", Pipe(), None)
    with pytest.raises(HirobaError) as node_full:
        gallery.admit("other", Pipe(), None)
    assert node_full.value.reason.value == "room_full"
    assert gallery.count(ROOM) == (4, 4)


def test_a_clusters_count_the_leaders_and_the_others() -> None:
    # The leader: its own viewers and those other nodes told it of, peak included; the
    # room's cap counts them all.
    leader, _motion, _clock = plane_with(people=1, stage=0, max_per_room=3)
    counts: list[tuple[str, int, int]] = []
    leader.count_listeners.append(lambda room, n, peak: counts.append((room, n, peak)))
    mine = leader.admit(ROOM, Pipe(), None)
    leader.remote_presence("b", ROOM, "edge-1", True)
    leader.remote_presence("b", ROOM, "edge-2", True)
    assert leader.count(ROOM) == (3, 3)
    with pytest.raises(HirobaError):
        leader.admit(ROOM, Pipe(), None)
    leader.remote_presence("b", ROOM, "edge-1", False)
    leader.remove(mine)
    assert leader.count(ROOM) == (1, 3)
    asyncio.run(leader._send_counts())
    assert counts == [(ROOM, 1, 3)]
    # Another node: what the leader says, not its own.
    edge, _m, _c = plane_with(people=1, stage=0)
    edge.admit(ROOM, Pipe(), None)
    edge.told_count(ROOM, 40, 52)
    assert edge.count(ROOM) == (40, 52)


def test_the_leader_recounts_a_node_from_its_summary_and_drops_a_silent_one() -> None:
    """A node's summary replaces its part of every room (a lost presence message is made
    good, a viewer already counted is not counted twice); a node whose summaries stop is
    dropped from the count (its viewers leave the committee's gallery), the peak stays."""
    leader, _motion, clock = plane_with(people=1, stage=0)
    assert leader.remote_presence("b", ROOM, "v1", True)
    assert not leader.remote_presence("b", ROOM, "v1", True)  # known: not counted twice
    asked = {"viewer": "v3", "name": "あおい", "hand": True, "ask": False, "text": "",
             "since": 1.0}
    changes = leader.remote_summary("b", {ROOM: ("v1", "v2", "v3")}, {ROOM: (asked,)})
    assert sorted(changes) == [(ROOM, "v2", True), (ROOM, "v3", True)]
    assert leader.count(ROOM) == (3, 3)
    assert leader.requests(ROOM) == [{**asked, "node": "b"}]
    assert leader.node_of(ROOM, "v3") == "b" and leader.node_of(ROOM, "nobody") is None
    assert sorted(leader.remote_summary("b", {ROOM: ("v1",)}, {})) == [
        (ROOM, "v2", False), (ROOM, "v3", False)]
    assert leader.requests(ROOM) == []
    leader.remote_summary("c", {ROOM: ("w1",)}, {})
    clock.now += 5.0
    leader.remote_summary("c", {ROOM: ("w1",)}, {})  # c reports, b has gone silent
    clock.now += 2.0
    assert leader.silent_nodes(6.0) == ["b"]
    assert leader.drop_node("b") == [(ROOM, "v1", False)]
    assert leader.count(ROOM) == (1, 3)
    assert leader.silent_nodes(6.0) == []


class Refresher:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, room: str) -> dict[str, object]:
        self.calls += 1
        return {"t": "state", "chat": [], "people": []}


def states(pipe: Pipe) -> list[dict[str, object]]:
    return [m for m in (codec.decode(payload(d)) for d in pipe.data) if isinstance(m, dict)]


def test_a_viewer_that_missed_a_state_message_gets_the_whole_state_when_it_catches_up() -> None:
    gallery, _motion, clock = plane_with(people=2, stage=1, busy_bytes=1000)
    refresh = Refresher()
    gallery.refresh_of = refresh
    slow, fast = Pipe(), Pipe()
    gallery.admit(ROOM, slow, None)
    gallery.admit(ROOM, fast, None)
    g = gallery.rooms[ROOM]
    slow.buffered = 5000
    gallery.broadcast_state(ROOM, {"t": "chat", "change": "chat.hidden",
                                   "message": {"id": "m1", "hidden": True}})
    assert states(slow) == [] and len(states(fast)) == 1
    gallery.fan_out(g, gallery.build_frame(g, clock.now), clock.now)  # still busy
    assert states(slow) == []
    slow.buffered = 0
    gallery.fan_out(g, gallery.build_frame(g, clock.now), clock.now)
    assert states(slow) == [{"t": "state", "chat": [], "people": [], "viewers": 2, "peak": 2}]
    gallery.fan_out(g, gallery.build_frame(g, clock.now), clock.now)
    assert len(states(slow)) == 1 and len(states(fast)) == 1, "once, and not to the other"
    assert refresh.calls == 1


def test_refreshes_are_bounded_per_frame() -> None:
    gallery, _motion, clock = plane_with(people=2, stage=1, busy_bytes=1000)
    refresh = Refresher()
    gallery.refresh_of = refresh
    pipes = [Pipe() for _ in range(REFRESH_PER_FRAME + 5)]
    for p in pipes:
        gallery.admit(ROOM, p, None)
        p.buffered = 5000
    gallery.broadcast_state(ROOM, {"t": "state", "people": []})
    for p in pipes:
        p.buffered = 0
    g = gallery.rooms[ROOM]
    gallery.fan_out(g, gallery.build_frame(g, clock.now), clock.now)
    assert sum(len(states(p)) for p in pipes) == REFRESH_PER_FRAME
    assert refresh.calls == 1, "built once per frame"
    gallery.fan_out(g, gallery.build_frame(g, clock.now), clock.now)
    assert sum(len(states(p)) for p in pipes) == len(pipes)
