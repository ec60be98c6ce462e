"""The motion plane's fallback in Chromium: a page on the WebRTC data channel walks and a
page on the WebSocket sees it (and the other way round)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace

import pytest

from server.config.settings import Settings
from tests.e2e.conftest import MotionTraffic, join, open_page, state
from tests.e2e.test_walk import find, wait_seen


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # ICE over loopback host candidates only, no STUN (the machine has no other route).
    return replace(settings, ice_host_addresses=("127.0.0.1",))


async def test_a_page_on_the_data_channel_walks_and_sees(server, browser) -> None:
    walker, walker_watch = await open_page(browser, server.url + "/?motion=datachannel")
    viewer, viewer_watch = await open_page(browser, server.url)
    walker_ws = MotionTraffic(walker)
    me = await join(walker, "データチャネル")
    other = await join(viewer, "WebSocket")
    for page in (walker, viewer):
        await page.wait_for_function("() => window.hiroba.state().motion.ready", timeout=15000)
    assert (await state(walker))["motion"]["transport"] == "datachannel"
    assert (await state(viewer))["motion"]["transport"] == "websocket"
    before = await wait_seen(viewer, me["selfId"])

    await walker.locator("#scene").click()
    await walker.keyboard.down("ArrowUp")
    await asyncio.sleep(1.5)
    await walker.keyboard.up("ArrowUp")
    own = find(await state(walker), me["selfId"])
    assert own is not None
    assert math.hypot(own["x"] - before["x"], own["z"] - before["z"]) > 1.5
    # the uplinks went over the data channel and reached the WebSocket viewer
    await viewer.wait_for_function(
        """([pid, x, z]) => {
            const p = window.hiroba.state().participants.find(q => q.id === pid);
            return p && Math.hypot(p.x - x, p.z - z) < 0.3;
        }""",
        arg=[me["selfId"], own["x"], own["z"]], timeout=5000,
    )
    assert walker_ws.urls == [], "the data-channel page opened no /motion WebSocket"

    # and frames come down the channel: the walker sees the viewer move too
    seen = await wait_seen(walker, other["selfId"])
    await viewer.locator("#scene").click()
    await viewer.keyboard.down("ArrowLeft")
    await asyncio.sleep(1.0)
    await viewer.keyboard.up("ArrowLeft")
    await walker.wait_for_function(
        """([pid, x, z]) => {
            const p = window.hiroba.state().participants.find(q => q.id === pid);
            return p && Math.hypot(p.x - x, p.z - z) > 0.5;
        }""",
        arg=[other["selfId"], seen["x"], seen["z"]], timeout=5000,
    )
    assert not walker_watch.errors, walker_watch.errors
    assert not viewer_watch.errors, viewer_watch.errors
