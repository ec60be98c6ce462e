"""The first phone screen after joining (issue 15, defect 10, plaza page): a pointer to the
meeting panel, the own avatar in view between the HUD and the joystick, the status lines
and the default opinion categories in the chosen language, and a posted opinion confirmed
with its card fully in view."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import Browser

from rooms.model import Role
from tests.conftest import ROOT, Client
from tests.e2e.conftest import shot
from tests.e2e.test_layout_phone import PHONE_1X
from tests.e2e.test_meeting import enter
from tests.meetings import CONSULTATION, add_staff, admitted, console

EN = json.loads((ROOT / "web_client/i18n/en.json").read_text())
JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text())


async def test_first_phone_screen(server: Any, browser: Browser) -> None:
    page, watch = await enter(browser, server, "さくら", "park-consultation", **PHONE_1X)
    hint = page.locator("#meeting-hint")
    assert await hint.is_visible(), "a first-time pointer to the meeting panel"
    live = await page.text_content("#live") or ""
    assert JA["hint.meetingPanel"] in live, "and it is announced"
    # the own avatar is drawn in the free band between the HUD and the joystick
    await page.wait_for_function("() => window.hiroba.state().selfOnScreen")
    await page.wait_for_timeout(300)
    me = (await page.evaluate("() => window.hiroba.state()"))["selfOnScreen"]
    await shot(page, "first-screen-phone")
    band = await page.evaluate(
        "() => [document.getElementById('hud').getBoundingClientRect().bottom,"
        " document.getElementById('joystick').getBoundingClientRect().top]")
    assert band[0] < me["y"] < band[1] and 40 < me["x"] < 350, (me, band)

    await page.select_option("#hud-lang", "en")
    await page.wait_for_function(
        "(t) => document.getElementById('face-status').textContent === t",
        arg=EN["face.status.off"])
    await page.click("#meeting-hint-ok")
    assert await hint.is_hidden()
    await page.click("#meeting-toggle")
    await page.click("#tab-opinions")
    options = await page.locator("#opinion-category option").all_text_contents()
    assert EN["category.遊具"] in options, options
    await page.select_option("#opinion-category", "遊具")
    await page.fill("#opinion-text", "ベンチを増やしてください\n" * 3)
    await page.click("#opinion-submit")
    await page.wait_for_function(
        "(t) => document.getElementById('opinion-status').textContent === t",
        arg=EN["opinion.thanks"])
    inside = await page.evaluate("""() => {
      const card = [...document.querySelectorAll('#opinion-list li.card')].find(
        (li) => li.textContent.includes('ベンチ'));
      const c = card.getBoundingClientRect();
      const p = document.getElementById('meeting-panel').getBoundingClientRect();
      return c.top >= p.top - 1 && c.bottom <= p.bottom + 1;
    }""")
    assert inside, "the new card is fully in view"
    assert not watch.errors, watch.errors


async def test_banner_names_a_members_role(server: Any, browser: Browser) -> None:
    """The speaker banner carries the role badge of anyone but a citizen (defect 6)."""
    await add_staff(server)
    made: list[Client] = []
    staff = await console(server, made, CONSULTATION)
    try:
        page, watch = await enter(browser, server, "見る人", CONSULTATION, **PHONE_1X)
        member = await admitted(server, made, staff, "田中委員", Role.MEMBER, CONSULTATION)
        await page.wait_for_function(
            "() => window.hiroba.state().participants.some(p => p.name === '田中委員')")
        await staff.act("floor:give", {"target": member.ack["self"], "limit": 60})
        await page.wait_for_function("() => window.hiroba.meeting().floorState === 'speaking'")
        await page.wait_for_function(
            "(t) => document.getElementById('floor-role')?.textContent === t",
            arg=JA["role.member"], timeout=3_000)
        assert await page.is_visible("#floor-role")
        assert "田中委員" in (await page.text_content("#floor-text") or "")
        assert not watch.errors, watch.errors
    finally:
        for c in made:
            await c.close()
