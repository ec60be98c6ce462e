"""XSS in real Chromium: hostile names, chat, opinions, questions and captions are shown
as text in the citizen page and in the staff console, and nothing in them runs.

Every payload, if it ever ran, would set ``window.__xss``; an injected element would also
be refused by the Content-Security-Policy (a ``securitypolicyviolation`` event, a console
message) or fetch ``/x``. The test checks all of these, that no dialog opened, that no
element or ``javascript:`` link came from the payloads, and that the text is visible.
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio
from playwright.async_api import Browser, Dialog, Page, Request

from tests.e2e.conftest import PageWatch, join, shot
from tests.e2e.test_meeting import SMALL, errors, panel
from tests.meetings import CONSULTATION, STAFF_PASSWORD, add_staff

#: Display names are at most 24 characters: short payloads.
NAME_TYPED = '"><svg onload=__xss=1>'
NAME_BOT = "<img src=x onerror=a()>"
CHAT = '<img src=x onerror="window.__xss=1;alert(1)">'
CHAT_TYPED = '<a href="javascript:window.__xss=1">押して</a>'
OPINION = '"><svg onload="window.__xss=1"><script>window.__xss=1</script>'
QUESTION = "<iframe src=\"javascript:parent.__xss=1\"></iframe>質問"
CAPTION = '<b onmouseover="window.__xss=1">字幕</b><img src=x onerror=window.__xss=1>'

#: Before any page script: record CSP violations, and make ``a()`` (the bot's name's
#: handler) a tripwire too.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
window.a = () => { window.__xss = 1; };
"""

#: Elements, attributes and links only a payload could have made, in the lists that show
#: people's text.
INJECTED = """(sel) => {
  const roots = [...document.querySelectorAll(sel)];
  const count = (q) => roots.reduce((n, r) => n + r.querySelectorAll(q).length, 0);
  return {
    xss: window.__xss ?? null,
    csp: window.__csp,
    elements: count('img, svg, script, iframe, b, a'),
    handlers: count('[onerror], [onload], [onmouseover]'),
    jsLinks: document.querySelectorAll('a[href^="javascript:" i]').length,
  };
}"""

VIEWER_LISTS = "#chat-list, #opinion-list, #question-list, #captions"
CONSOLE_LISTS = ("#people-rows, #console-chat, #console-opinions, #console-questions,"
                 " #console-captions")


async def open_watched(browser: Browser, url: str, dialogs: list[str], fetched: list[str],
                       **context: Any) -> tuple[Page, PageWatch]:
    """A page with the watch installed before any of its scripts runs."""
    ctx = await browser.new_context(**context)
    await ctx.add_init_script(WATCH)
    page = await ctx.new_page()
    watch = PageWatch(page)

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()  # an open alert would stall the page and hide the failure

    page.on("dialog", on_dialog)

    def on_request(request: Request) -> None:
        if request.url.rstrip("/").endswith("/x") or request.url.startswith("javascript:"):
            fetched.append(request.url)

    page.on("request", on_request)
    await page.goto(url)
    return page, watch


async def has_text(page: Page, selector: str, text: str) -> None:
    await page.wait_for_function(
        "([sel, t]) => document.querySelector(sel).textContent.includes(t)",
        arg=[selector, text], timeout=10_000)


async def visible(page: Page, selector: str, text: str) -> None:
    assert await page.locator(selector).get_by_text(text).first.is_visible(), (selector, text)


async def test_hostile_text_never_runs(server: Any, browser: Browser) -> None:
    await add_staff(server)
    dialogs: list[str] = []
    fetched: list[str] = []
    console, console_watch = await open_watched(
        browser, server.url + "/console", dialogs, fetched,
        viewport={"width": 1024, "height": 1366})
    await console.fill("#login-account", "jimu")
    await console.fill("#login-password", STAFF_PASSWORD)
    await console.click("#login-submit")
    await console.click(f"button[data-room='{CONSULTATION}']")
    await console.wait_for_function("() => window.hiroba.console().self")

    # A citizen types a hostile name and a hostile chat message into the real page.
    viewer, viewer_watch = await open_watched(browser, server.url + "/", dialogs, fetched,
                                              **SMALL)
    await join(viewer, NAME_TYPED, CONSULTATION)
    await panel(viewer, "chat")
    await viewer.fill("#chat-text", CHAT_TYPED)
    await viewer.click("#chat-send")

    # Another one, through a bare socket (no page checks anything on the way in).
    bot = socketio.AsyncClient(reconnection=False)
    await bot.connect(server.url, transports=["websocket"])
    try:
        ack = await bot.call("join", {"name": NAME_BOT, "room": CONSULTATION, "lang": "ja"})
        assert ack["ok"], ack
        for event, payload in (("chat:send", {"text": CHAT}),
                               ("opinion:submit", {"text": OPINION, "category": "その他"}),
                               ("question:ask", {"text": QUESTION})):
            reply = await bot.call(event, payload)
            assert reply["ok"], (event, reply)
        # Staff type a hostile caption in the console.
        await console.fill("#caption-text", CAPTION)
        await console.click("#caption-form button[type=submit]")

        # Everything is there, as visible text, on both pages; hovering the caption and
        # clicking the would-be link do nothing.
        await has_text(viewer, "#captions", CAPTION)
        for text in (CHAT, CHAT_TYPED, NAME_TYPED, NAME_BOT):
            await has_text(viewer, "#chat-list", text)
        await visible(viewer, "#chat-list", CHAT)
        await viewer.locator("#chat-list").get_by_text(CHAT_TYPED).first.click()
        await panel(viewer, "opinions")
        await has_text(viewer, "#opinion-list", OPINION)
        await visible(viewer, "#opinion-list", OPINION)
        await panel(viewer, "questions")
        await has_text(viewer, "#question-list", QUESTION)
        await visible(viewer, "#question-list", QUESTION)
        for selector, text in (("#people-rows", NAME_TYPED), ("#people-rows", NAME_BOT),
                               ("#console-chat", CHAT), ("#console-chat", CHAT_TYPED),
                               ("#console-opinions", OPINION),
                               ("#console-questions", QUESTION),
                               ("#console-captions", CAPTION)):
            await has_text(console, selector, text)
        await visible(console, "#console-chat", CHAT)
        await visible(console, "#console-captions", CAPTION)
        await console.locator("#console-captions").get_by_text(CAPTION).first.hover()
        await asyncio.sleep(0.5)  # time for any onerror/onload that would fire
        for page, lists in ((viewer, VIEWER_LISTS), (console, CONSOLE_LISTS)):
            found = await page.evaluate(INJECTED, lists)
            assert found == {"xss": None, "csp": [], "elements": 0, "handlers": 0,
                             "jsLinks": 0}, found
        await shot(viewer, "xss-viewer")
        await shot(console, "xss-console")
    finally:
        await bot.disconnect()
    assert dialogs == [] and fetched == [], (dialogs, fetched)
    for watch in (viewer_watch, console_watch):
        csp = [e for e in watch.errors if "Content Security Policy" in e]
        assert csp == [], csp
    assert not viewer_watch.errors, viewer_watch.errors
    assert not errors(console_watch), console_watch.errors
