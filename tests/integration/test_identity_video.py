"""Identity-check video (本人確認) through the socket API: real socket.io clients, real
aiortc peers on loopback. A member's camera reaches the chair (decoded there only), the
server forwards its RTP without decoding, and nobody else gets video: refused at the door,
and checked on the wire for a citizen's audio and motion peers."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from bench.clients.audio_peers import Tone, speak, take_rtp
from bench.clients.video_peers import SolidColour, Viewer, close_to, publish
from rooms.model import Role
from server.app import IDENTITY_KEY
from server.config.settings import Settings
from server.identity.relay import DiscardQueue
from server.rtc.ice import rtc_configuration
from tests.conftest import Client, Server, eventually
from tests.meetings import MeetingClient, add_staff, admitted, console, participant

CONFIG = rtc_configuration([])
RED = (210, 40, 40)
BLUE = (30, 60, 200)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ice_host_addresses=("127.0.0.1",), identity_max_publishers=2,
                   identity_max_viewers=2)


class Peers:
    """Every aiortc peer of a test, closed at the end."""

    def __init__(self) -> None:
        self.pcs: list[RTCPeerConnection] = []
        self.viewers: list[Viewer] = []

    async def camera(self, client: Client, rgb: tuple[int, int, int]) -> RTCPeerConnection:
        async def signal(sdp: str) -> str:
            ack = await client.call("identity:publish", {"type": "offer", "sdp": sdp})
            assert ack["ok"], ack
            return str(ack["sdp"])

        pc = await publish(CONFIG, signal, SolidColour(rgb))
        self.pcs.append(pc)
        return pc

    async def viewer(self, client: Client, slots: int = 2) -> tuple[Viewer, dict[str, Any]]:
        viewer = Viewer(CONFIG, slots)
        self.viewers.append(viewer)
        acks: list[dict[str, Any]] = []

        async def signal(sdp: str) -> str:
            ack = await client.call("identity:view", {"type": "offer", "sdp": sdp, "slots": slots})
            assert ack["ok"], ack
            acks.append(ack)
            return str(ack["sdp"])

        await viewer.connect(signal)
        return viewer, acks[0]

    async def close(self) -> None:
        for viewer in self.viewers:
            await viewer.close()
        for pc in self.pcs:
            await pc.close()


@pytest.fixture
async def peers() -> AsyncIterator[Peers]:
    p = Peers()
    try:
        yield p
    finally:
        await p.close()


def stats(server: Server) -> dict[str, Any]:
    return server.app[IDENTITY_KEY].plane.stats()


def ssrcs(sdp: str) -> set[int]:
    return {int(line.split()[0].split(":")[1]) for line in sdp.splitlines()
            if line.startswith("a=ssrc:")}  # fmt: skip


def without_vp8(sdp: str) -> str:
    """``sdp`` with VP8 and its RTX taken out of the offer (H.264 left)."""
    pts = {line.split()[0].split(":")[1] for line in sdp.splitlines()
           if line.startswith("a=rtpmap:") and "VP8/" in line}
    pts |= {line.split()[0].split(":")[1] for line in sdp.splitlines()
            if line.startswith("a=fmtp:") and any(f"apt={pt}" in line for pt in pts)}
    out = []
    for line in sdp.split("\r\n"):
        if line.startswith("m=video"):
            line = " ".join(w for i, w in enumerate(line.split()) if i < 3 or w not in pts)
        elif line.startswith("a=") and ":" in line and line.split()[0].split(":")[1] in pts:
            continue
        out.append(line)
    return "\r\n".join(out)


async def video_offer(slots: int) -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection(CONFIG)
    for _ in range(slots):
        pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def test_a_members_camera_reaches_the_chair_only_and_is_never_decoded(
    server: Server, made: list[Client], peers: Peers
) -> None:
    await add_staff(server)
    staff = await console(server, made)
    chair = await admitted(server, made, staff, "委員長", Role.CHAIR)
    member = await admitted(server, made, staff, "田中委員", Role.MEMBER)
    citizen = await admitted(server, made, staff, "さくら", Role.CITIZEN)
    gallery = await participant(server, made, "傍聴人", gallery=True)
    slots_seen: list[Any] = []

    async def on_slots(data: Any) -> None:
        slots_seen.append(data)

    chair.sio.on("identity:slots", on_slots)

    # Refused at the door, before any SDP is read: no peer is made.
    for who, event in ((citizen, "identity:view"), (gallery, "identity:view"),
                       (citizen, "identity:publish"), (gallery, "identity:publish"),
                       (staff, "identity:publish")):
        ack = await who.call(event, {"type": "offer", "sdp": "v=0\r\n", "slots": 1})
        assert ack["reason"] == "forbidden", (event, ack)
    assert stats(server) == {"cameras": {}, "viewers": {}}

    viewer, ack = await peers.viewer(chair, slots=2)
    assert ack["slots"] == [None, None]
    assert ack["sdp"].count("m=video") == 2 and "VP8" in ack["sdp"]
    await peers.camera(member, RED)
    me = member.ack["self"]
    await eventually(lambda: bool(slots_seen) and slots_seen[-1]["slots"][0] is not None)
    assert slots_seen[-1] == {"slots": [{"pid": me, "name": "田中委員"}, None]}
    await eventually(lambda: close_to(viewer.colours[0], RED), within=10)
    assert viewer.frames[1] == 0

    # Forwarded as received: every camera packet went to the chair's slot, nothing was
    # decoded on the way (the receiver's decoder queue only counted frames).
    camera = stats(server)["cameras"][me]
    assert camera["packets"] > 0 and camera["frames_discarded"] > 0
    plane = server.app[IDENTITY_KEY].plane
    receiver = plane._cameras[me].receiver
    queue = receiver._RTCRtpReceiver__decoder_queue
    assert isinstance(queue, DiscardQueue) and queue.qsize() == 0
    forwarded = stats(server)["viewers"][chair.ack["self"]]["forwarded"]
    assert forwarded >= camera["packets"] - 5  # (the few before the chair's DTLS was up)
    assert camera["keyframes_asked"] >= 1  # the chair's decoder started on a keyframe

    # The staff console sees it too, on its own peer; a second camera takes slot 2.
    staff_view, staff_ack = await peers.viewer(staff, slots=1)
    assert staff_ack["slots"] == [{"pid": me, "name": "田中委員"}]
    await peers.camera(chair, BLUE)
    await eventually(lambda: close_to(viewer.colours[1], BLUE), within=10)
    await eventually(lambda: close_to(staff_view.colours[0], RED), within=10)

    # A citizen's audio and motion peers: no video m-line, and no video RTP on the wire
    # while cameras send (the chair's voice does arrive: the peer is live).
    video_ssrcs = ssrcs(ack["sdp"]) | ssrcs(staff_ack["sdp"])
    assert video_ssrcs
    ears = RTCPeerConnection(CONFIG)
    peers.pcs.append(ears)
    for _ in range(3):
        ears.addTransceiver("audio", direction="recvonly")
    await ears.setLocalDescription(await ears.createOffer())
    got: list[int] = []
    take_rtp(ears, lambda rtp: got.append(struct.unpack_from("!L", rtp, 8)[0]))
    listen = await citizen.call("audio:listen", {"type": "offer", "sdp": ears.localDescription.sdp,
                                                 "slots": 3})
    assert listen["ok"], listen
    assert "m=video" not in listen["sdp"]
    sneaky = RTCPeerConnection(CONFIG)
    peers.pcs.append(sneaky)
    sneaky.addTransceiver("audio", direction="recvonly")
    sneaky.addTransceiver("video", direction="recvonly")
    await sneaky.setLocalDescription(await sneaky.createOffer())
    refused = await citizen.call("audio:listen", {"sdp": sneaky.localDescription.sdp, "slots": 2})
    assert refused["reason"] == "bad_field", "an audio peer never takes a video section"
    await ears.setRemoteDescription(RTCSessionDescription(sdp=listen["sdp"], type="answer"))
    channel = RTCPeerConnection(CONFIG)
    peers.pcs.append(channel)
    channel.createDataChannel("motion", ordered=False, maxRetransmits=0)
    await channel.setLocalDescription(await channel.createOffer())
    motion = await citizen.call("motion:offer", {"type": "offer",
                                                 "sdp": channel.localDescription.sdp})
    assert motion["ok"], motion
    assert "m=video" not in motion["sdp"]
    voice = await speak(CONFIG, _signal(chair, "audio:publish"), "", "", Tone(500))
    peers.pcs.append(voice)
    await eventually(lambda: len(got) > 20, within=10)
    assert not set(got) & video_ssrcs, "video RTP reached a citizen"
    assert set(got).isdisjoint(ssrcs(ack["sdp"]))

    # Stopping: the chair's slot 1 empties; leaving closes the rest.
    stopped = await member.call("identity:stop", {"what": "publish"})
    assert stopped == {"ok": True}
    await eventually(lambda: slots_seen[-1]["slots"][0] is None)
    await member.close()
    await chair.call("identity:stop", {})
    await eventually(lambda: chair.ack["self"] not in stats(server)["viewers"])
    assert list(stats(server)["cameras"]) == []


def _signal(client: Client, event: str) -> Any:
    async def signal(_pid: str, _room: str, sdp: str) -> str:
        ack = await client.call(event, {"type": "offer", "sdp": sdp})
        assert ack["ok"], ack
        return str(ack["sdp"])

    return signal


async def test_bad_offers_and_too_many_peers_are_refused_and_others_go_on(
    server: Server, made: list[Client], peers: Peers
) -> None:
    await add_staff(server)
    staff = await console(server, made)
    chair = await admitted(server, made, staff, "委員長", Role.CHAIR)
    members: list[MeetingClient] = [
        await admitted(server, made, staff, name, Role.MEMBER)
        for name in ("一号委員", "二号委員", "三号委員")
    ]
    first, second, third = members

    # Bad SDP: garbage, an audio stream, two video streams, a codec the server won't take.
    audio = RTCPeerConnection(CONFIG)
    audio.addTransceiver("audio", direction="sendonly")
    await audio.setLocalDescription(await audio.createOffer())
    two, two_sdp = await video_offer(2)
    one, one_sdp = await video_offer(1)
    peers.pcs += [audio, two, one]
    h264_only = without_vp8(one_sdp)
    assert "VP8" not in h264_only and "H264" in h264_only
    for payload, words in (
        ({"sdp": "v=0\r\nnonsense"}, "exactly one video"),
        ({"sdp": audio.localDescription.sdp}, "exactly one video"),
        ({"sdp": two_sdp}, "exactly one video"),
        ({"sdp": "x" * 10, "type": "answer"}, "offer"),
    ):
        refused = await first.call("identity:publish", payload)
        assert refused["ok"] is False and refused["reason"] == "bad_field", (payload, refused)
        assert words in refused["message"]
    refused = await chair.call("identity:view", {"sdp": two_sdp, "slots": 1})
    assert refused["reason"] == "bad_field", refused  # two streams offered, one announced
    refused = await chair.call("identity:view", {"sdp": two_sdp, "slots": 3})
    assert refused["reason"] == "bad_field" and "at most 2" in refused["message"]
    refused = await chair.call("identity:view", {"sdp": h264_only, "slots": 1})
    assert refused["reason"] == "bad_field" and "unusable" in refused["message"], refused
    assert stats(server) == {"cameras": {}, "viewers": {}}, "no refused offer left a peer"

    # Two cameras per room here; the third member waits. Replacing one's own camera
    # takes no new place.
    viewer, _ = await peers.viewer(chair, slots=2)
    await peers.camera(first, RED)
    await peers.camera(second, BLUE)
    cam = RTCPeerConnection(CONFIG)
    peers.pcs.append(cam)
    cam.addTransceiver(SolidColour(RED), direction="sendonly")
    await cam.setLocalDescription(await cam.createOffer())
    full = await third.call("identity:publish", {"sdp": cam.localDescription.sdp})
    assert full["reason"] == "identity_full", full
    await peers.camera(second, BLUE)  # the same member again: allowed
    assert len(stats(server)["cameras"]) == 2

    # Two viewers per room: the chair and the staff console; a third seat is refused.
    await peers.viewer(staff, slots=1)
    await add_staff(server, "jimu2", "事務局二")
    extra = await console(server, made, name="jimu2")
    pc, sdp = await video_offer(1)
    peers.pcs.append(pc)
    full = await extra.call("identity:view", {"sdp": sdp, "slots": 1})
    assert full["reason"] == "identity_full", full

    # Those already served keep being served.
    viewer.frames = [0, 0]
    await eventually(lambda: min(viewer.frames) > 3, within=10)
    await asyncio.sleep(0)
