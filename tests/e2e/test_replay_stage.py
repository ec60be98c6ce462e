"""The replay opens on the room as it was and says who has the floor (issue 15, defect 11).

A recording made with the recorder the way a live one starts: the people present and the
procedure as it stands are logged at t = 0 (``meeting.present`` with slot and look, the
open agenda item, ``floor.given``), while the motion plane's first positions and poses come
0.4 s later. At t = 0 the page draws everyone present; the line over the stage names the
floor holder with their role, in the page's language, and who is speaking, following
seeks and playback. The page's landmarks and names: one ``main``, the chapters a named
``nav``, chapter buttons named by what they show, no ``role=log`` on the list.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from avatar import codec
from avatar.pose import Pose, TrackingState
from bench.clients.chromium import PHONE
from bench.clients.recording_media import opus_packets
from server.app import RECORDINGS_KEY
from server.config.settings import Settings
from server.recording.event_log import EventKind
from server.recording.ids import new_recording_id
from server.recording.recorder import Manifest, Recorder
from tests.conftest import ROOT, Server
from tests.e2e.conftest import open_page
from tests.e2e.test_replay import FakeClock
from tests.meetings import COMMITTEE

JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text())
SECONDS = 7
LOOK = {"body": "#0f766e", "hair": "bun", "accessory": "glasses"}
PEOPLE = {5: ("p-tanaka", "田中委員", "member"), 6: ("p-suzuki", "鈴木委員", "chair"),
          40: ("p-sakura", "さくら", "citizen")}
FIRST_MOTION_MS = 400


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, client_dev=True)


def _record_blocking(root: Path) -> Manifest:
    clock = FakeClock()
    rid = new_recording_id()
    rec = Recorder(root / rid, rid, COMMITTEE, "第5回DX推進委員会", clock=clock)
    rec.start()
    # What the recording service logs at its start (server/recording/service.py).
    for slot, (pid, name, role) in PEOPLE.items():
        rec.feed_event(EventKind.JOIN, {"type": "meeting.present", "pid": pid, "pid_name": name,
                                        "pid_role": role, "place": "room", "slot": slot,
                                        "avatar": LOOK})
    rec.feed_event(EventKind.AGENDA, {"type": "agenda.opened", "item_id": 1, "title": "開会",
                                      "planned": 60})
    rec.feed_event(EventKind.FLOOR, {"type": "floor.given", "pid": "p-tanaka",
                                     "pid_name": "田中委員", "pid_role": "member"})
    first = opus_packets(3.0)
    second = opus_packets(2.0, freq=330.0)
    for step in range(SECONDS * 100):  # 10 ms steps
        t = step * 10
        clock.ms = 1_000_000 + t
        if t % 20 == 0:
            i = t // 20
            if i < len(first):
                rec.feed_audio("p-tanaka", first[i], i * 960)
            j = (t - 4000) // 20
            if t >= 4000 and j < len(second):
                rec.feed_audio("p-suzuki", second[j], j * 960)
        if t >= FIRST_MOTION_MS and t % 100 == 0:
            for slot in (5, 6):
                pose = Pose(t, TrackingState.TRACKED, roll=slot + t / 1000)
                rec.feed_pose(slot, codec.encode(pose))
            rec.feed_positions([(5, -150, -1000, 31416), (6, 150, -1000, 31416),
                                (40, 0, 500, 31415)])
        if t == 3500:
            rec.feed_event(EventKind.FLOOR, {"type": "floor.ended", "pid": "p-tanaka"})
        if t == 4000:
            rec.feed_event(EventKind.FLOOR, {"type": "floor.given", "pid": "p-suzuki",
                                             "pid_name": "鈴木委員", "pid_role": "chair"})
        if step % 100 == 0:
            time.sleep(0.02)  # let the worker keep up (its queue is bounded)
    clock.ms = 1_000_000 + SECONDS * 1000
    return rec.stop()


async def _opened(server: Server, browser: Browser) -> Page:
    service = server.app[RECORDINGS_KEY]
    manifest = await asyncio.to_thread(_record_blocking, service.root)
    await service.index.add(manifest, "jimu")
    await service.index.finish(manifest)
    await service.index.set_published(manifest.id, True, time.time())
    page, _ = await open_page(browser, f"{server.url}/replay?id={manifest.id}", **PHONE)
    await page.wait_for_function("() => window.hiroba?.replay().ready", timeout=20_000)
    return page


async def replay(page: Page) -> dict[str, Any]:
    return await page.evaluate("() => window.hiroba.replay()")  # type: ignore[no-any-return]


async def seek(page: Page, t: float) -> dict[str, Any]:
    await page.evaluate("(t) => window.hiroba.seek(t)", t)
    return await replay(page)


async def test_the_stage_at_the_start_and_who_has_the_floor(
    server: Server, browser: Browser
) -> None:
    page = await _opened(server, browser)
    state = await replay(page)
    assert state["t"] == 0 and not state["playing"]
    # Everyone present at the start is drawn before the motion log's first record.
    drawn = {a["slot"]: a for a in state["avatars"]}
    assert set(drawn) == set(PEOPLE), state["avatars"]
    assert drawn[5]["stage"] and drawn[6]["stage"] and not drawn[40]["stage"]
    assert drawn[5]["name"] == "田中委員"
    # The floor holder, with the role in the page's language, and their voice.
    floor = await page.text_content("#replay-floor") or ""
    assert "田中委員" in floor and JA["role.member"] in floor, floor
    assert state["floor"] == "p-tanaka" and state["speaking"] == ["p-tanaka"]
    assert "田中委員" in (await page.text_content("#replay-speaking") or "")

    state = await seek(page, 3.8)  # between the turns
    assert state["floor"] is None and state["speaking"] == []
    assert await page.text_content("#replay-floor") == JA["replay.floorNone"]
    state = await seek(page, 4.5)
    assert state["floor"] == "p-suzuki"
    await page.select_option("#replay-lang", "en")
    await page.wait_for_function(
        "() => document.getElementById('replay-floor').textContent"
        " === 'Has the floor: 鈴木委員 (chair)'", timeout=3000)

    # Playing updates it: from 3.0 s the floor passes from nobody to the second member.
    await seek(page, 3.0)
    await page.click("#replay-play")
    await page.wait_for_function(
        "() => document.getElementById('replay-floor').textContent === 'Nobody has the floor'",
        timeout=5000)
    await page.wait_for_function(
        "() => window.hiroba.replay().floor === 'p-suzuki'", timeout=5000)
    assert "鈴木委員" in (await page.text_content("#replay-floor") or "")


async def test_replay_landmarks_and_names(server: Server, browser: Browser) -> None:
    page = await _opened(server, browser)
    assert await page.get_by_role("main").count() == 1
    assert await page.get_by_role("navigation", name=JA["replay.chapters"]).count() == 1
    assert await page.get_by_role("region", name=JA["replay.log"]).count() == 1
    # A list is a list: role=log on it made screen readers treat it as live.
    assert await page.locator("[role=log]").count() == 0
    # Each chapter button's accessible name contains what it shows (label in name).
    buttons = page.locator("#replay-chapters button")
    assert await buttons.count() == 1
    label = (await buttons.first.text_content() or "").strip()
    assert label == "0:00 開会"
    assert await page.get_by_role("button", name=label).count() == 1
