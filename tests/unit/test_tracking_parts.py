"""Pose uploads, tracking modes in rooms, the motion plane's pose entries, and the small
pieces of server-side tracking that need no network (mailbox, RTP clock, offer check,
settings)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from avatar import codec
from avatar.pose import Pose, TrackingState
from rooms.appearance import AvatarStyle
from rooms.errors import HirobaError, ValidationError
from rooms.layouts import default_layout
from rooms.model import Role, RoomKind, TrackingMode
from rooms.room import SLOT_LIMIT, Room, RoomInfo
from server.config.settings import load_settings
from server.http.static_files import vendor_file
from server.tracking.api import RtcOfferRequest, TrackingRequest, parse_record
from server.tracking.pipeline import LatestFrame, RtpClock, only_video


def record(roll: float = 0.0, t: int = 0, state: TrackingState = TrackingState.TRACKED) -> bytes:
    return codec.encode(Pose(timestamp_ms=t, state=state, roll=roll))


def test_uploads_are_checked() -> None:
    good = record(12.5)
    assert parse_record(good) == good
    assert parse_record(bytearray(good)) == good
    bad_state = bytes([0x1F]) + good[1:]
    for bad in ("text", {"x": 1}, good[:-1], good + b"\x00", bytes([0x20]) + good[1:], bad_state):
        with pytest.raises(ValidationError) as err:
            parse_record(bad)
        assert err.value.reason.value == "bad_payload"


def make_room() -> Room:
    info = RoomInfo("r", RoomKind.COMMITTEE, "r", "r", 10)
    return Room(info=info, layout=default_layout(RoomKind.COMMITTEE))


def test_slots_are_unique_and_not_reused_soon() -> None:
    room = make_room()
    style = AvatarStyle.parse(None)
    a = room.join("a", "A", Role.CITIZEN, style, 0.0)
    b = room.join("b", "B", Role.CITIZEN, style, 0.0)
    room.leave("a")
    c = room.join("c", "C", Role.CITIZEN, style, 0.0)
    assert len({a.slot, b.slot, c.slot}) == 3
    assert c.to_wire()["slot"] == c.slot and c.to_wire()["tracking"] == "none"
    room._next_slot = SLOT_LIMIT - 1  # wrap around, skipping slots in use
    d = room.join("d", "D", Role.CITIZEN, style, 0.0)
    e = room.join("e", "E", Role.CITIZEN, style, 0.0)
    assert d.slot == SLOT_LIMIT - 1 and e.slot not in (b.slot, c.slot, d.slot)


def test_tracking_mode_changes_are_announced_once() -> None:
    room = make_room()
    style = AvatarStyle.parse(None)
    room.join("a", "A", Role.MEMBER, style, 0.0)
    room.set_tracking("a", TrackingMode.VOICE)
    first = room.take_delta(1)
    assert first is not None and first.to_wire()["tracking"] == []  # carried by "joined"
    assert first.to_wire()["joined"][0]["tracking"] == "voice"  # type: ignore[index]
    room.set_tracking("a", TrackingMode.BROWSER)
    room.set_tracking("a", TrackingMode.BROWSER)
    second = room.take_delta(2)
    assert second is not None and second.to_wire()["tracking"] == [["a", "browser"]]
    room.set_tracking("a", TrackingMode.BROWSER)
    assert room.take_delta(3) is None


def test_tracking_requests() -> None:
    assert TrackingRequest.parse({"mode": "voice"}).mode is TrackingMode.VOICE
    for bad, reason in (({"mode": "x"}, "bad_field"), ({}, "missing_field"),
                        ({"mode": "none", "x": 1}, "unknown_field"), ("none", "bad_payload")):
        with pytest.raises(ValidationError) as err:
            TrackingRequest.parse(bad)
        assert err.value.reason.value == reason
    assert RtcOfferRequest.parse({"type": "offer", "sdp": "v=0"}).sdp == "v=0"
    for bad in ({"type": "answer", "sdp": "v=0"}, {"type": "offer", "sdp": ""},
                {"type": "offer", "sdp": "x" * 20_000}):
        with pytest.raises(ValidationError):
            RtcOfferRequest.parse(bad)


def test_offers_must_hold_one_video_stream_only() -> None:
    only_video("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n")
    for sdp in ("v=0\r\n", "m=audio 9 x\r\nm=video 9 x\r\n", "m=video 9 x\r\nm=application 9 x\r\n",
                "m=video 9 x\r\nm=video 9 x\r\n"):
        with pytest.raises(HirobaError):
            only_video(sdp)


def test_rtp_clock_counts_milliseconds_from_the_first_frame_across_the_wrap() -> None:
    clock = RtpClock()
    start = (1 << 32) - 9000  # 100 ms before the 32-bit wrap
    assert clock.ms(start, 0) == 0
    assert clock.ms((start + 4500) & 0xFFFFFFFF, 0) == 50
    assert clock.ms((start + 18000) & 0xFFFFFFFF, 0) == 200  # after the wrap
    assert clock.ms((start + 13500) & 0xFFFFFFFF, 0) == 150  # a late frame
    assert clock.ms(None, 1234) == 1234


def test_latest_frame_keeps_only_the_newest() -> None:
    async def run() -> None:
        box: LatestFrame[int] = LatestFrame()
        box.put(1)
        box.put(2)
        assert box.pending == 1 and box.dropped == 1
        assert await box.take() == 2
        assert box.pending == 0
        waiter = asyncio.ensure_future(box.take())
        await asyncio.sleep(0)
        assert not waiter.done()
        box.put(3)
        assert await waiter == 3

    asyncio.run(run())


@pytest.mark.parametrize(
    "env",
    [{"HIROBA_SERVER_TRACKING_MAX": "-1"},
     {"HIROBA_SERVER_TRACKING_FPS": "0"}, {"HIROBA_ICE_SERVERS": "http://stun.example"},
     {"HIROBA_ICE_HOST_ADDRESSES": "localhost"}],
)
def test_bad_media_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(HirobaError):
        load_settings(env)


def test_media_settings_defaults_contact_no_third_party() -> None:
    s = load_settings({})
    assert s.ice_servers == () and s.ice_host_addresses == ()
    assert s.server_tracking_max == 4
    s = load_settings({"HIROBA_ICE_HOST_ADDRESSES": "127.0.0.1, ::1",
                       "HIROBA_ICE_SERVERS": "stun:stun.city.example:3478"})
    assert s.ice_host_addresses == ("127.0.0.1", "::1")
    assert s.ice_servers == ("stun:stun.city.example:3478",)


def test_tasks_vision_whitelist() -> None:
    root = Path("/w")
    pkg = "@mediapipe/tasks-vision"
    assert vendor_file(root, pkg, "vision_bundle.mjs") == Path(
        "/w/node_modules/@mediapipe/tasks-vision/vision_bundle.mjs")
    assert vendor_file(root, pkg, "wasm/vision_wasm_internal.wasm") is not None
    assert vendor_file(root, pkg, "vision_bundle.cjs") is None
    assert vendor_file(root, pkg, "package.json") is None
    assert vendor_file(root, "@mediapipe", "tasks-vision/vision_bundle.mjs") is None
