"""The console's minutes-approval panel (会議録署名) in Chromium: a signing account on a
phone sees only the draft naming it and approves it from the keyboard; staff on a desktop
compare two versions and publish the approved one. Screenshots in test-artifacts/."""

from __future__ import annotations

from typing import Any

import aiohttp
from playwright.async_api import Browser, Page

from tests.e2e.conftest import open_page, shot
from tests.integration.test_minutes_approval_http import add_signer
from tests.meetings import STAFF_PASSWORD, add_staff, login
from tests.published import record


async def post(server: Any, cookie: str, csrf: str, path: str, body: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as http, http.post(
        server.url + path, json=body, headers={"Cookie": cookie, "X-CSRF-Token": csrf}
    ) as r:
        assert r.status in (200, 201), await r.text()


async def log_in(page: Page, name: str) -> None:
    await page.fill("#login-account", name)
    await page.fill("#login-password", STAFF_PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_selector("#minutes-approval h2")


async def test_a_signer_approves_on_a_phone_and_staff_publish(
    server: Any, browser: Browser
) -> None:
    await add_staff(server)
    await add_signer(server, "iincho", "山田委員長")
    await add_signer(server, "shomei", "佐藤委員")
    rid = await record(server)
    base = f"/api/recordings/{rid}/minutes"
    cookie, csrf = await login(server)
    await post(server, cookie, csrf, f"{base}/versions", {"note": "自動生成"})
    await post(server, cookie, csrf, f"{base}/versions",
               {"text": "# 会議録\n\n委員長　山田\n訂正後の発言\n", "note": "誤字訂正"})
    await post(server, cookie, csrf, f"{base}/signers", {"version": 2, "signers": [
        {"account": "iincho", "role": "chair"}, {"account": "shomei", "role": "member"}]})
    chair_cookie, chair_csrf = await login(server, "iincho")
    await post(server, chair_cookie, chair_csrf, f"{base}/approve", {"version": 2})

    # The signing member, on a phone: only the panel, only this draft.
    phone, phone_watch = await open_page(browser, server.url + "/console",
                                         viewport={"width": 390, "height": 844})
    await log_in(phone, "shomei")
    assert await phone.locator("#room-list").is_hidden()
    await phone.click(f".ma-open[data-id='{rid}']")
    await phone.wait_for_selector("#ma-approve")
    assert await phone.locator("#ma-save").count() == 0  # no staff controls
    assert await phone.locator("label[for='ma-reason']").count() == 1
    await phone.click("#ma-show-requested")
    await phone.wait_for_selector("#ma-shown")
    assert "訂正後の発言" in await phone.locator("#ma-shown").inner_text()
    await phone.focus("#ma-approve")
    await phone.keyboard.press("Enter")  # keyboard reachable
    await phone.wait_for_function(
        "() => document.querySelector(\"tr[data-account='shomei'] .ma-state\")"
        "?.textContent === '承認'")
    await shot(phone, "minutes_approval_signer_390x844")

    # Staff, on a desktop: the diff of versions 1 and 2, then publish.
    desk, desk_watch = await open_page(browser, server.url + "/console",
                                       viewport={"width": 1280, "height": 900})
    await log_in(desk, "jimu")
    await desk.click(f".ma-open[data-id='{rid}']")
    await desk.wait_for_selector("#ma-diff-show")
    await desk.click("#ma-diff-show")
    await desk.wait_for_selector("#ma-shown .add")
    assert "+訂正後の発言" in await desk.locator("#ma-shown").inner_text()
    await shot(desk, "minutes_approval_staff_diff_desktop")
    await desk.set_viewport_size({"width": 390, "height": 844})
    await desk.locator("#ma-shown").scroll_into_view_if_needed()
    await shot(desk, "minutes_approval_staff_diff_390x844")
    assert await desk.locator("#ma-publish").is_enabled()
    await desk.click("#ma-publish")
    await desk.wait_for_function(
        "() => document.querySelector('#ma-status')?.textContent.includes('公開中')")
    await shot(desk, "minutes_approval_staff_desktop")
    async with aiohttp.ClientSession() as http, http.get(
            f"{server.url}{base}?format=md", headers={"Cookie": cookie}) as r:
        assert (await r.text()).startswith("# 会議録\n\n委員長　山田")
    for watch in (phone_watch, desk_watch):
        # (The console asks for the session before login; Chromium logs that 401.)
        assert [e for e in watch.errors if "status of 401" not in e] == []
