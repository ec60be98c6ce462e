"""The public archive in Chromium on a phone: it lists the published meeting (date,
title, length, minutes and replay links) and nothing unpublished, with no console errors
or CSP violations; the join screen links to it; an unpublished recording is refused to a
citizen."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from playwright.async_api import Browser

from bench.clients.chromium import PHONE
from server.app import RECORDINGS_KEY
from tests.conftest import ROOT
from tests.e2e.conftest import open_page
from tests.e2e.test_meeting import errors, staff_console
from tests.meetings import COMMITTEE, add_staff
from tests.published import publish, record

JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text())


async def test_archive_lists_published_meetings(server: Any, browser: Browser) -> None:
    shown = await record(server, "第3回DX推進委員会")
    hidden = await record(server, "非公開の打合せ")
    await publish(server, shown)

    page, watch = await open_page(browser, server.url + "/", **PHONE)
    link = page.locator("a[href='/archive']")
    await link.wait_for(state="visible")
    assert (await link.text_content()) == JA["join.archive"]
    await link.click()
    await page.wait_for_url(server.url + "/archive")
    item = page.locator(".archive-item")
    await item.first.wait_for(state="visible")
    assert await item.count() == 1
    assert await item.get_attribute("data-id") == shown
    assert (await item.locator("h2").text_content()) == "第3回DX推進委員会"
    assert await item.locator("time").count() == 1
    # In the city's time zone (Asia/Tokyo), as the minutes and the console, whatever the
    # browser's own zone (UTC here).
    started = datetime.fromisoformat(str(await item.locator("time").get_attribute("datetime")))
    local = started.astimezone(server.settings.zone)
    assert f"{local.hour}:{local.minute:02d}" in (await item.locator("time").text_content() or "")
    hrefs = [await a.get_attribute("href") for a in await item.locator("a").all()]
    assert hrefs == [f"/replay?id={shown}",
                     f"/api/recordings/{shown}/minutes?format=html&lang=ja",
                     f"/api/recordings/{shown}/minutes?format=md&lang=ja"]
    assert "非公開" not in (await page.content())
    assert (await page.text_content("#archive-status")) == JA["archive.count"].format(n=1)

    assert not watch.errors, watch.errors

    # The citizen's browser gets the same 404 for the unpublished one as for no recording.
    statuses = await page.evaluate(
        """async (ids) => Promise.all(ids.map(async (id) => {
             const r = await fetch(`/api/recordings/${id}`);
             return [r.status, (await r.json()).reason];
           }))""", [hidden, shown])
    assert statuses == [[404, "not_found"], [200, None]]
    assert [e for e in watch.errors if "404" not in e] == []
    watch.errors.clear()  # that 404 was the point

    await page.select_option("#archive-lang", "en")
    await page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert (await page.text_content("h1")) == "Public meeting archive"
    assert not watch.errors, watch.errors

    # The minutes open as their own document, styled, with no CSP violation.
    await page.click(".archive-item a[href*='format=html']")
    await page.wait_for_url("**/minutes?format=html&lang=en")
    await page.locator("h1").wait_for()
    assert not watch.errors, watch.errors


async def test_console_publishes_a_recording(server: Any, browser: Browser) -> None:
    await add_staff(server)
    rid = await record(server, "第4回DX推進委員会")
    console, console_watch = await staff_console(browser, server, COMMITTEE)
    await console.wait_for_function(
        "(id) => window.hiroba.console().recordings.some(r => r.id === id)", arg=rid)
    row = console.locator(f".recording-row[data-id='{rid}']")
    assert await row.locator("a[data-minutes='md']").get_attribute("href") == (
        f"/api/recordings/{rid}/minutes?format=md")
    await row.locator("input[type=checkbox]").check()
    await console.wait_for_function(
        "(id) => window.hiroba.console().recordings.find(r => r.id === id).published", arg=rid)
    assert (await server.app[RECORDINGS_KEY].index.get(rid)).published

    page, watch = await open_page(browser, server.url + "/archive", **PHONE)
    await page.locator(f".archive-item[data-id='{rid}']").wait_for(state="visible")

    await row.locator("input[type=checkbox]").uncheck()
    await console.wait_for_function(
        "(id) => !window.hiroba.console().recordings.find(r => r.id === id).published", arg=rid)
    await page.reload()
    await page.wait_for_function("() => document.querySelector('#archive-status').textContent")
    assert await page.locator(".archive-item").count() == 0
    assert not errors(console_watch) and not watch.errors, (console_watch.errors, watch.errors)
