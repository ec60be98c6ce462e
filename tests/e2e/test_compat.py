"""A browser that cannot run the client (issue 20) is told so in plain words, in the four
languages, before any module runs: web_client/compat.js, a classic script every page
loads first. Chromium stands in for an old browser by losing, before the page's own
scripts run, what the check looks for (import maps, a WebSocket): the page shows the
message (an alert, each language marked), hides the join form, and the Content-Security-
Policy is kept (no inline script, no style attribute: nothing is reported). A browser
that has everything sees no such message, on every page.

Checked to fail with the check for WebSocket taken out of compat.js (no message), and
with the page's `<script src="/app/compat.js">` left out of the build (the vite plugin's
rewrite removed: the script 404s, no message)."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser

from bench.clients.chromium import PHONE
from tests.conftest import Server
from tests.e2e.conftest import PageWatch, shot

#: What an old browser lacks, taken away before the page's scripts run.
OLD = {
    "import maps": "HTMLScriptElement.supports = undefined;",
    "WebSocket": "delete window.WebSocket;",
}


async def _page(browser: Browser, url: str, init: str | None) -> tuple[Any, PageWatch]:
    ctx = await browser.new_context(**PHONE)
    if init is not None:
        await ctx.add_init_script(init)
    page = await ctx.new_page()
    watch = PageWatch(page)
    await page.goto(url)
    return page, watch


async def test_a_browser_too_old_is_told_why_in_four_languages(
        server: Server, browser: Browser) -> None:  # fmt: skip
    for missing, init in OLD.items():
        page, watch = await _page(browser, server.url + "/", init)
        box = page.locator("#compat")
        await box.wait_for()
        assert await box.get_attribute("role") == "alert"
        langs = await box.evaluate("b => [...b.children].map(c => c.lang)")
        assert langs == ["ja", "en", "zh", "ko"]
        text = await box.inner_text()
        assert "このブラウザーではひろばを使えません" in text
        assert "Hiroba cannot run in this browser" in text and "iOS 16.4" in text
        assert missing in text
        assert await page.evaluate("window.hirobaUnsupported") == [missing]
        assert await page.locator("#join-screen").is_hidden()
        assert not [e for e in watch.errors if "Content Security Policy" in e], watch.errors
        await shot(page, f"compat-{missing.replace(' ', '-')}")
        await page.context.close()
    # The gallery's link is a page of its own: the same words there.
    page, _watch = await _page(browser, server.url + "/gallery?room=plaza", OLD["WebSocket"])
    await page.locator("#compat").wait_for()
    await page.context.close()


async def test_a_browser_with_everything_sees_no_such_message(
        server: Server, browser: Browser) -> None:  # fmt: skip
    for path in ("/", "/console", "/archive", "/gallery?room=plaza"):
        page, watch = await _page(browser, server.url + path, None)
        await page.wait_for_load_state("load")
        assert await page.evaluate("window.hirobaUnsupported") is None, path
        assert await page.locator("#compat").count() == 0, path
        assert not [e for e in watch.errors if "Content Security Policy" in e], watch.errors
        await page.context.close()
