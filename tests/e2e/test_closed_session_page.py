"""A closed session (秘密会) as a citizen's page lives it (issue 16): when the chair (a real
socket client) closes the session, the page shows a lasting "秘密会中のため、傍聴はできません
（HH:MM から）" status with nothing to do but leave (no 3D view, no panels, no chat control;
a chat forced through the hidden form is refused by the server, ``closed_session``, said in
words); a second citizen joining meanwhile is held out from its join answer; when the
session reopens both pages are live again without a reload (a chat line sent from the
page appears). Screenshots at 390×844 and 1280×800; axe on the held-out state."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import Browser, Page

from rooms.model import Role
from tests.conftest import ROOT
from tests.e2e import axe
from tests.e2e.conftest import open_page, shot
from tests.meetings import COMMITTEE, add_staff, admitted, console

JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text(encoding="utf-8"))
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

#: What can be acted on (or focused by Tab) in the page, as the person sees it.
ACTIONABLE = """() => [...document.querySelectorAll(
    'button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])')]
  .filter(x => x.checkVisibility() && !x.disabled && !x.closest('[inert]')).map(x => x.id)"""


async def enter(page: Page, staff: Any, name: str) -> None:
    """Join the committee room from the page; staff admit it from the lobby."""
    await page.fill("#join-name", name)
    await page.wait_for_function(
        "(room) => [...document.querySelectorAll('#join-room option')].some(o => o.value === room)",
        arg=COMMITTEE)
    await page.select_option("#join-room", COMMITTEE)
    await page.click("#join-submit")
    await page.wait_for_selector("#lobby-screen:not([hidden]), #closed-screen:not([hidden])",
                                 timeout=20_000)
    waiting = (await staff.act("lobby:list"))["lobby"]
    pid = next(w["pid"] for w in waiting if w["name"] == name)
    await staff.act("lobby:admit", {"target": pid})


async def held_out(page: Page) -> None:
    """The page shows the held-out state, lasting, with only leaving to do."""
    status = page.locator("#closed-status")
    await status.wait_for(state="visible", timeout=20_000)
    assert await status.get_attribute("role") == "status"
    text = await status.text_content() or ""
    assert text.startswith("秘密会中のため、傍聴はできません（") and text.endswith(" から）"), text
    assert await page.locator("#plaza").is_hidden(), "no 3D view, no panels"
    assert await page.evaluate("() => document.getElementById('plaza').inert")
    assert await page.evaluate(ACTIONABLE) == ["closed-leave"]
    assert not await page.locator("#notice").is_visible(), "a lasting state, not a dialog"


async def live(page: Page) -> None:
    await page.wait_for_selector("#closed-screen", state="hidden", timeout=20_000)
    await page.wait_for_function("() => window.hiroba.meeting().closedSince === null")
    assert await page.locator("#plaza").is_visible()


async def test_a_citizen_page_held_out_of_a_closed_session(
    server: Any, browser: Browser, made: list[Any]
) -> None:
    await add_staff(server)
    staff = await console(server, made)
    chair = await admitted(server, made, staff, "山田委員長", Role.CHAIR)

    first, first_watch = await open_page(browser, server.url + "/", viewport=PHONE,
                                         **axe.CONTEXT)
    await enter(first, staff, "さくら")
    await first.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)

    await chair.act("committee:closed_session", {"closed": True, "reason": "個人情報"})
    await held_out(first)
    await shot(first, "closed-session-held-out-phone")
    await axe.check(first, "closed session, held out (phone)")
    # (the same page on a desktop: the room is not drawn while held out, so this is cheap)
    await first.set_viewport_size(DESKTOP)
    await held_out(first)
    await shot(first, "closed-session-held-out-desktop")
    await axe.check(first, "closed session, held out (desktop)")
    await first.set_viewport_size(PHONE)

    # The chat form is still in the page (hidden): a send forced through it is refused by
    # the server and the page says why in words; nothing reaches the chair.
    await first.evaluate("""() => { document.getElementById('chat-text').value = '外からの声';
        document.getElementById('chat-form').requestSubmit(); }""")
    await first.wait_for_function(
        "(t) => document.getElementById('meeting-error').textContent === t",
        arg=JA["error.closed_session"])
    assert "外からの声" not in repr(chair.seen)

    # A second citizen joins during it: held out from the join's answer.
    second, second_watch = await open_page(browser, server.url + "/", viewport=PHONE)
    await enter(second, staff, "あおい")
    await held_out(second)
    assert (await second.evaluate("() => window.hiroba.meeting().closedSince")) is not None

    # Reopened: both pages live again, no reload; a chat line from a page appears.
    await chair.act("committee:closed_session", {"closed": False})
    for page in (first, second):
        await live(page)
    if await second.is_hidden("#meeting-panel"):
        await second.click("#meeting-toggle")
    await second.click("#tab-chat")
    await second.fill("#chat-text", "再開後の質問です")
    await second.click("#chat-send")
    for page in (first, second):
        await page.wait_for_function(
            "(t) => window.hiroba.meeting().chat.includes(t)", arg="再開後の質問です")
    await chair.expect("meeting:event", lambda e: e.get("type") == "chat.posted"
                       and e["message"]["text"] == "再開後の質問です")
    participants = await second.evaluate("() => window.hiroba.state().participants.length")
    assert participants >= 3, "the avatars as they now are (chair, both citizens)"
    assert not first_watch.errors and not second_watch.errors, (
        first_watch.errors, second_watch.errors)
