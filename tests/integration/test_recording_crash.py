"""Kill the server with SIGKILL in the middle of a recording, start it again, and find the
recording closed and complete up to the last second before the kill (issue 6, "Crash")."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest

from avatar import codec as pose_codec
from avatar.pose import N_BLENDSHAPES, Pose, TrackingState
from bench.clients.audio_peers import Tone, speak
from bench.clients.recording_media import RATE, decode
from bench.server import start_server
from server.recording.event_log import EventKind, read_events
from server.recording.motion_log import KIND_POSE, MotionLog
from server.recording.recorder import EVENTS, MOTION, RecordingState, read_manifest
from server.rtc.ice import rtc_configuration, use_host_addresses
from tests.meetings import COMMITTEE, STAFF_PASSWORD, MeetingClient, login

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ("--ice-host-addresses", "127.0.0.1")


def cli(data_dir: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        [sys.executable, "-m", "server.cli.main", *args, "--data-dir", str(data_dir)],
        cwd=ROOT, input=stdin, capture_output=True, text=True, check=True, timeout=120,
    ).stdout


def talking_pose(t: float) -> bytes:
    weights = [0.0] * N_BLENDSHAPES
    weights[24] = 0.5 + 0.5 * math.sin(t * 9)  # jawOpen
    return pose_codec.encode(
        Pose(int(t * 1000), TrackingState.TRACKED, roll=10 * math.sin(t), yaw=5.0,
             weights=tuple(weights))
    )


@pytest.fixture
def loopback() -> Any:
    use_host_addresses(["127.0.0.1"])
    yield
    use_host_addresses([])


async def test_sigkill_mid_recording_then_restart(tmp_path: Path, loopback: None) -> None:
    data = tmp_path / "data"
    cli(data, "staff", "add", "jimu", "--password-stdin", stdin=STAFF_PASSWORD + "\n")
    proc, url = start_server(str(data), *FLAGS)  # seeds the committee room
    link = cli(data, "invite", COMMITTEE, "--role", "chair", "--name", "委員長").strip()
    token = parse_qs(urlparse(link).query)["token"][0]
    server = SimpleNamespace(url=url)
    clients: list[MeetingClient] = []
    tasks: list[asyncio.Task[Any]] = []
    pcs: list[Any] = []
    try:
        cookie, _ = await login(server)  # type: ignore[arg-type]
        staff = await MeetingClient(url, cookie).connect()
        clients.append(staff)
        assert (await staff.act("console:join", {"room": COMMITTEE}))["ok"]
        chair = await MeetingClient(url).connect()
        clients.append(chair)
        ack = await chair.call("join", {"name": "委員長", "room": COMMITTEE, "lang": "ja",
                                        "token": token})
        assert ack["ok"] and ack.get("place", "room") == "room", ack
        me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])

        # The chair is heard by the whole room: a tone on a real aiortc peer.
        async def signal_offer(_pid: str, _room: str, sdp: str) -> str:
            answer = await chair.call("audio:publish", {"type": "offer", "sdp": sdp})
            assert answer["ok"], answer
            return str(answer["sdp"])

        pcs.append(await speak(rtc_configuration([]), signal_offer, "", "", Tone(440)))

        # ... and sends a talking face at 20 Hz on the motion plane.
        http = aiohttp.ClientSession()
        ws = await http.ws_connect(url.replace("http", "ws", 1) + ack["motion"]["path"])
        await ws.send_str(ack["motion"]["token"])
        assert (await ws.receive(timeout=5)).data == "ok"

        async def poses() -> None:
            from server.motion.codec import encode_uplink

            t0 = time.monotonic()
            with contextlib.suppress(Exception):
                while True:
                    t = time.monotonic() - t0
                    await ws.send_bytes(encode_uplink(me["x"], me["z"], me["h"], talking_pose(t)))
                    await asyncio.sleep(0.05)

        tasks.append(asyncio.create_task(poses()))
        await asyncio.sleep(1.0)  # the voice is flowing before the recording starts

        started = await staff.act("recording:start", {"room": COMMITTEE})
        assert started["ok"], started
        recording_id = started["id"]
        t_start = time.monotonic()
        await asyncio.sleep(1.0)
        assert (await chair.call("chat:send", {"text": "記録に残る発言"}))["ok"]
        await asyncio.sleep(2.6)
        elapsed = time.monotonic() - t_start
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        for task in tasks:
            task.cancel()
        await http.close()
    finally:
        for pc in pcs:
            await pc.close()
        for c in clients:
            with contextlib.suppress(Exception):
                await c.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    folder = data / "recordings" / recording_id
    assert read_manifest(folder).state is RecordingState.RECORDING  # nobody closed it

    # A restart finds the recording and closes it.
    proc, url = start_server(str(data), *FLAGS)
    try:
        async with aiohttp.ClientSession() as http:
            cookie, _ = await login(SimpleNamespace(url=url))  # type: ignore[arg-type]
            async with http.get(url + "/api/recordings?all=1",
                                headers={"Cookie": cookie}) as resp:
                listed = {r["id"]: r for r in await resp.json()}
    finally:
        proc.terminate()
        proc.wait(20)
    row = listed[recording_id]
    assert row["state"] == "stopped" and row["recovered"] is True, row
    manifest = read_manifest(folder)
    assert manifest.state is RecordingState.STOPPED and manifest.recovered
    # Complete up to the last second before the kill: the manifest, the voice...
    assert manifest.duration_ms >= (elapsed - 1.0) * 1000, (manifest.duration_ms, elapsed)
    voice = decode(folder / "audio" / "01.opus")
    assert len(voice) / RATE >= elapsed - 1.0, (len(voice) / RATE, elapsed)
    heard = voice[: int((elapsed - 1.0) * RATE)]
    loud = [abs(heard[i : i + 960]).max() > 0.05 for i in range(0, len(heard) - 960, 960)]
    assert sum(loud) / len(loud) > 0.9, "the tone is in the file up to the last second"
    # ... the stage member's face ...
    log = MotionLog.open(folder / MOTION)
    pose_times = [t for kind, t, _slot, _ in log.records() if kind == KIND_POSE]
    assert pose_times and max(pose_times) >= (elapsed - 1.0) * 1000, (max(pose_times), elapsed)
    gaps = [b - a for a, b in itertools.pairwise(pose_times)]
    assert max(gaps) < 500, "no hole in the poses before the last second"
    # ... and the events, the chat among them.
    events = read_events(folder / EVENTS)
    assert events.bad_lines == 0
    chats = [e for e in events.events if e.kind is EventKind.CHAT]
    assert any("記録に残る発言" in str(e.data) for e in chats), chats
    assert max(e.t_ms for e in events.events) <= manifest.duration_ms
