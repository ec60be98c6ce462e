"""The staff console shows times in the city's zone (the server's ``time_zone``), not in
the zone of the browser it runs in: a laptop set to New York reads Tokyo times."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser

from tests.e2e.conftest import open_page
from tests.meetings import CONSULTATION, STAFF_PASSWORD, add_staff

#: The times the audit list shows, and what they would read in either zone.
READ = """async (room) => {
  const r = await fetch(`/api/rooms/${room}/audit?limit=1`, { credentials: 'same-origin' });
  const at = (await r.json()).entries[0].at;
  const when = document.querySelector('#audit-list .when').textContent;
  const lang = document.documentElement.lang;
  const as = (timeZone) => new Intl.DateTimeFormat(lang, { timeStyle: 'medium', timeZone })
    .format(new Date(at * 1000));
  return { when, tokyo: as('Asia/Tokyo'), browser: as(undefined),
           browserZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
           hook: window.hiroba.console().timeZone };
}"""


async def test_console_times_are_in_the_city_zone(server: Any, browser: Browser) -> None:
    assert server.settings.time_zone == "Asia/Tokyo"
    await add_staff(server)
    page, watch = await open_page(browser, server.url + "/console",
                                  viewport={"width": 1024, "height": 1366},
                                  timezone_id="America/New_York")
    await page.fill("#login-account", "jimu")
    await page.fill("#login-password", STAFF_PASSWORD)
    await page.click("#login-submit")
    await page.click(f"button[data-room='{CONSULTATION}']")
    await page.wait_for_function("() => window.hiroba.console().self")
    # Something for the audit log: a poll.
    await page.fill("#poll-question", "時刻の確認")
    await page.fill("#poll-options", "はい\nいいえ")
    await page.click("#poll-form button[type=submit]")
    await page.wait_for_selector("#audit-list .when")
    seen = await page.evaluate(READ, CONSULTATION)
    assert seen["browserZone"] == "America/New_York"
    assert seen["hook"] == "Asia/Tokyo"
    assert seen["when"] == seen["tokyo"] != seen["browser"], seen
    # (The console asks for the session before login; Chromium logs that 401.)
    assert [e for e in watch.errors if "status of 401" not in e] == []
