"""The join screen as a citizen meets it: language, labels, large text, errors, safety."""

from __future__ import annotations

import socketio

from bench.clients.chromium import PHONE
from tests.e2e.conftest import join, open_page, shot, state

CONTROLS_WITHOUT_NAME = """() => [...document.querySelectorAll('input, select, button, textarea')]
  .filter(el => el.offsetParent !== null)
  .filter(el => {
    const labelled = (el.labels && [...el.labels].some(l => l.textContent.trim()))
      || (el.getAttribute('aria-label') || '').trim()
      || (el.getAttribute('aria-labelledby') || '').trim()
      || (el.tagName === 'BUTTON' && el.textContent.trim());
    return !labelled;
  })
  .map(el => el.id || el.outerHTML.slice(0, 80))"""


async def test_japanese_first_english_on_request_and_labelled(server, browser) -> None:
    page, watch = await open_page(browser, server.url, **PHONE)
    await page.wait_for_selector("#join-submit")
    assert await page.get_attribute("html", "lang") == "ja"
    ja_label = (await page.text_content("#join-submit") or "").strip()
    assert ja_label and any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff"
                            for ch in ja_label)
    assert await page.evaluate(CONTROLS_WITHOUT_NAME) == []
    await page.select_option("#join-lang", "en")
    await page.wait_for_function("() => document.documentElement.lang === 'en'")
    en_label = (await page.text_content("#join-submit") or "").strip()
    assert en_label and en_label != ja_label and en_label.isascii()
    assert await page.evaluate(CONTROLS_WITHOUT_NAME) == []
    # Room names follow the language.
    options = await page.eval_on_selector_all("#join-room option", "os => os.map(o => o.text)")
    assert any("Plaza" in text for text in options)
    assert not watch.errors, watch.errors


async def test_raised_font_size_keeps_the_form_usable_on_a_phone(server, browser) -> None:
    page, watch = await open_page(browser, server.url, **PHONE)
    await page.wait_for_selector("#join-submit")
    # What a raised system font size does to a page that sizes text in rem.
    # (Set through the CSSOM: the page's CSP rightly refuses injected <style> tags.)
    await page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px at 200% text"
    await page.locator("#join-submit").scroll_into_view_if_needed()
    assert await page.locator("#join-submit").is_visible()
    await shot(page, "phone-join-200pct")
    st = await join(page, "大きな文字")
    assert st["joined"]
    await shot(page, "phone-plaza-200pct")
    assert not watch.errors, watch.errors


async def test_errors_are_shown_in_the_page_language(server, browser) -> None:
    page, _ = await open_page(browser, server.url + "/?room=dx-committee&token=forged.token")
    await page.wait_for_selector("#join-submit")
    await page.fill("#join-name", "テスト")
    await page.click("#join-submit")
    await page.wait_for_function(
        "() => document.getElementById('join-error').textContent.trim().length > 0")
    message = await page.text_content("#join-error")
    assert message and "bad_token" not in message, "a sentence, not a code"
    assert await page.evaluate("() => window.hiroba.state().joined") is False

    await page.goto(server.url)
    await page.wait_for_selector("#join-submit")
    await page.fill("#join-name", "   ")
    await page.click("#join-submit")
    await page.wait_for_function(
        "() => document.getElementById('join-error').textContent.trim().length > 0")
    assert await page.evaluate("() => window.hiroba.state().joined") is False


async def test_hostile_names_render_as_text(server, browser) -> None:
    page, watch = await open_page(browser, server.url)
    await join(page, "見る人")
    nasty = "<img src=x onerror=alert(1)>"
    bot = socketio.AsyncClient(reconnection=False)
    await bot.connect(server.url, transports=["websocket"])
    try:
        ack = await bot.call("join", {"name": nasty[:24], "room": "plaza", "lang": "ja"})
        assert ack["ok"], ack
        await page.wait_for_function(
            "(id) => window.hiroba.state().participants.some(p => p.id === id)",
            arg=ack["self"])
        names = [p["name"] for p in (await state(page))["participants"]]
        assert nasty[:24] in names
        assert await page.evaluate("() => document.querySelectorAll('img').length") == 0
        dialogs: list[str] = []
        page.on("dialog", lambda d: dialogs.append(d.message))
        await page.wait_for_timeout(500)
        assert dialogs == []
    finally:
        await bot.disconnect()
    assert not watch.errors, watch.errors
