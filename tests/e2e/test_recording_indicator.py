"""Recording in Chromium: staff start it from the console; a citizen is told on the join
screen before entering, sees the indicator in the room, and sees it go when it stops."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import Browser

from tests.conftest import ROOT
from tests.e2e.conftest import open_page
from tests.e2e.test_meeting import SMALL, errors, meeting, staff_console
from tests.meetings import CONSULTATION, add_staff

JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text())


async def test_recording_indicator(server: Any, browser: Browser) -> None:
    await add_staff(server)
    console, console_watch = await staff_console(browser, server, CONSULTATION)
    assert (await console.text_content("#rec-toggle")) == JA["console.recordStart"]
    await console.click("#rec-toggle")
    await console.wait_for_function("() => window.hiroba.console().recording")
    assert (await console.text_content("#rec-toggle")) == JA["console.recordStop"]

    page, watch = await open_page(browser, server.url + "/", **SMALL)
    await page.fill("#join-name", "あおい")
    await page.wait_for_function(
        "(room) => [...document.querySelectorAll('#join-room option')].some(o => o.value === room)",
        arg=CONSULTATION)
    await page.select_option("#join-room", CONSULTATION)
    note = page.locator("#join-recording")
    await note.wait_for(state="visible")
    assert (await note.text_content()) == JA["join.recording"], "told before entering"
    option = await page.text_content(f"#join-room option[value='{CONSULTATION}']") or ""
    assert JA["join.recordingMark"] in option

    await page.click("#join-submit")
    await page.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
    assert (await meeting(page))["recording"] is True
    badge = page.locator("#recording-badge")
    assert await badge.is_visible() and await badge.get_attribute("role") == "status"
    assert JA["recording.on"] in (await badge.text_content() or "")

    await console.click("#rec-toggle")
    await page.wait_for_function("() => window.hiroba.meeting().recording === false")
    assert not await badge.is_visible()
    assert not errors(console_watch) and not watch.errors, (console_watch.errors, watch.errors)
