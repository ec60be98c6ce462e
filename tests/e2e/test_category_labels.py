"""Opinion categories in the reader's language (issue 15, defect 10): staff give each
category labels per language; an English participant's opinion form and opinion cards
show the English label, and follow at once when staff change it (no rejoining)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.conftest import join, open_page
from tests.meetings import CONSULTATION, add_staff, login, staff_post

pytestmark = pytest.mark.e2e

PATH = f"/api/rooms/{CONSULTATION}/settings"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # The sources as they are, not a build another change may be making at the same time.
    return replace(settings, client_dev=True)


def labelled(environment: str) -> list[dict[str, Any]]:
    return [{"value": "環境", "label": {"ja": "環境", "en": environment}},
            {"value": "交通", "label": {"ja": "交通", "en": "Transport"}}]


async def options(page: Page) -> list[str]:
    return await page.eval_on_selector_all(  # type: ignore[no-any-return]
        "#opinion-category option", "os => os.map(o => o.textContent)")


async def test_english_reader_sees_and_follows_staff_labels(server: Any,
                                                            browser: Browser) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    status, body = await staff_post(server, PATH, {"categories": labelled("Environment")},
                                    cookie=cookie, csrf=csrf)
    assert status == 200, body

    # small: the 3D plaza is drawn in software here, and each frame costs by the pixel
    page, watch = await open_page(browser, server.url + "/",
                                  viewport={"width": 480, "height": 600})
    await page.select_option("#join-lang", "en")
    await page.wait_for_function("() => document.documentElement.lang === 'en'")
    await join(page, "Alex", CONSULTATION)
    if await page.is_hidden("#meeting-panel"):
        await page.click("#meeting-toggle")
    await page.click("#tab-opinions")
    assert await options(page) == ["Environment", "Transport"]

    await page.select_option("#opinion-category", "環境")
    await page.fill("#opinion-text", "More trees along the river, please")
    await page.click("#opinion-submit")
    badge = page.locator("#opinion-list li", has_text="More trees").locator(".badge").first
    await badge.wait_for()
    assert await badge.text_content() == "Environment"

    # staff relabel it while the page is open: the form and the card follow at once
    status, body = await staff_post(server, PATH, {"categories": labelled("Nature and parks")},
                                    cookie=cookie, csrf=csrf)
    assert status == 200, body
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#opinion-category option')]"
        ".some(o => o.textContent === 'Nature and parks')", timeout=5000)
    assert await options(page) == ["Nature and parks", "Transport"]
    assert await badge.text_content() == "Nature and parks"
    assert not watch.errors, watch.errors
