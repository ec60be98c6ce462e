"""Server-side face tracking with real aiortc peers on loopback.

A Python peer plays a face video (the astronaut photograph with a known roll sweep, over
and over) as its camera; the server tracks it with the real MediaPipe model and hands the
poses to the motion plane; another client receives them in motion frames, and the poses
the tracker made over one whole sweep are checked to follow it. Then capacity,
dropping instead of queuing, and ICE hygiene.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import numpy as np
import pytest

from avatar import codec
from avatar.pipeline import TrackedFrame
from avatar.pose import Pose, TrackingState
from bench.clients.face_video import Frame, Shot, photo, render
from bench.clients.motion_client import MotionWatcher
from bench.clients.rtc_camera import FramesTrack, RecordTap, announces, offer_camera
from moderation.invitations import issue_invitation
from rooms.model import Role
from server.app import TRACKING_KEY
from server.config.secret import load_or_create_secret
from server.config.settings import Settings
from server.tracking.model_fetch import fetch_model
from tests.conftest import ROOT, Server, running_server
from tests.prometheus_text import parse

#: The plaza: committee rooms keep invited members in the lobby until staff admit them.
ROOM = "plaza"
FPS = 30
#: On-screen roll per frame: 0 -> +20 -> -20 -> 0 in 1° steps (2.7 s at 30 fps).
SWEEP = [*range(0, 21), *range(19, -21, -1), *range(-19, 1)]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    cache = ROOT / "data" / "models"
    fetch_model(replace(Settings(), model_cache_dir=cache))
    return cache


@pytest.fixture(scope="module")
def sweep_frames() -> list[Frame]:
    src = photo()
    return [render(src, Shot(roll=float(r)), size=(320, 240)) for r in SWEEP]


@pytest.fixture
def settings(settings: Settings, model_dir: Path) -> Settings:
    return replace(settings, model_cache_dir=model_dir, ice_host_addresses=("127.0.0.1",))


async def member(server: Server, clients: Any, name: str, role: Role = Role.MEMBER) -> Any:
    secret = load_or_create_secret(server.settings.secret_path)
    token, _ = issue_invitation(secret, ROOM, role, name, time.time(), 600, issued_by="test")
    client = await clients()
    client.ack = await client.join(name, room=ROOM, token=token)
    return client


def own(client: Any) -> dict[str, Any]:
    ack = client.ack
    return next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])  # type: ignore[no-any-return]


def tracked_so_far(tap: RecordTap, pid: str) -> tuple[int, int]:
    """How many tracked poses of ``pid`` there are, and how many milliseconds of video they
    cover."""
    t = [p.timestamp_ms for _, p in tap.records.get(pid, []) if p.state is TrackingState.TRACKED]
    return len(t), (t[-1] - t[0] if t else 0)


async def test_server_tracked_roll_follows_the_sweep(server, clients, sweep_frames) -> None:
    m = await member(server, clients, "田中委員")
    viewer = await clients()
    watcher = await MotionWatcher.open(server.url, await viewer.join("傍聴", room=ROOM))
    itself = await MotionWatcher.open(server.url, m.ack)
    tap = RecordTap(server.app[TRACKING_KEY].plane)
    closed: list[dict[str, Any]] = []
    m.sio.on("rtc:closed", closed.append)
    slot = own(m)["slot"]

    # The sweep loops until the tracker has covered all of it once with 25 poses or more:
    # the first session of a process loads MediaPipe meanwhile (a second on a quiet
    # machine, several on a loaded one, dropping the frames that arrive until then by
    # design), and a loaded 2-core machine tracks fewer than 15 frames a second, so a fixed
    # play time (2.7 s) tracked only the end of the sweep there. The rate is bench's
    # business (bench/face_latency.py), not this test's.
    camera = FramesTrack(sweep_frames, FPS)
    sweep_ms = len(SWEEP) * 1000 // FPS
    try:
        pc, ack = await offer_camera(m.sio, camera)
        assert ack["ok"], ack
        answer_candidates = [ln for ln in ack["sdp"].splitlines() if "candidate:" in ln]
        assert answer_candidates and all(" 127.0.0.1 " in ln for ln in answer_candidates)
        assert not any(k in ack["sdp"] for k in ("typ srflx", "typ relay"))
        await viewer.wait_for(announces(m.ack["self"], "server"))
        deadline = time.monotonic() + 60
        while (got := tracked_so_far(tap, m.ack["self"]))[0] < 25 or got[1] < sweep_ms:
            assert time.monotonic() < deadline, "the tracker never covered one sweep"
            await asyncio.sleep(0.05)
    finally:
        camera.stop()
        await pc.close()
        await watcher.close()
        await itself.close()
    # The peer went away without rtc:close: the server notices, says so, resets the mode.
    await viewer.wait_for(announces(m.ack["self"], "none"), 15)
    for _ in range(40):  # the member's own notice travels on another socket
        if closed:
            break
        await asyncio.sleep(0.05)
    assert closed and closed[0]["reason"] == "ended"

    poses = [pose for _, pose in tap.records[m.ack["self"]]]
    tracked = [p for p in poses if p.state is TrackingState.TRACKED]
    assert len(tracked) >= 25, f"{len(tracked)} tracked poses"
    assert len(tracked) >= 0.9 * len(poses)
    t = np.array([p.timestamp_ms for p in tracked])
    assert np.all(np.diff(t) > 0)
    idx = np.rint(t * FPS / 1000).astype(int) % len(SWEEP)
    roll = np.array([p.roll for p in tracked])
    # On screen the sweep turns the image counter-clockwise: the person tilts toward their
    # right shoulder, negative roll; the photo's own tilt is a constant baseline.
    expected = -np.array(SWEEP, dtype=float)[idx]
    baseline = float(np.median(roll - expected))
    error = np.abs(roll - expected - baseline)
    assert 0.0 < baseline < 6.0
    assert np.ptp(roll) > 30.0
    assert error.mean() <= 2.5, f"mean roll error {error.mean():.2f}°"
    assert error.max() <= 8.0, f"max roll error {error.max():.2f}°"
    # The viewer received them in motion frames (compact: the same angles), and so did the
    # member, whose page has no other way to show them their own face.
    made = {(p.state.value, p.roll, p.pitch, p.yaw) for p in poses}
    for seen in (watcher, itself):
        got = [(c.state, c.roll, c.pitch, c.yaw) for _, _, c in seen.poses[slot]]
        assert len(got) >= 25 and all(g in made for g in got), len(got)
    assert not server.app[TRACKING_KEY].camera.sessions


class SlowPipeline:
    """Stands in for MediaPipe: takes ``seconds`` per frame, reports roll 0."""

    made: ClassVar[list[SlowPipeline]] = []

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.processed = 0
        self.closed = False
        SlowPipeline.made.append(self)

    def process(self, rgb: Any, timestamp_ms: int) -> TrackedFrame:
        time.sleep(self.seconds)
        self.processed += 1
        pose = Pose(timestamp_ms=timestamp_ms, state=TrackingState.TRACKED, roll=1.0)
        return TrackedFrame(pose=pose, record=codec.encode(pose), found=True)

    def close(self) -> None:
        self.closed = True


def gray_frames(n: int = 8) -> list[Any]:
    return [np.full((240, 320, 3), 40 + 20 * i, np.uint8) for i in range(n)]


@pytest.fixture
def slow_settings(settings: Settings) -> Settings:
    return replace(settings, server_tracking_max=1, server_tracking_fps=60.0)


async def test_capacity_limit_and_roles(slow_settings, no_blocking) -> None:
    from tests.conftest import Client

    async with running_server(slow_settings, pipeline_factory=lambda: SlowPipeline(0.01)) as srv:
        made: list[Client] = []

        async def clients() -> Client:
            c = await Client(srv.url).connect()
            made.append(c)
            return c

        pcs = []
        try:
            a = await member(srv, clients, "一人目")
            b = await member(srv, clients, "二人目", Role.CHAIR)
            citizen = await clients()
            await citizen.join("市民", room=ROOM)
            pc, ack = await offer_camera(a.sio, FramesTrack(gray_frames(), 5))
            pcs.append(pc)
            assert ack["ok"], ack
            pc, ack = await offer_camera(b.sio, FramesTrack(gray_frames(), 5))
            pcs.append(pc)
            assert (ack["ok"], ack["reason"]) == (False, "tracking_full")
            pc, ack = await offer_camera(citizen.sio, FramesTrack(gray_frames(), 5))
            pcs.append(pc)
            assert (ack["ok"], ack["reason"]) == (False, "forbidden")
            # A second offer from the tracked member replaces their session, within the limit.
            pc, ack = await offer_camera(a.sio, FramesTrack(gray_frames(), 5))
            pcs.append(pc)
            assert ack["ok"], ack
            # Uploads from someone tracked on the server are refused; theirs come from it.
            rec = codec.encode(Pose(timestamp_ms=1))
            assert (await a.call("pose", rec))["reason"] == "wrong_state"
            # Switching to browser tracking frees the place for the next person.
            assert (await a.call("tracking", {"mode": "browser"}))["ok"]
            pc, ack = await offer_camera(b.sio, FramesTrack(gray_frames(), 5))
            pcs.append(pc)
            assert ack["ok"], ack
            assert list(srv.app[TRACKING_KEY].camera.sessions) == [b.ack["self"]]
            # Leaving stops the session and closes the tracker.
            assert (await b.call("leave", {}))["ok"]
            for _ in range(50):
                if not srv.app[TRACKING_KEY].camera.sessions:
                    break
                await asyncio.sleep(0.05)
            assert not srv.app[TRACKING_KEY].camera.sessions
        finally:
            for pc in pcs:
                await pc.close()
            for c in made:
                await c.close()
    assert SlowPipeline.made and all(p.closed for p in SlowPipeline.made)


async def test_frames_are_dropped_not_queued(slow_settings, no_blocking) -> None:
    """At 30 fps into a tracker that needs 120 ms a frame, a queue would grow by 22 frames a
    second; the session keeps at most one waiting and the latency stays near one frame's
    processing time."""
    from tests.conftest import Client

    work = 0.12
    async with running_server(slow_settings, pipeline_factory=lambda: SlowPipeline(work)) as srv:
        a = viewer = None
        pc = None
        watcher: MotionWatcher | None = None
        try:
            a = await member(srv, lambda: Client(srv.url).connect(), "重い端末")
            viewer = await Client(srv.url).connect()
            watcher = await MotionWatcher.open(srv.url, await viewer.join("見る人", room=ROOM))
            track = FramesTrack(gray_frames(), 30)
            pc, ack = await offer_camera(a.sio, track)
            assert ack["ok"], ack
            await watcher.wait_poses(own(a)["slot"], 20, within=15)
            session = srv.app[TRACKING_KEY].camera.sessions[a.ack["self"]]
            stats = session.stats
            assert stats.max_pending <= 1
            assert stats.received > 2 * stats.tracked, (stats.received, stats.tracked)
            assert stats.dropped > 0
            latencies = np.array(stats.latencies_ms)
            # Waiting for the worker (at most one frame's work) plus the work itself.
            assert np.percentile(latencies, 95) < 2 * work * 1000 + 60, latencies
            assert latencies.max() < 2 * work * 1000 + 150, latencies
            # /metrics has every tracked frame in its histogram, in seconds: none faster than
            # the 120 ms of work, all within 0.5 s.
            tracked = stats.tracked
            async with aiohttp.ClientSession() as http, http.get(srv.url + "/metrics") as resp:
                scraped = parse(await resp.text())
            count = scraped.value("hiroba_tracker_seconds_count")
            assert count >= tracked > 0
            assert scraped.value("hiroba_tracker_seconds_bucket", le="0.1") == 0
            assert scraped.value("hiroba_tracker_seconds_bucket", le="0.5") == count
            assert work <= scraped.value("hiroba_tracker_seconds_sum") / count < 0.5
        finally:
            if watcher is not None:
                await watcher.close()
            if pc is not None:
                await pc.close()
            for c in (a, viewer):
                if c is not None:
                    await c.close()


async def test_poses_are_paced_by_server_tracking_fps(settings, no_blocking) -> None:
    from tests.conftest import Client

    slow = replace(settings, server_tracking_fps=5.0)
    async with running_server(slow, pipeline_factory=lambda: SlowPipeline(0.0)) as srv:
        a = None
        pc = None
        try:
            a = await member(srv, lambda: Client(srv.url).connect(), "速い端末")
            pc, ack = await offer_camera(a.sio, FramesTrack(gray_frames(), 30))
            assert ack["ok"], ack
            await asyncio.sleep(2.5)
            stats = srv.app[TRACKING_KEY].camera.sessions[a.ack["self"]].stats
            assert 8 <= stats.tracked <= 14, stats.tracked  # ~5 a second
            assert stats.received >= 50
        finally:
            if pc is not None:
                await pc.close()
            if a is not None:
                await a.close()
