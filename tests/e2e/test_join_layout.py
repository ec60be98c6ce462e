"""The join page holds still while it loads (issue 15, defect 12) and shows its join button
without scrolling on a laptop and a phone (defect 5).

Cumulative layout shift is measured as Lighthouse does, from the browser's own
``layout-shift`` entries (a PerformanceObserver installed before the page's scripts run),
while the room list answers late: the labels (translations) and the room list arrive
after the first paint, and nothing may move when they do.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest
from playwright.async_api import Browser, Route

from tests.conftest import ROOT
from tests.meetings import COMMITTEE, add_staff, console

pytestmark = pytest.mark.e2e

#: How late the room list answers: long enough that the page has painted without it.
ROOMS_DELAY = 1.2
OBSERVE = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (!e.hadRecentInput) window.__shifts.push({ value: e.value, at: e.startTime,
      nodes: (e.sources || []).map((s) => s.node
        ? (s.node.id || s.node.className || s.node.nodeName) : '?') });
  }
}).observe({ type: 'layout-shift', buffered: true });
"""
JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text())
LAPTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # The sources as they are, not a build another change may be making at the same time.
    return replace(settings, client_dev=True)


async def load_slowly(browser: Browser, url: str,
                      **context: Any) -> tuple[Any, list[dict[str, Any]]]:
    ctx = await browser.new_context(**context)
    page = await ctx.new_page()
    await page.add_init_script(OBSERVE)

    async def late(route: Route) -> None:
        await asyncio.sleep(ROOMS_DELAY)
        await route.continue_()

    await page.route("**/api/rooms", late)
    await page.goto(url)
    await page.wait_for_function("() => document.querySelectorAll('#join-room option').length > 0",
                                 timeout=10_000)
    await page.wait_for_timeout(400)  # what the arrival moves is reported within a frame or two
    shifts = await page.evaluate("() => window.__shifts")
    return page, shifts


@pytest.mark.parametrize("context", [PHONE, LAPTOP], ids=["phone", "laptop"])
async def test_the_join_page_does_not_shift(server: Any, browser: Browser,
                                            context: dict[str, Any]) -> None:
    page, shifts = await load_slowly(browser, server.url + "/", **context)
    cls = sum(s["value"] for s in shifts)
    assert cls < 0.1, f"CLS {cls:.3f}: {shifts}"
    # and the join button is on the first screen, unscrolled
    box = await page.locator("#join-submit").bounding_box()
    height = context["viewport"]["height"]
    assert box is not None and box["y"] + box["height"] <= height, (box, height)
    assert await page.evaluate("() => window.scrollY") == 0


async def test_the_meeting_on_now_is_chosen_and_described(server: Any, browser: Browser,
                                                          made: list[Any]) -> None:
    """Defect 10: the join page does not default to the general plaza when a meeting is on;
    it names the meeting, its kind and since when, in the city's zone."""
    await add_staff(server)
    staff = await console(server, made, COMMITTEE)
    await staff.act("recording:start", {"room": COMMITTEE})
    try:
        ctx = await browser.new_context(**PHONE, timezone_id="America/New_York")
        page = await ctx.new_page()
        await page.goto(server.url + "/")
        await page.wait_for_function(
            "(room) => document.getElementById('join-room').value === room", arg=COMMITTEE)
        text = await page.text_content("#join-meeting") or ""
        rooms = await page.evaluate("async () => (await (await fetch('/api/rooms')).json()).rooms")
        committee = next(r for r in rooms if r["id"] == COMMITTEE)
        assert committee["name"]["ja"] in text and JA["join.onNow"] in text, text
        tokyo = await page.evaluate(
            """(at) => new Intl.DateTimeFormat('ja', { dateStyle: 'medium', timeStyle: 'short',
                 timeZone: 'Asia/Tokyo' }).format(new Date(at * 1000))""",
            committee["starts_at"])
        assert tokyo in text, (tokyo, text)
    finally:
        await staff.act("recording:stop", {"room": COMMITTEE})
