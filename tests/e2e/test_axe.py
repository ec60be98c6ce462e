"""axe-core (tests/e2e/axe.py) on every page a citizen, a member or the staff open: the
join page, the plaza after joining with the meeting panel closed and open (each tab), the
staff console logged in and in a meeting, the public archive, a replay and the minutes of a
recording. A serious or critical violation fails; so does a moderate one that
tests/e2e/axe_known_moderate.json does not list with a reason (issue 15, "Checks that keep
it fixed").

One server and one browser for the module (software WebGL makes a browser start and a
joined plaza the expensive part); each page has its own context. The server serves
web_client/'s sources (client_dev), so what is checked is the code as it stands.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from bench.clients.chromium import ARGS, CHROMIUM, PHONE
from server.config.settings import load_settings
from tests.conftest import Server, free_port, running_server
from tests.e2e.axe import CONTEXT, check
from tests.e2e.conftest import PageWatch, open_page
from tests.e2e.test_meeting import SMALL, errors
from tests.e2e.test_replay import recording
from tests.meetings import (
    COMMITTEE,
    CONSULTATION,
    STAFF_PASSWORD,
    add_staff,
    admitted,
    console,
    participant,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

#: The meeting panel's tabs a citizen sees (the chair's tab is for the chair only).
TABS = ("floor", "chat", "opinions", "questions", "polls", "captions")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    settings = replace(load_settings({}), data_dir=tmp_path_factory.mktemp("axe") / "data",
                       port=free_port(), tick_hz=10.0, seed_demo=True, client_dev=True)
    async with running_server(settings) as server:
        await add_staff(server)
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        await browser.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def published(site: Server) -> str:
    """A published recording with agenda chapters, a speaker, captions and chat."""
    return await recording(site, published=True)


async def opened(browser: Browser, url: str, **context: Any) -> tuple[Page, PageWatch]:
    return await open_page(browser, url, **CONTEXT, **context)


async def test_join_page(site: Server, chromium: Browser) -> None:
    page, watch = await opened(chromium, site.url + "/", **PHONE)
    # The room list and labels arrive after load: check the page as a citizen reads it.
    await page.wait_for_function(
        "() => document.querySelectorAll('#join-room option').length > 1")
    await check(page, "join")
    for lang in ("en", "zh", "ko"):
        await page.select_option("#join-lang", lang)
        await page.wait_for_function("(l) => document.documentElement.lang === l", arg=lang)
        await check(page, f"join {lang}")
    assert not watch.errors, watch.errors
    await page.context.close()


async def test_plaza_with_the_meeting_panel(site: Server, chromium: Browser) -> None:
    # A meeting under way: an open agenda item, a poll, someone else holding the floor, a
    # chat line and a recording: the banner, badges and lists all show.
    made: list[Any] = []
    staff = await console(site, made, CONSULTATION)
    await staff.act("poll:create", {"question": "夜間照明は?", "options": ["LED", "現状"]})
    item = (await staff.act("agenda:add", {"title": "公園の整備", "planned": 600}))
    await staff.act("agenda:open", {"item": item["item"]})
    other = await participant(site, made, "ひかる", CONSULTATION)
    await other.act("chat:send", {"text": "こんにちは"})
    await other.act("hand:raise")
    await staff.act("floor:give", {"limit": 120})
    await staff.act("recording:start", {"room": CONSULTATION})

    page, watch = await opened(chromium, site.url + "/", **SMALL)
    await page.fill("#join-name", "あおい")
    await page.wait_for_function(
        "(room) => [...document.querySelectorAll('#join-room option')].some(o => o.value === room)",
        arg=CONSULTATION)
    await page.select_option("#join-room", CONSULTATION)
    await page.click("#join-submit")
    await page.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
    await page.wait_for_function("() => window.hiroba.meeting().recording")
    await check(page, "plaza")
    await page.click("#meeting-toggle")
    await page.locator("#meeting-panel").wait_for(state="visible")
    for tab in TABS:
        await page.click(f"#tab-{tab}")
        await check(page, f"plaza panel {tab}")
    await page.keyboard.press("Escape")
    await page.locator("#meeting-panel").wait_for(state="hidden")
    await check(page, "plaza")
    assert not watch.errors, watch.errors
    await page.context.close()
    await staff.act("recording:stop", {"room": CONSULTATION})
    for client in made:
        await client.close()


async def test_staff_console_in_a_meeting(site: Server, chromium: Browser) -> None:
    # Someone waiting in the lobby, a member asking for the floor: the console's per-person
    # buttons (admit, refuse, give the floor, mute, remove, ban) are all drawn.
    made: list[Any] = []
    staff = await console(site, made, COMMITTEE)
    member = await admitted(site, made, staff, "田中委員")
    await member.act("hand:raise")
    await participant(site, made, "さくら", COMMITTEE)  # waits in the lobby
    page, watch = await opened(chromium, site.url + "/console",
                               viewport={"width": 1280, "height": 900})
    await check(page, "console login")
    await page.fill("#login-account", "jimu")
    await page.fill("#login-password", STAFF_PASSWORD)
    await page.click("#login-submit")
    await page.click(f"button[data-room='{COMMITTEE}']")
    await page.wait_for_function("() => window.hiroba.console().self")
    await page.wait_for_function("() => window.hiroba.console().lobby.length === 1")
    await check(page, "console")
    # Recording: the badge is white on red (issue 15, defect 3, was red on red).
    await page.click("#rec-toggle")
    await page.wait_for_function("() => window.hiroba.console().recording")
    await check(page, "console recording")
    await page.click("#rec-toggle")
    await page.wait_for_function("() => !window.hiroba.console().recording")
    # Names and labels are translated strings: each language is a page of its own.
    for lang in ("en", "zh", "ko"):
        await page.select_option("#console-lang", lang)
        await page.wait_for_function("(l) => document.documentElement.lang === l", arg=lang)
        await check(page, f"console {lang}")
    assert not errors(watch), watch.errors
    await page.context.close()
    for client in made:
        await client.close()


async def test_gallery_page(site: Server, chromium: Browser) -> None:
    """The public gallery page (issue 19) in every language: the room, the controls, the
    agenda and the polls as a viewer with no name sees them."""
    page, watch = await opened(chromium, site.url + "/gallery?room=dx-committee", **PHONE)
    await page.wait_for_function("() => window.hiroba?.state().hello")
    await check(page, "gallery")
    for lang in ("en", "zh", "ko"):
        await page.select_option("#gallery-lang", lang)
        await page.wait_for_function("(l) => document.documentElement.lang === l", arg=lang)
        await check(page, f"gallery {lang}")
    assert not watch.errors, watch.errors
    await page.context.close()


async def test_archive_replay_and_minutes(site: Server, chromium: Browser,
                                          published: str) -> None:
    page, watch = await opened(chromium, site.url + "/archive", **PHONE)
    await page.locator(".archive-item").first.wait_for(state="visible")
    await check(page, "archive")

    await page.goto(f"{site.url}/replay?id={published}")
    await page.wait_for_function("() => window.hiroba?.replay().ready", timeout=20_000)
    await check(page, "replay")

    assert not watch.errors, watch.errors

    await page.goto(f"{site.url}/api/recordings/{published}/minutes?format=html&lang=ja")
    await page.locator("h1").wait_for()
    await check(page, "minutes")
    # The minutes are a standalone document whose CSP allows no icon: Chromium asks for
    # /favicon.ico, which answers 204 (no error).
    assert not watch.errors, watch.errors
    await page.context.close()

