"""The audio plane with real aiortc peers on loopback: who hears whom, and at what cost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from bench.clients.audio_peers import Listener, Tone, count_opus_codec_calls, speak
from server.audio.lean import MAX_BUFFERED_BYTES
from server.audio.plane import AudioPlane, AudioSettings, RoomMode
from server.audio.sdp import opus_fmtp
from server.rtc.ice import rtc_configuration, use_host_addresses
from tests.conftest import eventually

CONFIG = rtc_configuration([])


# Every test runs on both forwarding paths: the lean one (the default) and aiortc's own
# sender per slot (the fallback on an aiortc version server/audio/lean.py is not pinned to).
@pytest.fixture(params=["lean", "track"])
async def plane(request: pytest.FixtureRequest) -> AsyncIterator[AudioPlane]:
    use_host_addresses(["127.0.0.1"])
    lean = request.param == "lean"
    active: list[tuple[str, frozenset[str]]] = []
    slots: list[tuple[str, dict[int, str]]] = []
    plane = AudioPlane(
        lambda: CONFIG,
        AudioSettings(slots=3, proximity_n=2, proximity_radius=10.0, lean_forwarding=lean),
        on_active=lambda room, ids: active.append((room, ids)),
        on_slots=lambda listener, mapping: slots.append((listener, mapping)),
    )
    plane.active_log = active  # type: ignore[attr-defined]
    plane.slots_log = slots  # type: ignore[attr-defined]
    try:
        yield plane
    finally:
        await plane.close()
        use_host_addresses([])


def stop_draining(plane: AudioPlane, pid: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The listener peer of ``pid`` stops taking packets, on either sending path; returns
    the server's side of it."""
    stuck = plane._listeners[pid]
    if stuck.lean:
        # Its socket stops draining: its UDP transport keeps a full write buffer.
        dtls: Any = stuck.pc.getTransceivers()[0].sender.transport
        udp = dtls.transport._connection._nominated[1].protocol.transport
        monkeypatch.setattr(udp, "get_write_buffer_size", lambda: MAX_BUFFERED_BYTES)
    else:
        # Its server-side sender stops pulling from its slots.
        async def never() -> None:
            await asyncio.Event().wait()

        for track in stuck.tracks:
            monkeypatch.setattr(track, "recv", never)
    return stuck


class Peers:
    def __init__(self, plane: AudioPlane) -> None:
        self.plane = plane
        self.speakers: list[RTCPeerConnection] = []
        self.listeners: list[Listener] = []

    async def speaker(self, pid: str, room: str, tone: Tone) -> RTCPeerConnection:
        pc = await speak(CONFIG, self.plane.open_uplink, pid, room, tone)
        self.speakers.append(pc)
        return pc

    async def listener(self, pid: str, room: str) -> Listener:
        listener = Listener(CONFIG)
        await listener.connect(self.plane.open_listener, pid, room)
        self.listeners.append(listener)
        return listener

    async def close(self) -> None:
        for listener in self.listeners:
            await listener.close()
        for pc in self.speakers:
            await pc.close()


@pytest.fixture
async def peers(plane: AudioPlane) -> AsyncIterator[Peers]:
    p = Peers(plane)
    try:
        yield p
    finally:
        await p.close()


async def hears(listener: Listener, tones: set[int], within: float = 6.0) -> None:
    """Wait until ``listener`` hears exactly ``tones``: in a window that starts afresh,
    each of them in 25 frames (half a second) and no other tone in 5.

    A window may start with frames sent before a routing change, still on their way; the
    next one starts after them. A routing that stays wrong fails every window until
    ``within`` runs out."""
    windows: list[set[int]] = []

    def settled() -> bool:
        if not tones <= listener.tones(min_frames=25):
            return False
        windows.append(listener.tones(min_frames=5))
        listener.clear()
        return windows[-1] == tones

    listener.clear()
    try:
        await eventually(settled, within=within)
    except AssertionError:
        now = listener.tones(min_frames=5)
        raise AssertionError(f"not {tones}: heard {windows} in windows, then {now}") from None


async def test_meeting_room_only_floor_holders_are_heard(plane: AudioPlane, peers: Peers) -> None:
    plane.set_mode("committee", RoomMode.FLOOR)
    plane.set_speakers("committee", ["chair"])
    await peers.speaker("chair", "committee", Tone(400))
    await peers.speaker("citizen", "committee", Tone(1000))
    await peers.speaker("elsewhere", "other", Tone(1600))
    listener = await peers.listener("member", "committee")
    await hears(listener, {400})  # only the floor holder
    assert plane.heard_by("member") == {0: "chair"}
    await eventually(lambda: plane.active_speakers("committee") == {"chair", "citizen"},
                     what="both speakers active")
    told = [ids for room, ids in plane.active_log if room == "committee"]  # type: ignore[attr-defined]
    assert told[-1] == {"chair", "citizen"}, "the change callback told the same"

    plane.set_speakers("committee", ["chair", "citizen"])  # the floor is given
    await hears(listener, {400, 1000})
    assert plane.heard_by("member") == {0: "chair", 1: "citizen"}, "the chair kept slot 0"

    plane.set_speakers("committee", ["citizen"])  # the chair yields
    await hears(listener, {1000})
    assert plane.heard_by("member") == {1: "citizen"}, "the citizen did not hop slots"
    told = [m for who, m in plane.slots_log if who == "member"]  # type: ignore[attr-defined]
    assert told == [{0: "chair"}, {0: "chair", 1: "citizen"}, {1: "citizen"}]


async def test_plaza_hears_the_n_loudest_near_speakers(plane: AudioPlane, peers: Peers) -> None:
    plane.set_mode("plaza", RoomMode.PROXIMITY)
    plane.set_positions(
        "plaza",
        {"me": (0.0, 0.0), "loud": (3.0, 0.0), "mid": (0.0, 4.0), "quiet": (-2.0, 0.0),
         "far": (30.0, 0.0)},
    )  # fmt: skip
    await peers.speaker("loud", "plaza", Tone(400, 12000))
    await peers.speaker("mid", "plaza", Tone(800, 6000))
    await peers.speaker("quiet", "plaza", Tone(1200, 1500))
    await peers.speaker("far", "plaza", Tone(1600, 16000))
    listener = await peers.listener("me", "plaza")
    # The two loudest near ones, once the plane has heard who is active; not the quiet
    # one, not the far one.
    await eventually(lambda: set(plane.heard_by("me").values()) == {"loud", "mid"},
                     what="the two loudest near speakers routed")
    await hears(listener, {400, 800})

    plane.set_positions("plaza", {"me": (28.0, 0.0), "far": (30.0, 0.0), "loud": (3.0, 0.0)})
    # Re-ranked within rerank_interval: walked over to the far one.
    await eventually(lambda: set(plane.heard_by("me").values()) == {"far"},
                     what="the far speaker routed")
    await hears(listener, {1600})


async def test_forwarded_encoded_no_transcoding_per_listener(
    plane: AudioPlane, peers: Peers, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_opus_codec_calls(monkeypatch)

    plane.set_speakers("hall", ["chair"])
    tone = Tone(500)
    pc = await peers.speaker("chair", "hall", tone)
    # The answer asked the speaker for mono speech at 20 kbps with FEC.
    params = next(iter(opus_fmtp(pc.remoteDescription.sdp).values()))
    assert params["maxaveragebitrate"] == "20000"
    assert params["stereo"] == "0" and params["useinbandfec"] == "1"
    listeners = [await peers.listener(f"l{i}", "hall") for i in range(4)]
    await asyncio.sleep(2.0)
    stats = plane.stats()
    uplink = stats["uplinks"]["chair"]
    assert uplink["packets"] > 50
    for listener in listeners:
        assert listener.frames > 40
        assert listener.tones() == {500}
    # Only the speaker's own encoder ran; every decode is a listener's (a few frames each
    # may still be in their decoder threads): the server meters levels without decoding
    # (issue 14, finding 9), yet read a level for every packet.
    assert calls["encode"] <= tone.frames
    listened = sum(listener.frames for listener in listeners)
    server_decodes = calls["decode"] - listened
    assert server_decodes <= 10 * len(listeners) < uplink["packets"]
    assert uplink["frames"] >= uplink["packets"] - 5
    for name in ("l0", "l1", "l2", "l3"):
        forwarded = stats["listeners"][name]["forwarded"]
        assert forwarded >= 0.9 * uplink["packets"] - 60, "every packet pushed to every listener"


async def test_listener_that_stops_reading_does_not_harm_others(
    plane: AudioPlane, peers: Peers, monkeypatch: pytest.MonkeyPatch
) -> None:
    plane.set_speakers("hall", ["chair"])
    await peers.speaker("chair", "hall", Tone(500))
    listeners = [await peers.listener(f"l{i}", "hall") for i in range(3)]
    await asyncio.sleep(1.0)
    stuck = stop_draining(plane, "l0", monkeypatch)
    before = [listener.frames for listener in listeners]
    await asyncio.sleep(2.0)
    stats = plane.stats()["listeners"]
    assert stats["l0"]["dropped"] > 50, "the stuck slot drops its oldest packets"
    assert all(track._packets.qsize() <= 5 for track in stuck.tracks)
    for i in (1, 2):
        assert listeners[i].frames - before[i] > 80, "the others keep hearing at full rate"
        assert stats[f"l{i}"]["dropped"] <= 0.05 * stats[f"l{i}"]["forwarded"]


async def test_leave_and_close_stop_every_peer_and_task(plane: AudioPlane, peers: Peers) -> None:
    plane.set_speakers("hall", ["chair"])
    await peers.speaker("chair", "hall", Tone(500))
    await peers.listener("chair", "hall")
    await peers.listener("l1", "hall")
    await asyncio.sleep(1.0)
    uplink, own = plane._uplinks["chair"], plane._listeners["chair"]
    assert plane.heard_by("chair") == {}, "nobody hears themselves"
    assert plane.heard_by("l1") == {0: "chair"}
    plane.move("l1", "lobby")
    assert plane.heard_by("l1") == {}, "another room, another floor"
    plane.move("l1", "hall")
    assert plane.heard_by("l1") == {0: "chair"}
    await plane.leave("chair")
    assert uplink.pc.connectionState == "closed" and own.pc.connectionState == "closed"
    assert not uplink.tasks and plane.heard_by("l1") == {}
    assert "chair" not in plane.stats()["uplinks"]
    rest = plane._listeners["l1"]
    await plane.close()
    assert rest.pc.connectionState == "closed"
    assert all(track.readyState == "ended" for track in rest.tracks)
    assert plane._sweeper is None


async def test_bad_offers_are_refused(plane: AudioPlane) -> None:
    from rooms.errors import HirobaError

    video_only = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    with pytest.raises(HirobaError):
        await plane.open_uplink("x", "hall", video_only)
    four = "v=0\r\n" + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" * 4
    with pytest.raises(HirobaError):
        await plane.open_listener("x", "hall", four)
    garbage = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    with pytest.raises(HirobaError, match="unusable offer"):
        await plane.open_uplink("x", "hall", garbage)
    with pytest.raises(HirobaError, match="unusable offer"):
        await plane.open_listener("x", "hall", garbage)
    assert plane.stats() == {"uplinks": {}, "listeners": {}}
