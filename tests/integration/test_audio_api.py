"""The audio plane through the socket API: real socket.io clients and real aiortc peers
on loopback, a real server with its meetings deciding who may speak and who is heard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from bench.clients.audio_peers import Listener, Tone, speak
from rooms.model import Role
from server.app import AUDIO_KEY
from server.audio.api import ClusterAudioHooks
from server.config.settings import Settings
from server.rtc.ice import rtc_configuration
from tests.conftest import Client, Server, eventually
from tests.meetings import (
    COMMITTEE,
    MeetingClient,
    add_staff,
    admitted,
    console,
    invitation,
    participant,
)

CONFIG = rtc_configuration([])


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A radius wider than the plaza's spawn circle: everyone who joins is near everyone.
    return replace(
        settings, ice_host_addresses=("127.0.0.1",), audio_proximity_n=2, audio_radius=30.0
    )


class Audio:
    """Socket clients and their aiortc peers, all closed at the end."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.clients: list[Client] = []
        self.pcs: list[RTCPeerConnection] = []
        self.listeners: list[Listener] = []

    @property
    def stats(self) -> dict[str, Any]:
        return self.server.app[AUDIO_KEY].plane.stats()

    async def speaker(self, client: Client, tone: Tone) -> RTCPeerConnection:
        async def signal(_pid: str, _room: str, sdp: str) -> str:
            ack = await client.call("audio:publish", {"type": "offer", "sdp": sdp})
            assert ack["ok"], ack
            return str(ack["sdp"])

        pc = await speak(CONFIG, signal, "", "", tone)
        self.pcs.append(pc)
        return pc

    async def listener(self, client: Client, slots: int = 3) -> tuple[Listener, dict[str, Any]]:
        listener = Listener(CONFIG, slots)
        acks: list[dict[str, Any]] = []

        async def signal(_pid: str, _room: str, sdp: str) -> str:
            ack = await client.call("audio:listen", {"sdp": sdp, "slots": slots})
            assert ack["ok"], ack
            acks.append(ack)
            return str(ack["sdp"])

        await listener.connect(signal, "", "")
        self.listeners.append(listener)
        return listener, acks[0]

    async def close(self) -> None:
        for listener in self.listeners:
            await listener.close()
        for pc in self.pcs:
            await pc.close()
        for client in self.clients:
            await client.close()


@pytest.fixture
async def audio(server: Server) -> AsyncIterator[Audio]:
    a = Audio(server)
    try:
        yield a
    finally:
        await a.close()


def recorder(client: Client, event: str) -> list[Any]:
    seen: list[Any] = []

    async def record(data: Any) -> None:
        seen.append(data)

    client.sio.on(event, record)
    return seen


async def heard(listener: Listener, seconds: float = 1.5) -> set[int]:
    listener.clear()
    await asyncio.sleep(seconds)
    return listener.tones()


async def test_committee_floor_decides_who_is_heard(server: Server, audio: Audio) -> None:
    await add_staff(server)
    made = audio.clients
    staff = await console(server, made)
    citizen = await admitted(server, made, staff, "さくら", Role.CITIZEN)
    member = await admitted(server, made, staff, "田中委員", Role.MEMBER)
    assert member.ack["audio"] == {"slots": 3, "mode": "floor", "radius": 30.0}
    closed = recorder(citizen, "audio:closed")
    slots = recorder(member, "audio:slots")
    active = recorder(member, "audio:active")

    refused = await citizen.call("audio:publish", {"sdp": "v=0\r\n"})
    assert refused["reason"] == "wrong_state", "a citizen speaks only with the floor"
    assert audio.stats["uplinks"] == {}

    listener, ack = await audio.listener(member)
    assert ack["slots"] == [None, None, None] and ack["active"] == []
    await citizen.act("hand:raise")
    await staff.act("floor:give", {"limit": 60})
    await citizen.expect("meeting:floor", lambda f: f["holder"] == citizen.ack["self"])
    await audio.speaker(citizen, Tone(1000))
    assert await heard(listener) == {1000}, "the floor holder is heard"
    assert slots[-1] == {"slots": [citizen.ack["self"], None, None]}
    await eventually(lambda: bool(active) and citizen.ack["self"] in active[-1]["active"])
    assert active[-1]["room"] == COMMITTEE

    await staff.act("floor:revoke")
    await eventually(lambda: bool(closed))
    assert closed[0]["reason"] == "wrong_state", "the microphone closes with the floor"
    await eventually(lambda: audio.stats["uplinks"] == {})
    assert await heard(listener, 1.0) == set(), "no longer heard"
    await eventually(lambda: active[-1]["active"] == [])


async def test_a_speaker_without_the_floor_is_not_heard(server: Server, audio: Audio) -> None:
    # The chair speaks freely; a muted chair keeps nothing open.
    await add_staff(server)
    made = audio.clients
    staff = await console(server, made)
    chair = await participant(server, made, "x", token=invitation(
        server, COMMITTEE, Role.CHAIR, "山田委員長"))  # fmt: skip
    member = await admitted(server, made, staff, "田中委員", Role.MEMBER)
    other = await admitted(server, made, staff, "佐藤委員", Role.MEMBER)
    listener, _ = await audio.listener(other)
    assert (await member.call("audio:publish", {"sdp": "v=0"}))["reason"] == "wrong_state"
    await audio.speaker(chair, Tone(600))
    assert await heard(listener) == {600}
    closed = recorder(chair, "audio:closed")
    await staff.act("sanction:mute", {"target": chair.ack["self"], "reason": "test"})
    await eventually(lambda: bool(closed))
    assert closed[0]["reason"] == "muted"
    assert await heard(listener, 1.0) == set()


async def test_plaza_hears_at_most_n_near_speakers(server: Server, audio: Audio) -> None:
    made = audio.clients
    people = []
    for name in ("a", "b", "c", "me"):
        client = await MeetingClient(server.url).connect()
        made.append(client)
        client.ack = await client.join(name, room="plaza")
        people.append(client)
    assert people[-1].ack["audio"]["mode"] == "proximity"
    for client, hz in zip(people[:3], (400, 800, 1200), strict=True):
        await audio.speaker(client, Tone(hz))
    listener, _ = await audio.listener(people[-1])
    await asyncio.sleep(1.0)
    tones = await heard(listener)
    assert len(tones) == 2 and tones <= {400, 800, 1200}, tones
    plane = server.app[AUDIO_KEY].plane
    assert len(plane.heard_by(people[-1].ack["self"])) == 2


async def test_bad_offers_get_reasons_and_others_are_served(server: Server, audio: Audio) -> None:
    made = audio.clients
    a = await Client(server.url).connect()
    b = await Client(server.url).connect()
    made += [a, b]
    assert (await a.call("audio:listen", {"sdp": "v=0", "slots": 1}))["reason"] == "not_joined"
    await a.join("a")
    await b.join("b")
    assert (await a.call("audio:publish", {"sdp": "nonsense"}))["reason"] == "bad_field"
    garbage = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=garbage\r\n"
    assert (await a.call("audio:publish", {"sdp": garbage}))["reason"] == "bad_field"
    assert (await a.call("audio:listen", {"sdp": garbage, "slots": 1}))["reason"] == "bad_field"
    assert (await a.call("audio:listen", {"sdp": "v=0", "slots": 9}))["reason"] == "bad_field"
    assert (await a.call("audio:publish", {"sdp": "v=0", "x": 1}))["reason"] == "unknown_field"
    assert (await a.call("audio:publish", {"sdp": "v=0", "type": "answer"}))["reason"] == (
        "bad_field"
    )
    assert (await a.call("audio:close", {"what": "both"}))["reason"] == "bad_field"
    assert audio.stats == {"uplinks": {}, "listeners": {}}
    listener, _ = await audio.listener(a, slots=1)
    await audio.speaker(b, Tone(500))
    await server.app[AUDIO_KEY]._feed()  # positions now rather than at the next tick
    assert await heard(listener) == {500}, "the server kept serving"


async def test_leave_and_disconnect_close_the_peers(server: Server, audio: Audio) -> None:
    made = audio.clients
    a = await Client(server.url).connect()
    b = await Client(server.url).connect()
    made += [a, b]
    await a.join("a")
    b_ack = await b.join("b")
    await audio.speaker(a, Tone(500))
    await audio.listener(a)
    await audio.speaker(b, Tone(700))
    await audio.listener(b)
    assert len(audio.stats["uplinks"]) == 2 and len(audio.stats["listeners"]) == 2
    assert (await a.call("leave"))["ok"]
    await eventually(lambda: len(audio.stats["uplinks"]) == 1)
    assert set(audio.stats["listeners"]) == {b_ack["self"]}
    assert (await b.call("audio:close", {"what": "listen"}))["ok"]
    assert audio.stats["listeners"] == {} and set(audio.stats["uplinks"]) == {b_ack["self"]}
    await b.close()
    await eventually(lambda: audio.stats == {"uplinks": {}, "listeners": {}})


async def test_cluster_hooks_switch_the_audio_side(server: Server, audio: Audio) -> None:
    """What a cluster node gives the audio side through ``use_cluster``: packets relayed
    to other nodes, plaza positions from elsewhere; None makes it a single process again."""
    made = audio.clients
    a = await Client(server.url).connect()
    b = await Client(server.url).connect()
    made += [a, b]
    a_pid = (await a.join("a"))["self"]
    b_pid = (await b.join("b"))["self"]
    api = server.app[AUDIO_KEY]
    relayed: list[tuple[str, str]] = []
    # An edge's positions: the speaker far beyond the hearing radius from the listener.
    far = {a_pid: (0.0, 0.0), b_pid: (100.0, 100.0)}
    api.use_cluster(ClusterAudioHooks(
        relay=lambda room, pid, *_packet: relayed.append((room, pid)),
        positions_of=lambda _room: far,
        emit_active=False,
    ))  # fmt: skip
    listener, _ = await audio.listener(b, slots=1)
    await audio.speaker(a, Tone(500))
    await eventually(lambda: ("plaza", a_pid) in relayed)
    await api._feed()  # positions now rather than at the next tick
    assert await heard(listener) == set(), "the positions came from the hook"
    api.use_cluster(None)
    count = len(relayed)
    await api._feed()
    assert await heard(listener) == {500}, "the hub's positions again"
    assert len(relayed) == count, "nothing relayed any more"
