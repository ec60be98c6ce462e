"""Who holds the event and when (issue 15, defect 10): staff type the organiser and the
times in the console's room settings, in the city's time zone whatever the laptop's zone
is; the join page of a phone set to another zone chooses the meeting on now (within its
window, nothing recording) and says who holds it and when, in the city's zone."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser

from tests.e2e.conftest import open_page
from tests.meetings import CONSULTATION, STAFF_PASSWORD, add_staff

pytestmark = pytest.mark.e2e

ORGANISER = "市民生活委員会 / ○○市"
#: Not the city's zone (Asia/Tokyo): times typed or read in the browser's zone show up.
ELSEWHERE = "America/New_York"
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                         "has_touch": True, "timezone_id": ELSEWHERE}


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # The sources as they are, not a build another change may be making at the same time.
    return replace(settings, client_dev=True)


async def test_console_schedule_shows_on_the_join_page(server: Any, browser: Browser) -> None:
    zone = ZoneInfo(server.settings.time_zone)
    # a window around now, on whole minutes, as clock times in the city's zone
    start = datetime.fromtimestamp((int(time.time()) // 60 - 60) * 60, zone)
    end = datetime.fromtimestamp(start.timestamp() + 3 * 3600, zone)

    await add_staff(server)
    staff, staff_watch = await open_page(browser, server.url + "/console", timezone_id=ELSEWHERE,
                                         viewport={"width": 1280, "height": 900})
    await staff.fill("#login-account", "jimu")
    await staff.fill("#login-password", STAFF_PASSWORD)
    await staff.click("#login-submit")
    await staff.click(f"button[data-room='{CONSULTATION}']")
    await staff.wait_for_function(
        "() => document.getElementById('settings-zone').textContent.includes('Asia/Tokyo')")
    await staff.fill("#settings-organiser", ORGANISER)
    await staff.fill("#settings-starts", start.strftime("%Y-%m-%dT%H:%M"))
    await staff.fill("#settings-ends", end.strftime("%Y-%m-%dT%H:%M"))
    await staff.click("#settings-form button[type=submit]")
    await staff.wait_for_function(
        "() => window.hiroba.console().audit.includes('room.settings')")
    body = await staff.evaluate(
        f"async () => (await fetch('/api/rooms/{CONSULTATION}/settings')).json()")
    # typed as the city's clock times, stored as those instants (not New York's)
    assert (body["organiser"], body["starts_at"], body["ends_at"]) == (
        ORGANISER, int(start.timestamp()), int(end.timestamp())), body
    # and shown again as the city's clock times
    assert await staff.input_value("#settings-starts") == start.strftime("%Y-%m-%dT%H:%M")
    # (the console asks for a session before the login: that 401 is expected)
    assert not [e for e in staff_watch.errors if "401" not in e], staff_watch.errors

    page, watch = await open_page(browser, server.url + "/", **PHONE)
    # the meeting on now is chosen first, not the general plaza
    await page.wait_for_function(
        "(room) => document.getElementById('join-room').value === room", arg=CONSULTATION)
    text = await page.text_content("#join-meeting") or ""
    assert ORGANISER in text, text
    formats = await page.evaluate(
        """([from, to]) => ['Asia/Tokyo', undefined].map((timeZone) => new Intl.DateTimeFormat(
             'ja', { dateStyle: 'medium', timeStyle: 'short', timeZone })
             .formatRange(new Date(from * 1000), new Date(to * 1000)))""",
        [body["starts_at"], body["ends_at"]])
    city, phone = formats
    assert city != phone, "the phone's own zone must differ for this test to mean anything"
    assert city in text and phone not in text, (city, phone, text)
    assert not watch.errors, watch.errors
