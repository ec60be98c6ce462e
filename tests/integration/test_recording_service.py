"""Recording a meeting in the running server: staff start and stop it from a console,
a member with the floor speaks (a real aiortc peer) and sends poses on /motion, people
chat and vote; then the files on disk are read back. Also: who may start, one recording
per room, joiners told before they enter, and recovery at start."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiortc import RTCPeerConnection

from avatar import codec as pose_codec
from avatar.pose import Pose, TrackingState
from bench.clients.audio_peers import Tone, speak
from bench.clients.motion_client import MotionWatcher
from bench.clients.recording_media import RATE, decode
from rooms.model import Role
from server.app import RECORDINGS_KEY
from server.config.settings import Settings
from server.recording.event_log import EventKind, read_events
from server.recording.ids import new_recording_id
from server.recording.index import RecordingIndex
from server.recording.minutes import build_minutes
from server.recording.motion_log import KIND_POSE, MotionLog
from server.recording.recorder import (
    EVENTS,
    MOTION,
    Manifest,
    RecordingState,
    read_manifest,
    write_manifest,
)
from server.rtc.ice import rtc_configuration
from server.storage.store import SQLiteStore
from tests.conftest import Client, Server, running_server
from tests.meetings import COMMITTEE, add_staff, admitted, console, participant

CONFIG = rtc_configuration([])


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ice_host_addresses=("127.0.0.1",))



async def publish(client: Client, tone: Tone) -> RTCPeerConnection:
    async def signal(_pid: str, _room: str, sdp: str) -> str:
        ack = await client.call("audio:publish", {"type": "offer", "sdp": sdp})
        assert ack["ok"], ack
        return str(ack["sdp"])

    return await speak(CONFIG, signal, "", "", tone)


def own(ack: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])


async def rooms_list(server: Server) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(server.url + "/api/rooms") as r:
        body = await r.json()
    return {room["id"]: room for room in body["rooms"]}


async def test_record_a_meeting(server: Server, made: list[Client]) -> None:
    await add_staff(server)
    staff = await console(server, made)
    assert staff.ack["recording"] == {"room": COMMITTEE, "recording": False, "since": None}
    member = await admitted(server, made, staff, "田中委員", Role.MEMBER)
    citizen = await admitted(server, made, staff, "さくら", Role.CITIZEN)
    assert member.ack["recording"]["recording"] is False

    refused = await citizen.call("recording:start", {"room": COMMITTEE})
    assert refused["ok"] is False and refused["reason"] == "forbidden"
    other_room = await staff.call("recording:start", {"room": "plaza"})
    assert other_room["reason"] == "not_joined", "a console records its own room only"
    bad = await staff.call("recording:start", {"room": COMMITTEE, "extra": 1})
    assert bad["reason"] == "unknown_field"
    assert (await staff.call("recording:stop", {"room": COMMITTEE}))["reason"] == "wrong_state"

    started = await staff.act("recording:start", {"room": COMMITTEE})
    began = time.monotonic()
    assert started["recording"] is True and started["since"] > 0
    told = await citizen.expect("meeting:recording", lambda d: d["recording"])
    assert told == {"room": COMMITTEE, "recording": True, "since": started["since"]}
    again = await staff.call("recording:start", {"room": COMMITTEE})
    assert again["ok"] is False and again["reason"] == "wrong_state", "one per room"

    # Joiners are told before they enter: the room list, then the join (or lobby) ack.
    assert (await rooms_list(server))[COMMITTEE]["recording"] is True
    assert (await rooms_list(server))["plaza"]["recording"] is False
    late = await participant(server, made, "遅れて来た人")
    assert late.ack["recording"]["recording"] is True

    # The member gets the floor and speaks, and sends poses from the stage.
    await staff.act("floor:give", {"target": member.ack["self"], "limit": 60})
    await member.expect("meeting:floor", lambda f: f["holder"] == member.ack["self"])
    tone = Tone(600)
    pc = await publish(member, tone)
    motion = await MotionWatcher.open(server.url, member.ack)
    me = own(member.ack)
    try:
        for i in range(40):  # 2 s at 20 Hz
            record = pose_codec.encode(Pose(i, TrackingState.TRACKED, roll=float(i)))
            await motion.send(me["x"], me["z"], me["h"], record)
            await asyncio.sleep(0.05)
    finally:
        await pc.close()
        await motion.close()
    await citizen.act("chat:send", {"text": "記録されていますね"})
    poll = await staff.act("poll:create", {"question": "賛成ですか", "options": ["はい", "いいえ"]})
    await citizen.act("poll:vote", {"poll": poll["poll"], "choices": [0]})
    await staff.act("poll:close", {"poll": poll["poll"]})
    await staff.act("floor:revoke")

    assert (await citizen.call("recording:stop", {"room": COMMITTEE}))["reason"] == "forbidden"
    stopped = await staff.act("recording:stop", {"room": COMMITTEE})
    elapsed = time.monotonic() - began
    assert stopped["id"] == started["id"] and stopped["state"] == "stopped"
    assert stopped["recording"] is False
    await citizen.expect("meeting:recording", lambda d: not d["recording"])
    assert (await rooms_list(server))[COMMITTEE]["recording"] is False

    folder = server.settings.recordings_path / started["id"]
    duration = stopped["duration_ms"] / 1000
    assert abs(duration - elapsed) < 0.5
    row = await server.app[RECORDINGS_KEY].index.get(started["id"])
    assert row.state is RecordingState.STOPPED and row.bytes > 0 and row.started_by == "jimu"

    # Audio: one Ogg Opus file, the member's, the whole recording long, with the tone.
    files = sorted((folder / "audio").iterdir())
    assert [f.name for f in files] == ["01.opus"]
    samples = await asyncio.to_thread(decode, files[0])
    assert abs(len(samples) / RATE - duration) < 0.3
    loud = np.abs(samples) > 0.02
    assert 1.2 < loud.sum() / RATE < 3.0, "about the 2 s the member spoke"

    # Motion: the member's poses, in order.
    log = await asyncio.to_thread(MotionLog.open, folder / MOTION)
    slot = me["slot"]
    rolls = [pose_codec.decode(p).roll for kind, _, s, p in log.records()
             if kind == KIND_POSE and s == slot and isinstance(p, bytes)]
    assert len(set(rolls)) >= 30 and rolls == sorted(rolls), rolls
    assert log.state_at(log.last_t_ms).positions, "plaza positions were recorded"

    # Events: attendance, the floor, chat, the poll, who started and stopped it.
    events = (await asyncio.to_thread(read_events, folder / EVENTS)).events
    kinds = [e.kind for e in events]
    assert kinds[0] is EventKind.RECORDING and kinds[-1] is EventKind.RECORDING
    joins = {e.data["pid_name"]: e.data["pid_role"] for e in events if e.kind is EventKind.JOIN}
    assert joins == {"事務局": "staff", "田中委員": "member", "さくら": "citizen"}, (
        "present at the start; a joiner waiting in the lobby is not in the room")
    # The replay names the motion log's slots by the join lines that carry them.
    slots = {e.data["slot"]: e.data["pid_name"] for e in events
             if e.kind is EventKind.JOIN and "slot" in e.data}
    assert slots[slot] == "田中委員" and set(slots.values()) <= set(joins)
    floor = [e.data for e in events if e.kind is EventKind.FLOOR]
    assert any(d["type"] == "floor.given" and d["pid_name"] == "田中委員" for d in floor)
    chat = [e.data for e in events if e.kind is EventKind.CHAT]
    assert chat[0]["message"]["text"] == "記録されていますね"
    assert chat[0]["message"]["author_name"] == "さくら"
    polls = [e.data for e in events if e.kind is EventKind.POLL]
    assert polls[-1]["poll"]["counts"] == [1, 0] and polls[-1]["change"] == "closed"
    audited = [e.data["entry"]["action"] for e in events if e.kind is EventKind.MODERATION
               and e.data["type"] == "audit.entry"]
    assert audited[0] == "recording.start" and audited[-1] == "recording.stop"
    assert any(e.kind is EventKind.SPEAKER for e in events)
    assert [e.seq for e in events] == list(range(len(events)))

    # Minutes: the member spoke (the audio says ~2 s of it), the poll's result.
    minutes = await asyncio.to_thread(build_minutes, folder, row, include_moderation=True,
                                      tz=server.settings.zone)
    (turn,) = [t for t in minutes.timeline if t.source == "floor"]
    assert (turn.name, turn.role) == ("田中委員", "member") and turn.voiced is not None
    assert 1.2 < turn.voiced <= turn.seconds + 0.1, turn
    (result,) = minutes.polls
    assert (result.question, result.counts, result.voters) == ("賛成ですか", (1, 0), 1)
    assert result.closed is not None
    assert {(a.name, a.role) for a in minutes.attendance} >= {
        ("事務局", "staff"), ("田中委員", "member"), ("さくら", "citizen")}


async def test_restart_closes_a_recording_left_open(settings: Settings, no_blocking: None) -> None:
    root = settings.recordings_path
    store = SQLiteStore(settings.database_path)
    await store.open()
    left_open = Manifest(new_recording_id(), COMMITTEE, "t", time.time() - 60)
    folderless = Manifest(new_recording_id(), COMMITTEE, "t", time.time() - 30)
    try:
        await asyncio.to_thread(_left_by_a_crash, root, left_open)
        index = RecordingIndex(store, root)
        await index.add(left_open, "jimu")
        await index.add(folderless, "jimu")  # killed before its folder was written
    finally:
        await store.close()

    async with running_server(settings) as server:
        index = server.app[RECORDINGS_KEY].index
        row = await index.get(left_open.id)
        assert row.state is RecordingState.STOPPED and row.recovered
        assert (await index.get(folderless.id)).state is RecordingState.FAILED


async def test_stopping_the_server_closes_a_running_recording(
    settings: Settings, no_blocking: None
) -> None:
    made: list[Client] = []
    async with running_server(settings) as server:
        try:
            await add_staff(server)
            staff = await console(server, made)
            started = await staff.act("recording:start", {"room": COMMITTEE})
            await asyncio.sleep(0.3)
        finally:
            for c in made:
                await c.close()
    manifest = await asyncio.to_thread(
        read_manifest, settings.recordings_path / started["id"])
    assert manifest.state is RecordingState.STOPPED and not manifest.recovered
    assert manifest.duration_ms >= 300


def _left_by_a_crash(root: Path, manifest: Manifest) -> None:
    (root / manifest.id / "audio").mkdir(parents=True)
    write_manifest(root / manifest.id, manifest)
    (root / manifest.id / MOTION).write_bytes(b"HRBM\x01\x00\x00\x00")
    (root / manifest.id / EVENTS).write_text(
        '{"t": 0, "seq": 0, "kind": "recording", "action": "started"}\n{"t": 9', "utf-8")
