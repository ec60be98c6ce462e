"""The plaza page with a screen reader (issue 15, defect 7): chat is announced through the
polite live region whatever tab is open, with only author and text; Escape closes the
meeting panel and gives the focus back to its opener; raising a hand leaves the focus on
a control, not on <body>; the 操作方法 (controls) group has a name.

The page runs from web_client/'s sources (client_dev), as in test_meeting_lists.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.config.settings import Settings
from tests.conftest import Client
from tests.e2e.test_meeting import JA, SMALL, enter, panel
from tests.meetings import CONSULTATION, participant

ON_BODY = "() => document.activeElement === document.body"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, client_dev=True)


async def test_chat_is_announced_with_the_chat_tab_closed(server, browser) -> None:
    made: list[Client] = []
    page, watch = await enter(browser, server, "あおい", CONSULTATION, **SMALL)
    assert await page.is_hidden("#meeting-panel")
    other = await participant(server, made, "ひかる", CONSULTATION)
    # Her entrance is announced first (it comes with the room's next delta); only then
    # the chat, so that the live region's last words are the chat's.
    await page.wait_for_function(
        "(t) => document.getElementById('live').textContent.includes(t)",
        arg=JA["live.joined"].format(names="ひかる"), timeout=5_000)
    await other.act("chat:send", {"text": "ベンチの件で一言"})
    spoken = await page.wait_for_function(
        "() => { const t = document.getElementById('live').textContent;"
        " return t.includes('ベンチの件で一言') && t; }", timeout=5_000)
    said = await spoken.json_value()
    assert said == JA["live.chat"].format(name="ひかる", text="ベンチの件で一言"), said
    assert JA["chat.report"] not in said
    # The chat list itself stays quiet: it would say each message (and its button) again.
    await panel(page, "chat")
    assert await page.get_attribute("#chat-list", "aria-live") == "off"
    # The help group (操作方法) has an accessible name.
    assert await page.get_by_role("group", name=JA["hud.help"]).count() == 1
    assert not watch.errors, watch.errors
    for c in made:
        await c.sio.disconnect()


async def test_escape_closes_the_panel_and_the_focus_stays_on_a_control(server,
                                                                        browser) -> None:
    page, watch = await enter(browser, server, "あおい", CONSULTATION, **SMALL)
    await page.focus("#meeting-toggle")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#meeting-panel:not([hidden])")
    await page.focus("#tab-floor")
    await page.keyboard.press("Escape")
    assert await page.is_hidden("#meeting-panel"), "Escape does not close the panel"
    assert await page.evaluate("() => document.activeElement.id") == "meeting-toggle"
    assert await page.get_attribute("#meeting-toggle", "aria-expanded") == "false"

    await page.keyboard.press("Enter")
    await panel(page, "floor")
    await page.focus("#hand-raise")
    await page.keyboard.press("Enter")
    await page.wait_for_function("() => window.hiroba.meeting().position === 1")
    await page.wait_for_function("() => document.getElementById('hand-raise').hidden")
    assert not await page.evaluate(ON_BODY), "raising a hand dropped the focus"
    assert await page.evaluate("() => document.activeElement.id") == "hand-lower"
    await page.keyboard.press("Enter")
    await page.wait_for_function("() => window.hiroba.meeting().position === null")
    await page.wait_for_function("() => !document.getElementById('hand-raise').hidden")
    assert await page.evaluate("() => document.activeElement.id") == "hand-raise"
    assert not watch.errors, watch.errors
