"""Two people in Chromium: one walks, the other sees it; a phone walks by touch."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from playwright.async_api import CDPSession, Page

from bench.clients.chromium import PHONE
from tests.e2e.conftest import MotionTraffic, join, open_page, shot, state


def find(st: dict[str, Any], pid: str) -> dict[str, Any] | None:
    return next((p for p in st["participants"] if p["id"] == pid), None)


async def wait_seen(page: Page, pid: str) -> dict[str, Any]:
    await page.wait_for_function(
        "(pid) => window.hiroba.state().participants.some(p => p.id === pid)",
        arg=pid, timeout=5000,
    )
    seen = find(await state(page), pid)
    assert seen is not None
    return seen


async def test_keyboard_walk_is_seen_by_another_page(server, browser) -> None:
    walker, walker_watch = await open_page(browser, server.url)
    viewer, viewer_watch = await open_page(browser, server.url)
    walker_motion, viewer_motion = MotionTraffic(walker), MotionTraffic(viewer)
    me = await join(walker, "歩く人")
    other = await join(viewer, "Viewer")
    walker_id = me["selfId"]
    assert walker_id and other["selfId"] and walker_id != other["selfId"]
    before = await wait_seen(viewer, walker_id)
    assert before["name"] == "歩く人"
    await wait_seen(walker, other["selfId"])

    await walker.locator("#scene").click()
    await walker.keyboard.down("ArrowUp")
    await asyncio.sleep(1.5)
    await walker.keyboard.up("ArrowUp")
    own = find(await state(walker), walker_id)
    assert own is not None
    walked = math.hypot(own["x"] - before["x"], own["z"] - before["z"])
    assert walked > 1.5, f"the walker moved only {walked:.2f} m"

    # The viewer sees the walker arrive where the walker's own page put it.
    await viewer.wait_for_function(
        """([pid, x, z]) => {
            const p = window.hiroba.state().participants.find(q => q.id === pid);
            return p && Math.hypot(p.x - x, p.z - z) < 0.3;
        }""",
        arg=[walker_id, own["x"], own["z"]], timeout=5000,
    )
    # Positions travel on the motion plane only (room:delta carries none by default): the
    # walker's page sent uplinks of its position after the token, the viewer's got frames.
    assert not server.settings.move_deltas
    assert walker_motion.urls == [server.url.replace("http", "ws", 1) + "/motion"]
    assert len(walker_motion.texts) == 1 and set(walker_motion.uplinks) == {8}
    assert len(walker_motion.uplinks) <= 1.5 * 20 * 3, "at most one uplink per tick"
    assert viewer_motion.frames > 0
    await shot(walker, "desktop-walker")
    await shot(viewer, "desktop-viewer")
    assert not walker_watch.errors, walker_watch.errors
    assert not viewer_watch.errors, viewer_watch.errors


async def touch(cdp: CDPSession, kind: str, x: float, y: float) -> None:
    """A real touch event, as a finger on the screen makes it (one CDP session per gesture)."""
    points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
    await cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})


async def test_phone_walks_with_the_joystick_and_by_tapping(server, browser) -> None:
    phone, watch = await open_page(browser, server.url, **PHONE)
    desk, _ = await open_page(browser, server.url)
    me = await join(phone, "スマホ")
    await join(desk, "desk")
    pid = me["selfId"]
    start = await wait_seen(desk, pid)

    stick = phone.locator("#joystick")
    await stick.wait_for(state="visible")
    box = await stick.bounding_box()
    assert box is not None
    assert box["width"] >= 44 and box["height"] >= 44, "thumb-sized"
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = await phone.context.new_cdp_session(phone)
    await touch(cdp, "touchStart", cx, cy)
    for step in range(1, 6):
        await touch(cdp, "touchMove", cx, cy - step * box["height"] / 10)
    await asyncio.sleep(1.5)
    await touch(cdp, "touchEnd", cx, cy)
    await cdp.detach()
    await asyncio.sleep(0.5)
    mid = find(await state(phone), pid)
    assert mid is not None
    assert math.hypot(mid["x"] - start["x"], mid["z"] - start["z"]) > 1.0, "joystick walks"
    await desk.wait_for_function(
        """([pid, x, z]) => {
            const p = window.hiroba.state().participants.find(q => q.id === pid);
            return p && Math.hypot(p.x - x, p.z - z) < 0.3;
        }""",
        arg=[pid, mid["x"], mid["z"]], timeout=5000,
    )
    await shot(phone, "phone-after-joystick")

    # Tap on the ground somewhere above the avatar: it walks there.
    size = phone.viewport_size
    assert size is not None
    await phone.touchscreen.tap(size["width"] * 0.5, size["height"] * 0.35)
    await asyncio.sleep(2.0)
    end = find(await state(phone), pid)
    assert end is not None
    assert math.hypot(end["x"] - mid["x"], end["z"] - mid["z"]) > 0.5, "tap-to-walk moves"
    await shot(phone, "phone-after-tap")
    assert not watch.errors, watch.errors
