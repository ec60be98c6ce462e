"""Real Chromium (Debian's, through Playwright) against a real server on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, WebSocket, async_playwright

from bench.clients.chromium import ARGS, CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.e2e


@pytest.fixture
async def no_blocking() -> AsyncIterator[None]:
    # Playwright's own driver traffic shares the loop here; loop-blocking checks belong to
    # the integration tests, where only Hiroba runs on the loop.
    yield


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        await browser.close()


class PageWatch:
    """Console errors and CSP violations seen by a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error" or "Content Security Policy" in msg.text:
            self.errors.append(msg.text)


class MotionTraffic:
    """What a page sends and receives on its motion-plane WebSocket(s) (``/motion``)."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        self.texts: list[str] = []
        #: sizes of the binary uplinks: 8 bytes (position), 77 (with a pose record)
        self.uplinks: list[int] = []
        self.frames = 0
        page.on("websocket", self._opened)

    def _opened(self, ws: WebSocket) -> None:
        if not ws.url.endswith("/motion"):
            return
        self.urls.append(ws.url)
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload: str | bytes) -> None:
        if isinstance(payload, str):
            self.texts.append(payload)
        else:
            self.uplinks.append(len(payload))

    def _received(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            self.frames += 1


async def open_page(browser: Browser, url: str, **context: Any) -> tuple[Page, PageWatch]:
    ctx = await browser.new_context(**context)
    page = await ctx.new_page()
    watch = PageWatch(page)
    await page.goto(url)
    return page, watch


async def fill_name(page: Page, name: str) -> None:
    """Type the display name, unless the page's invitation link fixed it: then wait for
    the page to say whom it invites (its preview answered) and leave the name as shown."""
    if "token=" in page.url:
        await page.locator("#join-invite").wait_for(state="visible")
    if await page.locator("#join-name").is_editable():
        await page.fill("#join-name", name)


async def join(page: Page, name: str, room: str = "plaza") -> dict[str, Any]:
    await fill_name(page, name)
    await page.wait_for_function(
        "(room) => [...document.querySelectorAll('#join-room option')].some(o => o.value === room)",
        arg=room,
    )
    await page.select_option("#join-room", room)
    await page.click("#join-submit")
    await page.wait_for_function("() => window.hiroba && window.hiroba.state().joined")
    return await state(page)


async def state(page: Page) -> dict[str, Any]:
    return await page.evaluate("() => window.hiroba.state()")  # type: ignore[no-any-return]


async def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^\w.-]", "_", name) + ".png")
    await page.screenshot(path=str(path))
    return path
