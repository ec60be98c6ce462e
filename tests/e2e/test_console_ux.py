"""The staff console in Chromium (issue 15, defects 3 and 9): the recording badge is
legible while recording; deleting an agenda item asks first, naming the item, and is not
next to "go to this item"; the operations log reads as sentences in the console's
language, with adding, editing and deleting told apart."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from moderation.policy import Action
from tests.conftest import ROOT
from tests.e2e.conftest import open_page
from tests.meetings import COMMITTEE, STAFF_PASSWORD, add_staff

LANGS = ("ja", "en", "zh", "ko")
CATALOGUES = {lang: json.loads((ROOT / f"web_client/i18n/{lang}.json").read_text())
              for lang in LANGS}


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # The sources as they are, not a build another change may be making at the same time.
    return replace(settings, client_dev=True)


#: WCAG contrast of the badge's text against the colour actually painted behind it (the
#: nearest ancestor with an opaque background).
CONTRAST = """(id) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const badge = document.getElementById(id);
  let bg = null;
  for (let e = badge; e && !bg; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] === 1)) bg = c.slice(0, 3);
  }
  bg = bg || [255, 255, 255];
  const fg = rgb(getComputedStyle(badge).color).slice(0, 3);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return { ratio: (a + 0.05) / (b + 0.05), text: badge.textContent, fg, bg,
           visible: badge.offsetParent !== null };
}"""


async def console_in(browser: Browser, server: Any, room: str = COMMITTEE) -> Page:
    await add_staff(server)
    page, _ = await open_page(browser, server.url + "/console",
                              viewport={"width": 1280, "height": 900})
    await page.fill("#login-account", "jimu")
    await page.fill("#login-password", STAFF_PASSWORD)
    await page.click("#login-submit")
    await page.click(f"button[data-room='{room}']")
    await page.wait_for_function("() => window.hiroba.console().self")
    return page


async def test_recording_badge_is_legible_and_says_so(server: Any, browser: Browser) -> None:
    page = await console_in(browser, server)
    ja = CATALOGUES["ja"]
    off = await page.evaluate(CONTRAST, "rec-state")
    assert off["ratio"] >= 4.5, off
    await page.click("#rec-toggle")
    await page.wait_for_function("() => window.hiroba.console().recording")
    on = await page.evaluate(CONTRAST, "rec-state")
    assert on["visible"] and ja["recording.on"] in on["text"], on
    assert on["ratio"] >= 4.5, f"recording badge contrast {on['ratio']:.2f}: {on}"
    # Not colour alone: the text differs from the idle state's.
    assert on["text"] != off["text"]
    await page.click("#rec-toggle")
    await page.wait_for_function("() => !window.hiroba.console().recording")


async def add_item(page: Page, title: str) -> None:
    await page.fill("#agenda-title", title)
    await page.click("#agenda-form button[type=submit]")
    await page.wait_for_function(
        "(t) => [...document.querySelectorAll('#agenda-items .title')]"
        ".some(e => e.textContent.includes(t))",
        arg=title)


async def test_deleting_an_agenda_item_asks_and_the_log_reads(server: Any,
                                                              browser: Browser) -> None:
    page = await console_in(browser, server)
    await page.select_option("#console-lang", "en")
    await page.wait_for_function("() => document.documentElement.lang === 'en'")
    await add_item(page, "Budget 2027")
    item = page.locator("#agenda-items li", has_text="Budget 2027")
    delete = item.locator("button.delete")
    go = item.locator("button", has_text=CATALOGUES["en"]["agenda.open"])
    # Apart from "go to this item": not its neighbour, and a visible gap between them.
    assert await delete.count() == 1 and await go.count() == 1
    # Apart from "go to this item": behind the item's "edit" section, not beside it.
    assert await item.evaluate(
        "(li) => !!li.querySelector('details.edit button.delete')"
        " && !li.querySelector('details.edit')?.open"), "delete sits beside go-to-item"
    assert not await delete.is_visible()
    await item.locator("details.edit summary").click()

    # A dialog naming the item; cancelling keeps it.
    await delete.click()
    dialog = page.locator("#confirm-dialog")
    await dialog.wait_for(state="visible")
    assert "Budget 2027" in (await dialog.text_content() or "")
    await page.click("#confirm-cancel")
    await dialog.wait_for(state="hidden")
    assert await item.count() == 1
    # Confirming deletes it.
    await delete.click()
    await dialog.wait_for(state="visible")
    await page.click("#confirm-ok")
    await item.wait_for(state="detached")

    # The log: sentences, no raw codes, add and delete worded apart.
    await page.wait_for_function(
        "() => document.querySelectorAll('#audit-list li:not(.empty)').length >= 2")
    lines = await page.eval_on_selector_all(
        "#audit-list li",
        "ls => ls.map(l => l.querySelector('.what')?.textContent || l.textContent)")
    text = "\n".join(lines)
    assert not re.search(r"\b[a-z_]+\.[a-z_]+\b", text), f"raw codes in the log: {text}"
    en = CATALOGUES["en"]
    removed, added = en["audit.agenda.remove"], en["audit.agenda.add"]
    assert removed != added
    # the deletion names the item (gone from the agenda by then)
    assert removed.format(item="Budget 2027") in lines, lines
    assert added in lines, lines


def test_every_audited_action_has_words_in_every_language() -> None:
    from moderation.audit import KINDS
    kinds = {a.value for a in Action} | set(KINDS)
    for lang, catalogue in CATALOGUES.items():
        missing = sorted(k for k in kinds if f"audit.{k}" not in catalogue)
        assert not missing, f"{lang}: {missing}"


async def test_staff_set_categories_and_lobby_in_the_console(server: Any,
                                                             browser: Browser) -> None:
    """Defect 10: category labels per language and the lobby switch, set in the console."""
    page = await console_in(browser, server, "park-consultation")
    await page.wait_for_function(
        "() => document.getElementById('settings-lobby').value === 'default'")
    await page.select_option("#settings-lobby", "on")
    await page.fill("#settings-categories", "環境 | 環境 | Environment | 环境 | 환경\n交通")
    await page.click("#settings-form button[type=submit]")
    await page.wait_for_function(
        "() => window.hiroba.console().audit.includes('room.settings')")
    body = await page.evaluate(
        "async () => (await fetch('/api/rooms/park-consultation/settings')).json()")
    assert body["lobby"] is True
    assert body["categories"] == [
        {"value": "環境", "label": {"ja": "環境", "en": "Environment", "zh": "环境", "ko": "환경"}},
        {"value": "交通", "label": {}}]
    line = await page.text_content("#audit-list li:first-child .what")
    assert line == CATALOGUES["ja"]["audit.settings.lobby_on"]
