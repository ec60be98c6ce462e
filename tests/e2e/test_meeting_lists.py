"""The meeting panel's lists update in place (issue 15, defect 1): another person's vote,
chat message or support changes only their own item, so a citizen's checked but unsent
poll choice, the focus and the text being typed stay; names of members and staff carry
a visible role badge (issue 14, finding 6).

The page runs from web_client/'s sources (client_dev): what is tested is the code as it
stands, not a build made earlier.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from rooms.model import Role
from server.config.settings import Settings
from server.console.routes import MEETINGS_KEY
from tests.conftest import Client
from tests.e2e.test_meeting import JA, SMALL, enter, panel
from tests.meetings import COMMITTEE, CONSULTATION, add_staff, admitted, console, participant


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, client_dev=True)


async def test_a_checked_choice_focus_and_typed_text_survive_others_updates(server,
                                                                            browser) -> None:
    await add_staff(server)
    made: list[Client] = []
    staff = await console(server, made, CONSULTATION)
    poll = (await staff.act("poll:create", {"question": "夜間照明は?",
                                            "options": ["LED", "現状", "未定"]}))["poll"]
    page, watch = await enter(browser, server, "あおい", CONSULTATION, **SMALL)
    await panel(page, "chat")
    await page.fill("#chat-text", "書きかけの")
    await panel(page, "polls")
    choice = page.locator("#poll-list form.ballot input").nth(1)
    await choice.focus()
    await page.keyboard.press("Space")  # a keyboard user picks 現状, not sent yet
    assert await choice.is_checked()

    other = await participant(server, made, "ひかる", CONSULTATION)
    await other.act("poll:vote", {"poll": poll, "choices": [0]})
    await other.act("chat:send", {"text": "こんにちは"})
    await page.wait_for_function(
        "(id) => window.hiroba.meeting().polls.some(p => p.id === id && p.counts[0] === 1)",
        arg=poll)
    await page.wait_for_function("() => window.hiroba.meeting().chat.includes('こんにちは')")
    assert await choice.is_checked(), "another person's vote wiped the choice"
    assert await choice.evaluate("(e) => e === document.activeElement"), "focus thrown away"
    await panel(page, "chat")
    assert await page.input_value("#chat-text") == "書きかけの"

    # The citizen sends the choice: the focus stays on the ballot's button, not <body>.
    await panel(page, "polls")
    send = page.locator("#poll-list form.ballot button[type=submit]")
    await send.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "(id) => window.hiroba.meeting().polls.some(p => p.id === id && p.counts[1] === 1)",
        arg=poll)
    await page.wait_for_function(
        "(label) => document.activeElement.textContent === label", arg=JA["poll.change"])
    assert await choice.is_checked()
    assert not watch.errors, watch.errors
    for c in made:
        await c.sio.disconnect()


async def test_a_members_chat_message_shows_the_role_badge(server, browser) -> None:
    await add_staff(server)
    made: list[Client] = []
    staff = await console(server, made, COMMITTEE)
    member = await admitted(server, made, staff, "佐藤委員", Role.MEMBER)
    page, watch = await enter(browser, server, "さくら", COMMITTEE, wait="lobby", **SMALL)
    lobby = server.app[MEETINGS_KEY].meetings[COMMITTEE].lobby
    target = next(w.pid for w in lobby.waiting() if w.name == "さくら")
    await staff.act("lobby:admit", {"target": target})
    await page.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
    await member.act("chat:send", {"text": "本日はよろしくお願いします"})
    await page.wait_for_function(
        "() => window.hiroba.meeting().chat.includes('本日はよろしくお願いします')")
    await panel(page, "chat")
    rows = page.locator("#chat-list li")
    assert await rows.count() == 1
    badge = rows.first.locator(".role-badge")
    assert await badge.count() == 1, "a member's name shows no role"
    assert await badge.text_content() == JA["role.member"]
    assert await badge.is_visible()
    # The same in the floor's queue when the member raises a hand.
    await member.act("hand:raise", {})
    await panel(page, "floor")
    queued = page.locator("#queue-list li", has_text="佐藤委員").locator(".role-badge")
    await queued.wait_for()
    assert await queued.text_content() == JA["role.member"]
    assert not watch.errors, watch.errors
    for c in made:
        await c.sio.disconnect()
