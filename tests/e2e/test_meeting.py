"""Meetings in Chromium: a committee meeting run from the staff console, a citizens'
consultation with an exported result, and hostile text shown as text.

One browser, several contexts (one per person); software WebGL is slow, so each page
does only what its person does.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import pytest
import socketio
from playwright.async_api import Browser, Page

from bench.clients.chromium import PHONE
from rooms.model import Role
from server.console.routes import MEETINGS_KEY
from tests.conftest import ROOT
from tests.e2e.conftest import PageWatch, fill_name, open_page, shot, state
from tests.meetings import COMMITTEE, CONSULTATION, STAFF_PASSWORD, add_staff, invitation

#: The console asks for the session before login; Chromium logs that 401 as an error.
EXPECTED_401 = "status of 401"
#: Software WebGL draws every pixel on the CPU: pages that only take part stay small.
SMALL = {"viewport": {"width": 480, "height": 600}}
PHONE_1X = {**PHONE, "device_scale_factor": 1}
JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text())


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, floor_grace_seconds=2.0)


def errors(watch: PageWatch) -> list[str]:
    return [e for e in watch.errors if EXPECTED_401 not in e]


async def staff_console(browser: Browser, server: Any, room: str) -> tuple[Page, PageWatch]:
    page, watch = await open_page(browser, server.url + "/console",
                                  viewport={"width": 1024, "height": 1366}, has_touch=True)
    await page.fill("#login-account", "jimu")
    await page.fill("#login-password", STAFF_PASSWORD)
    await page.click("#login-submit")
    await page.click(f"button[data-room='{room}']")
    await page.wait_for_function("() => window.hiroba.console().self")
    return page, watch


async def enter(browser: Browser, server: Any, name: str, room: str, *, query: dict | None = None,
                wait: str = "joined", **context: Any) -> tuple[Page, PageWatch]:
    url = server.url + ("/?" + urlencode(query) if query else "/")
    page, watch = await open_page(browser, url, **context)
    await fill_name(page, name)
    await page.wait_for_function(
        "(room) => [...document.querySelectorAll('#join-room option')].some(o => o.value === room)",
        arg=room)
    await page.select_option("#join-room", room)
    await page.click("#join-submit")
    if wait == "joined":
        await page.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
    else:
        await page.wait_for_selector("#lobby-screen:not([hidden])")
    return page, watch


async def meeting(page: Page) -> dict[str, Any]:
    return await page.evaluate("() => window.hiroba.meeting()")  # type: ignore[no-any-return]


async def console_state(page: Page) -> dict[str, Any]:
    return await page.evaluate("() => window.hiroba.console()")  # type: ignore[no-any-return]


async def panel(page: Page, tab: str) -> None:
    if await page.is_hidden("#meeting-panel"):
        await page.click("#meeting-toggle")
    await page.click(f"#tab-{tab}")


async def admit(console: Page, name: str) -> None:
    await console.click(f"#lobby-list button[aria-label*='{name}']")


async def test_committee_meeting_in_the_browser(server, browser) -> None:
    await add_staff(server)
    console, console_watch = await staff_console(browser, server, COMMITTEE)
    # A member opens their invitation and waits in the lobby until the staff admit them.
    member_link = {"room": COMMITTEE,
                   "token": invitation(server, COMMITTEE, Role.MEMBER, "田中委員")}
    member, member_watch = await enter(browser, server, "x", COMMITTEE, query=member_link,
                                       wait="lobby", **SMALL)
    assert await member.text_content("#lobby-position") == JA["lobby.position"].format(n=1)
    await console.wait_for_function(
        "() => window.hiroba.console().lobby.some(w => w.name === '田中委員')")
    await shot(console, "console-lobby")
    await admit(console, "田中委員")
    await member.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
    me = next(p for p in (await state(member))["participants"] if p["name"] == "田中委員")
    assert me["role"] == "member" and me["seat"], "admitted members sit on the stage"

    # The chair opens agenda item 1 from the chair's tab of the page.
    chair_link = {"room": COMMITTEE,
                  "token": invitation(server, COMMITTEE, Role.CHAIR, "山田委員長")}
    chair, chair_watch = await enter(browser, server, "x", COMMITTEE, query=chair_link, **SMALL)
    await panel(chair, "chair")
    await chair.click("#chair-agenda li:first-child button")
    await chair.wait_for_function("() => window.hiroba.meeting().agenda === '開会'")
    await member.wait_for_function("() => window.hiroba.meeting().agenda === '開会'")
    assert "開会" in (await member.text_content("#agenda-now") or "")
    await member.context.close()  # done: fewer pages drawing

    # A citizen, admitted too, raises a hand and is given the floor for 5 s.
    citizen, citizen_watch = await enter(browser, server, "さくら", COMMITTEE, wait="lobby",
                                         **PHONE_1X)
    await admit(console, "さくら")
    await citizen.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
    await panel(citizen, "floor")
    await citizen.click("#hand-raise")
    await citizen.wait_for_function("() => window.hiroba.meeting().position === 1")
    assert await citizen.text_content("#hand-status") == JA["floor.position"].format(n=1, of=1)
    await console.wait_for_function("() => window.hiroba.console().queue.length === 1")
    await console.fill("#floor-limit", "5")
    await console.click("#floor-give")
    await citizen.wait_for_function("() => window.hiroba.meeting().floorState === 'speaking'")
    # Their own turn ("you"), counting down from the 5 s given.
    banner = await citizen.text_content("#floor-now")
    assert banner in {JA["banner.speaking"].format(name=JA["banner.you"], clock=f"0:0{s}")
                      for s in range(1, 6)}, banner
    pid = (await state(citizen))["selfId"]
    hub = server.app[MEETINGS_KEY].hub
    assert pid in hub.speakers(COMMITTEE)
    await citizen.wait_for_function("() => window.hiroba.meeting().board")
    await shot(citizen, "committee-citizen-speaking")
    await chair.wait_for_function("() => window.hiroba.meeting().floorState === 'overtime'",
                                  timeout=10_000)
    await chair.context.close()
    # The grace (2 s here) ends: the automatic mute, told to the speaker.
    await citizen.wait_for_function("() => window.hiroba.meeting().notice === 'auto_muted'",
                                    timeout=10_000)
    assert await citizen.is_visible("#notice")
    assert pid not in hub.speakers(COMMITTEE)
    await shot(citizen, "committee-citizen-auto-muted")
    await citizen.click("#notice-ok")
    await citizen.context.close()

    # A disruptive participant is removed and cannot come back.
    troll, troll_watch = await enter(browser, server, "荒らし", COMMITTEE, wait="lobby", **SMALL)
    await admit(console, "荒らし")
    await troll.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
    await console.wait_for_function(
        "() => window.hiroba.console().people.some(p => p.name === '荒らし' && p.place === 'room')")
    await console.fill("#sanction-reason", "不規則発言")
    await console.click("#people-rows button[aria-label*='荒らし'][aria-label*='退出']")
    await troll.wait_for_function("() => window.hiroba.meeting().notice === 'removed'")
    await troll.wait_for_selector("#join-screen:not([hidden])")
    assert "不規則発言" in (await troll.text_content("#notice-text") or "")
    await shot(troll, "committee-removed")
    await troll.click("#notice-ok")
    await troll.click("#join-submit")  # the same browser tries again
    await troll.wait_for_function(
        "() => document.getElementById('join-error').textContent.trim().length > 0")
    assert await troll.evaluate("() => window.hiroba.state().joined") is False
    refusal = await troll.text_content("#join-error") or ""
    assert refusal == JA["error.banned"], refusal
    await console.wait_for_function(
        "() => window.hiroba.console().audit.includes('sanction.remove')")
    await shot(console, "console-committee")
    for watch in (member_watch, chair_watch, citizen_watch, troll_watch):
        assert not watch.errors, watch.errors
    assert not errors(console_watch), console_watch.errors


async def test_consultation_with_opinions_poll_and_export(server, browser) -> None:
    await add_staff(server)
    console, console_watch = await staff_console(browser, server, CONSULTATION)
    aoi, aoi_watch = await enter(browser, server, "あおい", CONSULTATION, **SMALL)
    hikaru, hikaru_watch = await enter(browser, server, "ひかる", CONSULTATION, **PHONE_1X)

    await panel(aoi, "opinions")
    await aoi.select_option("#opinion-category", "遊具")
    await aoi.fill("#opinion-text", "幼児向けの遊具を増やしてください")
    await aoi.click("#opinion-submit")
    await panel(hikaru, "opinions")
    support = hikaru.locator("#opinion-list li", has_text="幼児向け").get_by_role("button")
    await support.click()
    await aoi.wait_for_function(
        "() => window.hiroba.meeting().opinions.some(o => o.supports === 1)")
    assert await aoi.locator("#opinion-list li", has_text="幼児向け").get_by_role(
        "button").count() == 0, "nobody supports their own opinion"

    await console.fill("#poll-question", "夜間照明を増やすべき?")
    await console.fill("#poll-options", "はい\nいいえ\nどちらでもない")
    await console.click("#poll-form button[type=submit]")
    for page, choice in ((aoi, 0), (hikaru, 0)):
        await panel(page, "polls")
        await page.wait_for_selector("#poll-list form.ballot")
        await page.locator("#poll-list form.ballot input").nth(choice).check()
        await page.click("#poll-list form.ballot button[type=submit]")
    await console.wait_for_function(
        "() => window.hiroba.console().polls.some(p => p.counts[0] === 2)")
    await hikaru.wait_for_function(
        "() => window.hiroba.meeting().polls.some(p => p.counts[0] === 2)")
    ballot = hikaru.locator("#poll-list form.ballot input")
    assert await ballot.nth(0).is_checked(), "the page shows one's own ballot"
    assert "null" not in (await hikaru.text_content("#poll-list") or "")
    await shot(hikaru, "consultation-phone-poll")
    await shot(console, "console-consultation")

    async with console.expect_download() as info:
        await console.click("#export-links a[data-export='opinions.csv']")
    path = await (await info.value).path()
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["category"], r["supports"], r["text"]) for r in rows] == [
        ("遊具", "1", "幼児向けの遊具を増やしてください")]
    async with console.expect_download() as info:
        await console.click("#export-links a[data-export='polls.csv']")
    polls = list(csv.DictReader(io.StringIO(
        (await (await info.value).path()).read_text(encoding="utf-8-sig"))))
    assert [(r["option"], r["votes"]) for r in polls] == [("はい", "2"), ("いいえ", "0"),
                                                          ("どちらでもない", "0")]
    for watch in (aoi_watch, hikaru_watch):
        assert not watch.errors, watch.errors
    assert not errors(console_watch), console_watch.errors


HOSTILE = "<img src=x onerror=alert(1)>"


async def test_hostile_text_is_shown_as_text(server, browser) -> None:
    await add_staff(server)
    console, console_watch = await staff_console(browser, server, CONSULTATION)
    viewer, viewer_watch = await enter(browser, server, "見る人", CONSULTATION, **SMALL)
    dialogs: list[str] = []
    for page in (viewer, console):
        page.on("dialog", lambda d: dialogs.append(d.message))
    bot = socketio.AsyncClient(reconnection=False)
    await bot.connect(server.url, transports=["websocket"])
    try:
        name = "<img src=x onerror=1>"
        ack = await bot.call("join", {"name": name, "room": CONSULTATION, "lang": "ja"})
        assert ack["ok"], ack
        for event, payload in (("chat:send", {"text": HOSTILE}),
                               ("opinion:submit", {"text": HOSTILE, "category": "その他"}),
                               ("question:ask", {"text": "<script>alert(2)</script>"})):
            assert (await bot.call(event, payload))["ok"]
        await console.fill("#caption-text", '<b onmouseover="alert(3)">字幕</b>')
        await console.click("#caption-form button[type=submit]")
        await viewer.wait_for_function(
            "() => window.hiroba.meeting().captions.some(c => c.includes('字幕'))")
        await panel(viewer, "chat")
        await viewer.wait_for_function(
            "(t) => document.getElementById('chat-list').textContent.includes(t)", arg=HOSTILE)
        await panel(viewer, "opinions")
        await viewer.wait_for_function(
            "(t) => document.getElementById('opinion-list').textContent.includes(t)", arg=HOSTILE)
        await console.wait_for_function(
            "(n) => document.getElementById('people-rows').textContent.includes(n)", arg=name)
        await asyncio.sleep(0.5)
        for page in (viewer, console):
            found = await page.evaluate(
                "() => ({img: document.querySelectorAll('img').length,"
                " script: document.querySelectorAll('body script').length,"
                " b: document.querySelectorAll('#captions b, #console-captions b').length})")
            assert found == {"img": 0, "script": 0, "b": 0}, found
        assert "<b onmouseover" in (await viewer.text_content("#captions") or "")
        assert dialogs == []
        await shot(viewer, "hostile-text")
    finally:
        await bot.disconnect()
    assert not viewer_watch.errors, viewer_watch.errors
    assert not errors(console_watch), console_watch.errors


async def test_logging_out_in_one_tab_ends_the_console_in_another(server, browser) -> None:
    await add_staff(server)
    first, _ = await staff_console(browser, server, COMMITTEE)
    # A second tab of the same browser (same cookie) with the console of the same room.
    second = await first.context.new_page()
    await second.goto(server.url + "/console")
    await second.click(f"button[data-room='{COMMITTEE}']")
    await second.wait_for_function("() => window.hiroba.console().self")
    await first.click("#console-logout")
    await first.wait_for_selector("#login-view", state="visible")
    # The server sends the other tab's console away at once; it finds the login gone and
    # shows the login form instead of staying on a console that can do nothing.
    await second.wait_for_selector("#login-view", state="visible", timeout=5_000)
    assert await second.is_hidden("#room-view")
