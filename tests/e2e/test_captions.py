"""Captions on the plaza page (issue 15, defect 2): they fade after a quiet spell, their
history is one tap away, and they do not follow the person into another room."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser

from tests.conftest import Client
from tests.e2e.test_layout_phone import PHONE_1X
from tests.e2e.test_meeting import enter
from tests.meetings import CONSULTATION, add_staff, console


async def test_captions_fade_keep_a_history_and_stay_in_their_room(server: Any,
                                                                   browser: Browser) -> None:
    await add_staff(server)
    made: list[Client] = []
    staff = await console(server, made, CONSULTATION)
    try:
        page, watch = await enter(browser, server, "あおい", CONSULTATION, **PHONE_1X)
        await staff.act("caption:post", {"text": "公園の夜間照明について説明します。"})
        await page.wait_for_function("() => window.hiroba.meeting().captions.length === 1")
        box = page.locator("#captions")
        assert "夜間照明" in (await box.text_content() or "")
        assert await page.evaluate(
            "() => !document.getElementById('captions').classList.contains('faded')")
        # fades after the quiet spell (8 s): waited for, not slept
        await page.wait_for_function(
            "() => document.getElementById('captions').classList.contains('faded')", timeout=12_000)
        # the history is one tap away
        await page.click("#captions-more")
        await page.wait_for_selector("#panel-captions:not([hidden])")
        assert "夜間照明" in (await page.text_content("#captions-log") or "")
        # another room: nothing of the old captions comes along
        await page.click("#hud-leave")
        await page.wait_for_selector("#join-screen:not([hidden])")
        await page.select_option("#join-room", "plaza")
        await page.click("#join-submit")
        await page.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
        assert (await box.text_content() or "") == ""
        assert (await page.text_content("#captions-log") or "") == ""
        assert not watch.errors, watch.errors
    finally:
        for c in made:
            await c.close()
