"""Malformed SDP and data-channel floods against a real server.

``rtc:offer``, ``audio:publish``, ``audio:listen`` and ``motion:offer`` get SDP-ish garbage
and mutations of real aiortc offers (lines dropped, duplicated, swapped, cut, numbers made
huge): each is answered ``ok`` or with a reason code (never ``internal`` or a timeout), and
once the sender has gone every server-side ``RTCPeerConnection`` is closed. A real data
channel sending thousands of junk messages at once is closed by the server, and a calm
client on the WebSocket keeps its frames meanwhile.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from hypothesis import HealthCheck, example, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from rooms.errors import Reason
from rooms.model import Role
from server.app import AUDIO_KEY, TRACKING_KEY
from server.config.settings import Settings
from server.motion import codec as motion_codec
from server.rtc.ice import rtc_configuration
from server.sockets import events
from tests.conftest import ROOT, Client, Server, running_server
from tests.integration.test_motion_datachannel import ChannelClient
from tests.integration.test_motion_plane import frames_until, open_motion
from tests.meetings import invitation
from tests.tracking_doubles import NoFace

SDP_EVENTS = [events.RTC_OFFER, events.AUDIO_PUBLISH, events.AUDIO_LISTEN, events.MOTION_OFFER]
EXAMPLES = 40  # offers per event
FLOOD = 3000  # junk messages sent on one data channel, as fast as aiortc queues them
REASONS = {r.value for r in Reason} - {Reason.INTERNAL.value}


MODELS = ROOT / "data" / "models"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The cached face model (when the machine has it) lets rtc:offer reach its SDP; the
    # pipeline below stands in for MediaPipe, so a mutated offer that still works costs
    # nothing to track.
    if (MODELS / "face_landmarker.task").exists():
        settings = replace(settings, model_cache_dir=MODELS)
    return replace(settings, ice_host_addresses=("127.0.0.1",), motion_datachannel_max=4,
                   events_per_second=5000.0, events_burst=5000.0)




@pytest.fixture
async def server(settings: Settings, no_blocking: None) -> AsyncIterator[Server]:
    async with running_server(settings, pipeline_factory=NoFace) as running:
        yield running


async def member(server: Server, clients: Any) -> Client:
    """A committee member in the plaza: allowed server-side tracking and the microphone."""
    client: Client = await clients()
    await client.join("fuzz", token=invitation(server, "plaza", Role.MEMBER, "fuzz"))
    return client


async def real_offers() -> dict[str, str]:
    """What a browser would send for each event, made by aiortc (ICE gathered, no
    trickle), for the mutations to start from."""
    offers: dict[str, str] = {}
    for event, kinds in ((events.RTC_OFFER, ["video"]), (events.AUDIO_PUBLISH, ["audio"]),
                         (events.AUDIO_LISTEN, ["audio-recv"]),
                         (events.MOTION_OFFER, ["data"])):
        pc = RTCPeerConnection(rtc_configuration([]))
        for kind in kinds:
            if kind == "data":
                pc.createDataChannel("motion", ordered=False, maxRetransmits=0)
            elif kind == "audio-recv":
                pc.addTransceiver("audio", direction="recvonly")
            else:
                pc.addTransceiver(kind, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        offers[event] = pc.localDescription.sdp
        await pc.close()
    return offers


SDP_KEYS = ["v", "o", "s", "t", "c", "m", "a", "b", "i", "x", ""]
SDP_VALUES = ["0", "audio 9 UDP/TLS/RTP/SAVPF 111",
              "application 9 UDP/DTLS/SCTP webrtc-datachannel", "video 0 RTP/AVP 96",
              "rtpmap:111 opus/48000/2", "fingerprint:sha-256 ZZ",
              "candidate:1 1 udp 1 127.0.0.1 99999 typ host", "group:BUNDLE 0 1",
              "ice-ufrag:", "setup:actpass", "mid:" + "9" * 40, "sctp-port:-1",
              "ssrc:4294967296 cname:x", "extmap:999 urn:x", "IN IP4 ::::",
              "- 0 0 IN IP4 127.0.0.1", "recvonly", "inactive"]
garbage_sdp = st.lists(
    st.tuples(st.sampled_from(SDP_KEYS), st.sampled_from(SDP_VALUES) | st.text(max_size=30)),
    max_size=15,
).map(lambda lines: "v=0\r\n" + "".join(f"{k}={v}\r\n" for k, v in lines))


@st.composite
def mutated_sdp(draw: st.DrawFn, sdp: str) -> str:
    lines = sdp.split("\r\n")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        how = draw(st.sampled_from(["drop", "dup", "swap", "junk", "number", "cut", "edit"]))
        if how == "drop" and lines:
            del lines[i]
        elif how == "dup" and lines:
            lines.insert(i, lines[i])
        elif how == "swap" and len(lines) > 1:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif how == "junk":
            lines.insert(i, draw(st.sampled_from(SDP_KEYS)) + "=" + draw(
                st.sampled_from(SDP_VALUES) | st.text(max_size=30)))
        elif how == "number" and lines:
            lines[i] = "".join(
                draw(st.sampled_from(["99999999999999999999", "-1", "0"])) if c.isdigit() else c
                for c in lines[i]
            )
        elif how == "cut":
            lines = lines[:i]
        elif how == "edit" and lines:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.text(max_size=10)) + lines[i][at + 1:]
    return "\r\n".join(lines)


@pytest.fixture
def peers(monkeypatch: pytest.MonkeyPatch) -> weakref.WeakSet[RTCPeerConnection]:
    """Every RTCPeerConnection made from now on, the services' included, whether or not
    a dict still reaches it (a WeakSet: it keeps none alive; scanning the heap with
    ``gc`` instead would itself block the loop)."""
    made: weakref.WeakSet[RTCPeerConnection] = weakref.WeakSet()
    init = RTCPeerConnection.__init__

    def recording_init(self: RTCPeerConnection, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        made.add(self)

    monkeypatch.setattr(RTCPeerConnection, "__init__", recording_init)
    return made


def still_open(peers: weakref.WeakSet[RTCPeerConnection]) -> list[RTCPeerConnection]:
    return [pc for pc in list(peers) if pc.signalingState != "closed"]


@pytest.fixture
async def joined(server: Server, clients: Any) -> AsyncIterator[tuple[Client, dict[str, str]]]:
    yield await member(server, clients), await real_offers()


@fuzz_settings(max_examples=EXAMPLES, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])
@given(data=st.data())
@example(data=None)  # the real offers, unmutated, once each
async def test_fuzz_sdp(server: Server, joined: tuple[Client, dict[str, str]],
                        data: Any) -> None:
    client, offers = joined
    for event in SDP_EVENTS:
        if data is None:
            sdp: Any = offers[event]
        else:
            sdp = data.draw(garbage_sdp | mutated_sdp(offers[event]) | st.text(max_size=200),
                            label=event)
        payload = {"type": "offer", "sdp": sdp}
        if event == events.AUDIO_LISTEN:
            payload["slots"] = 1
        ack = await client.sio.call(event, payload, timeout=10)
        assert isinstance(ack, dict), (event, ack)
        if not ack.get("ok"):
            assert ack.get("reason") in REASONS and ack.get("message"), (event, sdp, ack)


async def test_no_peer_outlives_its_sender(server: Server, clients: Any,
                                           peers: weakref.WeakSet[RTCPeerConnection]) -> None:
    # Offers that succeed (and the ones that fail half-way) leave nothing behind once the
    # sender has gone: no peer in the services' dicts, none open anywhere in the process.
    client = await member(server, clients)
    offers = await real_offers()
    rng = random.Random(7)
    for event in SDP_EVENTS * 3:
        lines = offers[event].split("\r\n")
        del lines[rng.randrange(len(lines))]  # often still usable, sometimes half-way
        sdp = "\r\n".join(lines) if rng.random() < 0.7 else offers[event]
        payload: dict[str, Any] = {"type": "offer", "sdp": sdp, "slots": 1}
        if event != events.AUDIO_LISTEN:
            del payload["slots"]
        await client.sio.call(event, payload, timeout=10)
    await client.close()
    audio, tracking = server.app[AUDIO_KEY], server.app[TRACKING_KEY]
    for _ in range(50):
        if not (audio.publishing or audio.listening or tracking.camera.sessions
                or still_open(peers)):
            break
        await asyncio.sleep(0.1)
    assert not audio.publishing and not audio.listening and not tracking.camera.sessions
    assert peers, "the offers made no peer connection: nothing was checked"
    assert not still_open(peers), "a peer connection outlived its sender"


@pytest.mark.parametrize("kind", ["junk", "valid"])
async def test_data_channel_flood_is_closed_and_others_served(server: Server, clients: Any,
                                                              kind: str) -> None:
    # Junk is closed by the malformed count; valid uplinks far over the rate by the flood
    # count (each message costs the server its SCTP receive path even when dropped).
    flooder, calm = await clients(), await clients()
    await flooder.join("flood")
    calm_ack = await calm.join("calm")
    channel = ChannelClient()
    http, ws = await open_motion(server, calm_ack)
    try:
        assert (await channel.offer(flooder))["ok"]
        closed = asyncio.Event()
        channel.pc.on("connectionstatechange",
                      lambda: closed.set() if channel.pc.connectionState == "closed" else None)
        channel.channel.on("close", closed.set)
        for i in range(FLOOD):
            if closed.is_set():
                break
            if kind == "junk":
                channel.channel.send(bytes([i % 256]) * (1 + i % 90))
            else:
                channel.channel.send(motion_codec.encode_uplink(0.1 * (i % 7), 12.0, 0.0))
            if i % 100 == 0:
                await asyncio.sleep(0)  # let SCTP carry what is queued
        await asyncio.wait_for(closed.wait(), 10)  # the server closed the channel
        # The calm client is still served: it sees a newcomer's move (frames leave out
        # their receiver's own entry).
        other = await clients()
        other_ack = await other.join("other")
        reply = await other.call("move", {"x": 0.5, "z": 12.0, "h": 0.25})
        assert reply["ok"], reply
        slot = next(p["slot"] for p in other_ack["snapshot"]["participants"]
                    if p["id"] == other_ack["self"])
        await frames_until(ws, lambda es: any(e.slot == slot and abs(e.h - 0.25) < 1e-3
                                              for e in es), 5)
    finally:
        await channel.pc.close()
        await ws.close()
        await http.close()
