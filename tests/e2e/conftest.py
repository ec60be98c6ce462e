"""Real Chromium (Debian's, through Playwright) against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any, Final

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    WebSocket,
    async_playwright,
)
from pytest_asyncio import is_async_test

from bench.clients.chromium import ARGS, CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.e2e


E2E = Path(__file__).resolve().parent
#: The loop every e2e test and its async fixtures run on. Playwright's objects belong to
#: the loop that started them, so one Playwright driver and one Chromium for all the e2e
#: tests need one loop for all of them; a driver and a Chromium per test cost about 5 s
#: a test (docs/performance.md, "Test suite"). The integration tests keep a loop each.
LOOP: Final = "session"
#: Where pytest-asyncio 1.5 (pinned in requirements.lock) reads an async fixture's loop.
LOOP_SCOPE_ATTR = "_loop_scope"


def _in_e2e(node: Any) -> bool:
    return bool(node.path.is_relative_to(E2E))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the e2e tests on the shared loop, unless a module chose its own (test_axe's
    module loop): pytest-asyncio's documented way, a closer ``asyncio`` mark."""
    shared = pytest.mark.asyncio(loop_scope=LOOP)
    for item in items:
        if not is_async_test(item) or not _in_e2e(item):
            continue
        mark = item.get_closest_marker("asyncio")
        if mark is not None and (mark.kwargs.get("loop_scope") or mark.kwargs.get("scope")):
            continue
        item.add_marker(shared, append=False)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    """Set up an e2e test's function-scoped async fixtures (``server``, ``clients``,
    ``made``, a module's own) on the test's loop: a server listening on another loop
    would not answer while the test runs. Fixtures that name their loop keep it.

    pytest-asyncio reads the loop scope from the fixture function's ``_loop_scope``
    (what ``@pytest_asyncio.fixture(loop_scope=...)`` sets) when it sets the fixture up;
    the fixtures are shared with the integration tests, so it is set for this set-up only.
    """
    func = fixturedef.func
    if (
        fixturedef.scope != "function"
        or not (inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func))
        or getattr(func, LOOP_SCOPE_ATTR, None) is not None
        or not _in_e2e(request.node)
        or (mark := request.node.get_closest_marker("asyncio")) is None
        or mark.kwargs.get("loop_scope", mark.kwargs.get("scope")) != LOOP
    ):
        return (yield)
    setattr(func, LOOP_SCOPE_ATTR, LOOP)
    try:
        return (yield)
    finally:
        delattr(func, LOOP_SCOPE_ATTR)


@pytest.fixture
def no_blocking() -> None:
    """Nothing: Playwright's own driver traffic shares the loop here; loop-blocking checks
    belong to the integration tests, where only Hiroba runs on the loop."""


class SharedChromium:
    """One Playwright driver and one Chromium for the e2e tests, started on first use and
    started again if Chromium went away (a crash must not fail every later test)."""

    def __init__(self) -> None:
        self._pw: Playwright | None = None
        self._browser: Browser | None = None

    async def get(self) -> Browser:
        if self._browser is None or not self._browser.is_connected():
            if self._pw is None:
                self._pw = await async_playwright().start()
            self._browser = await self._pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        return self._browser

    async def stop(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._pw is not None:
            await self._pw.stop()


@pytest_asyncio.fixture(scope="package", loop_scope=LOOP)
async def shared_chromium() -> AsyncIterator[SharedChromium]:
    shared = SharedChromium()
    yield shared
    await shared.stop()


@pytest_asyncio.fixture(loop_scope=LOOP)
async def browser(shared_chromium: SharedChromium) -> AsyncIterator[Browser]:
    """The shared Chromium; every context (so every page) the test opened is closed after
    it. Tests open their pages in contexts of their own (``open_page``,
    ``browser.new_context``), which keep cookies, storage, permissions, caches and service
    workers apart, as a fresh browser did."""
    browser = await shared_chromium.get()
    yield browser
    for ctx in browser.contexts:
        await ctx.close()


@pytest.fixture(autouse=True)
async def own_tasks() -> AsyncIterator[None]:
    """Cancel what a test left running on the shared loop (a server's or a client's task
    not stopped), as closing a per-test loop did. Playwright's own tasks stay."""
    before = asyncio.all_tasks()
    yield
    left = [
        task for task in asyncio.all_tasks() - before
        if task is not asyncio.current_task() and not _playwrights(task)
    ]
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)


def _playwrights(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and "/playwright/" in code.co_filename


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
