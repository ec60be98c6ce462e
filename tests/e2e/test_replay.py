"""The replay page in Chromium (issue 6 "Replay"): a real recording made with the
recorder (known poses for two stage avatars, a speaker's voice, agenda, captions, chat),
published through the index, opened at /replay on a phone-sized page. Seeking to a time
draws the stage avatars with the poses the recording holds then (read back through
``window.hiroba.replay()`` and compared with server/recording/motion_log.py); playing at
1× keeps the audio and the page's clock together (the measured drift is printed); an
unpublished recording shows "not available" and fetches nothing."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Request

from avatar import codec
from avatar.pose import Pose, TrackingState
from bench.clients.chromium import PHONE
from bench.clients.recording_media import opus_packets
from server.app import RECORDINGS_KEY
from server.recording.event_log import EventKind
from server.recording.ids import new_recording_id
from server.recording.motion_log import KIND_POSE, MotionLog
from server.recording.recorder import MOTION, Manifest, Recorder
from tests.conftest import ROOT, Server
from tests.e2e.conftest import open_page, shot
from tests.meetings import COMMITTEE

JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text())
SECONDS = 12
STAGE = {5: ("p-tanaka", "田中委員"), 6: ("p-suzuki", "鈴木委員")}
#: Heading pi (1e-4 rad): seated members face the audience (rooms/layouts.py).
FACING = 31416
#: Interpolated angles may differ from the linear expectation by the records' rounding.
TOLERANCE_DEG = 0.05


def angles(slot: int, t_ms: int) -> tuple[float, float, float]:
    """Known head angles: linear in time between records, different per slot."""
    return (slot * 3 + t_ms / 1000, -10 + t_ms / 1500, slot - t_ms / 800)


class FakeClock:
    """The recorder's monotonic clock, advanced by the test: exact, repeatable times."""

    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> float:
        return self.ms / 1000


def _record_blocking(root: Path) -> Manifest:
    clock = FakeClock()
    rid = new_recording_id()
    rec = Recorder(root / rid, rid, COMMITTEE, "第4回DX推進委員会", clock=clock)
    rec.start()
    for slot, (pid, name) in STAGE.items():
        rec.feed_event(EventKind.JOIN, {"type": "meeting.present", "pid": pid, "pid_name": name,
                                        "pid_role": "member", "place": "room", "slot": slot,
                                        "avatar": {"body": "#0f766e", "hair": "bun",
                                                   "accessory": "glasses"}})
    # The first member speaks for the first half, the second one for the second half:
    # two files that both span the whole recording.
    packets = opus_packets(SECONDS / 2)
    later = opus_packets(SECONDS / 2 - 0.5, freq=330.0)
    for step in range(SECONDS * 100):  # 10 ms steps
        t = step * 10
        clock.ms = 1_000_000 + t
        if t % 20 == 0:
            i = t // 20
            if i < len(packets):
                rec.feed_audio("p-tanaka", packets[i], i * 960)
            j = i - len(packets)
            if 0 <= j < len(later):
                rec.feed_audio("p-suzuki", later[j], 12345 + j * 960)
        if t % 50 == 0:
            for slot in STAGE:
                roll, pitch, yaw = angles(slot, t)
                rec.feed_pose(slot, codec.encode(Pose(t, TrackingState.TRACKED, roll=roll,
                                                      pitch=pitch, yaw=yaw)))
            rec.feed_positions([(5, -150, -1000, FACING), (6, 150, -1000, FACING),
                                (40, t // 20, 500, 31415)])
        if t == 1000:
            rec.feed_event(EventKind.AGENDA, {"type": "agenda.opened", "item_id": 1,
                                              "title": "開会", "planned": 60})
            rec.feed_event(EventKind.FLOOR, {"type": "floor.given", "pid": "p-tanaka"})
        if t == 2000:
            line = {"seq": 1, "text": "ただいまより開会します"}
            rec.feed_event(EventKind.CAPTION, {"type": "caption.posted", "line": line})
        if t == 3000:
            rec.feed_event(EventKind.CHAT, {"type": "chat.posted", "message": {
                "id": 1, "author_name": "さくら", "text": "よろしくお願いします"}})
        if t == 7000:
            rec.feed_event(EventKind.AGENDA, {"type": "agenda.opened", "item_id": 2,
                                              "title": "デジタル推進計画", "planned": 300})
        if step % 100 == 0:
            time.sleep(0.02)  # let the worker keep up (its queue is bounded)
    clock.ms = 1_000_000 + SECONDS * 1000
    return rec.stop()


async def recording(server: Server, *, published: bool) -> str:
    service = server.app[RECORDINGS_KEY]
    manifest = await asyncio.get_running_loop().run_in_executor(
        None, _record_blocking, service.root)
    await service.index.add(manifest, "jimu")
    await service.index.finish(manifest)
    if published:
        await service.index.set_published(manifest.id, True, time.time())
    return manifest.id


def expected(log: MotionLog, slot: int, t_ms: int) -> tuple[float, float, float]:
    """The recorded pose of ``slot`` at ``t_ms``: state_at's record, interpolated linearly
    toward the next one (what the page does between records)."""
    state = log.state_at(t_ms)
    a = codec.decode(state.poses[slot])
    ta = state.pose_times[slot]
    later = [(t, p) for kind, t, s, p in log.records()
             if kind == KIND_POSE and s == slot and t > ta and isinstance(p, bytes)]
    if not later or t_ms == ta:
        return a.roll, a.pitch, a.yaw
    tb, rb = later[0]
    b = codec.decode(rb)
    f = (t_ms - ta) / (tb - ta)
    return tuple(x + (y - x) * f for x, y in  # type: ignore[return-value]
                 ((a.roll, b.roll), (a.pitch, b.pitch), (a.yaw, b.yaw)))


async def replay(page: Any) -> dict[str, Any]:
    return await page.evaluate("() => window.hiroba.replay()")  # type: ignore[no-any-return]


async def test_replay_draws_the_recorded_poses_in_sync(server: Server, browser: Browser) -> None:
    rid = await recording(server, published=True)
    folder = server.app[RECORDINGS_KEY].root / rid
    log = await asyncio.to_thread(MotionLog.open, folder / MOTION)

    page, watch = await open_page(browser, f"{server.url}/replay?id={rid}", **PHONE)
    await page.wait_for_function("() => window.hiroba?.replay().ready", timeout=20_000)
    state = await replay(page)
    assert abs(state["duration"] - SECONDS) < 0.2 and state["playing"] is False
    assert [c["title"] for c in state["chapters"]] == ["開会", "デジタル推進計画"]
    assert await page.text_content("#replay-title") == "第4回DX推進委員会"

    # Seek (paused) to a time between two pose records: the drawn poses are the recording's.
    for t in (4.025, 8.5):
        await page.evaluate("(t) => window.hiroba.seek(t)", t)
        state = await replay(page)
        assert abs(state["t"] - t) < 1e-6
        stage = {a["slot"]: a for a in state["avatars"] if a["stage"]}
        assert set(stage) == set(STAGE), state["avatars"]
        for slot, (_pid, name) in STAGE.items():
            got = stage[slot]
            want = expected(log, slot, round(t * 1000))
            assert got["name"] == name
            for key, value in zip(("roll", "pitch", "yaw"), want, strict=True):
                assert abs(got[key] - value) < TOLERANCE_DEG, (t, slot, key, got, want)
            assert (got["x"], got["z"]) == ((slot - 5.5) * 3, -10)
        assert any(not a["stage"] for a in state["avatars"]), "plaza positions drawn too"
    # At 4.025 s the caption posted at 2 s is on screen, and chat is in the log.
    await page.evaluate("() => window.hiroba.seek(2.5)")
    assert (await replay(page))["captions"] == ["ただいまより開会します"]
    await page.evaluate("() => window.hiroba.seek(3.5)")
    await page.wait_for_function("() => document.querySelectorAll('#replay-log li').length === 2")
    # A chapter jumps there.
    await page.click("#replay-chapters li:nth-child(2) button")
    assert abs((await replay(page))["t"] - 7.0) < 0.05

    # Play from 5 s (both voices' files) at 1x for ~2 s: every voice against the clock
    # that draws the avatars, and the audio's clock against a monotonic clock.
    await page.evaluate("() => window.hiroba.seek(5)")
    await page.click("#replay-play")
    await page.wait_for_function("() => window.hiroba.replay().playing")
    start = await replay(page)
    await asyncio.sleep(2.0)
    end = await replay(page)
    await shot(page, "replay-phone")
    assert end["playing"] and end["rate"] == 1
    assert len(end["audio"]) == 2 and not any(a["paused"] for a in end["audio"]), end["audio"]
    assert 1.6 < end["t"] - start["t"] < 2.6, (start["t"], end["t"])
    # Past 6 s only the second member's file holds a voice: the ring is theirs.
    speaking = {a["slot"]: a["speaking"] for a in end["avatars"] if a["stage"]}
    assert speaking == {5: False, 6: True}, (end["t"], speaking)
    print(f"\nreplay at 1x for 2 s: voices vs drawn clock now {end['drift_ms']} ms, "
          f"max {end['max_drift_ms']} ms, re-syncs {end['resyncs']}; audio vs monotonic "
          f"clock now {end['wall_drift_ms']} ms, max {end['max_wall_drift_ms']} ms")
    # The re-sync keeps every voice within 50 ms of the clock drawn (plus a frame).
    assert end["max_drift_ms"] < 90, end
    # The audio itself plays in real time (loose: a shared, loaded machine can starve it).
    assert end["max_wall_drift_ms"] < 400, end
    # A voice that strays (a stall, a slow seek) is brought back to the master.
    await page.evaluate("() => { document.querySelectorAll('#replay-audio audio')[1]"
                        ".currentTime += 0.3; }")
    await page.wait_for_function("() => window.hiroba.replay().resyncs >= 1")
    await asyncio.sleep(0.3)
    voices = [a["t"] for a in (await replay(page))["audio"]]
    assert abs(voices[0] - voices[1]) < 0.06, voices
    # Speed: every element follows, and stays in sync at 2x.
    await page.select_option("#replay-rate", "2")
    state = await replay(page)
    assert state["rate"] == 2 and all(a["rate"] == 2 for a in state["audio"])
    await asyncio.sleep(1.0)
    fast = await replay(page)
    print(f"replay at 2x for 1 s: voices vs drawn clock max {fast['max_drift_ms']} ms, "
          f"re-syncs {fast['resyncs']}; audio vs monotonic clock max "
          f"{fast['max_wall_drift_ms']} ms")
    assert fast["max_drift_ms"] < 90, fast
    await page.click("#replay-play")
    await page.wait_for_function("() => !window.hiroba.replay().playing")
    assert await page.text_content("#replay-play") == JA["replay.play"]
    await page.set_viewport_size({"width": 1280, "height": 800})
    await asyncio.sleep(0.3)
    await shot(page, "replay-desktop")
    assert not watch.errors, watch.errors


async def test_an_unpublished_recording_is_not_available(server: Server, browser: Browser) -> None:
    rid = await recording(server, published=False)
    page, watch = await open_page(browser, "about:blank", **PHONE)
    asked: list[str] = []

    def note(request: Request) -> None:
        if "/api/recordings/" in request.url:
            asked.append(request.url)

    page.on("request", note)
    await page.goto(f"{server.url}/replay?id={rid}")
    missing = page.locator("#replay-missing")
    await missing.wait_for(state="visible")
    assert await page.text_content("#replay-missing-text") == JA["replay.missing"]
    assert not await page.locator("#replay").is_visible()
    state = await replay(page)
    assert state["available"] is False and state["ready"] is False and state["avatars"] == []
    assert asked == [f"{server.url}/api/recordings/{rid}"], "only the manifest was asked for"
    # The 404 of the manifest is the expected answer, not a page error.
    assert all("404" in e for e in watch.errors), watch.errors
