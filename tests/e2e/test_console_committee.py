"""The staff console's committee panel in Chromium (issue 16): a chair and two members
(real socket clients) in a committee room; the console runs the roll call (from the
keyboard), records identity checks (by video, and another way with a reason), corrects a
member's attendance with a reason (shown in the panel with who made it, and in the audit
log), edits the quorum rule (needed changes at once; a bad fraction is refused in the form),
recuses a member, opens and closes a named vote and shows its results by name. Screenshots
at 1280×800 and 390×844 in test-artifacts/; axe clean."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from rooms.model import Role
from tests.e2e.axe import CONTEXT, check
from tests.e2e.conftest import open_page, shot
from tests.integration.test_committee_flow import member
from tests.meetings import STAFF_PASSWORD, add_staff, console

STATE = "() => window.hiroba.console().committee"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # The sources as they are, not a build another change may be making at the same time.
    return replace(settings, client_dev=True)


async def until(page: Page, predicate: str) -> None:
    """Wait until ``predicate`` (JS, given the console's committee state) holds."""
    await page.wait_for_function(f"() => {{ const c = window.hiroba.console().committee; "
                                 f"return !!c && ({predicate}); }}")


async def to_top(page: Page, selector: str) -> None:
    """Scroll ``selector``'s top just under the console's sticky bar."""
    await page.evaluate("(s) => { const r = document.querySelector(s).getBoundingClientRect();"
                        " const bar = document.querySelector('.console-bar').offsetHeight;"
                        " window.scrollTo(0, window.scrollY + r.top - bar - 8); }", selector)


async def text_of(page: Page, selector: str) -> str:
    return await page.locator(selector).inner_text()


async def test_the_console_runs_a_committee(server: Any, browser: Browser) -> None:
    made: list[Any] = []
    try:
        await run(server, browser, made)
    finally:
        for c in made:
            await c.close()


async def run(server: Any, browser: Browser, made: list[Any]) -> None:
    await add_staff(server)
    admitter = await console(server, made)
    chair = await member(server, made, admitter, "山田委員長", Role.CHAIR)
    a = await member(server, made, admitter, "委員A")
    b = await member(server, made, admitter, "委員B")

    page, watch = await open_page(browser, server.url + "/console",
                                  viewport={"width": 1280, "height": 800}, **CONTEXT)
    await page.fill("#login-account", "jimu")
    await page.fill("#login-password", STAFF_PASSWORD)
    await page.click("#login-submit")
    await page.click("button[data-room='dx-committee']")
    await until(page, "c.members.length === 3")
    assert await page.locator("#sec-committee").is_visible()
    assert await page.locator("#settings-committee").is_visible()

    # Roll call from the keyboard; the members answer from their own sessions.
    await page.focus("#cm-rollcall")
    await page.keyboard.press("Enter")
    await until(page, "c.rollcall")
    assert await page.get_attribute("#cm-rollcall", "aria-pressed") == "true"
    for who in (chair, a, b):
        await who.act("committee:present")
    await until(page, "c.members.every((m) => m.status === 'present')")
    await page.click("#cm-rollcall")
    await until(page, "!c.rollcall")

    # Identity: two by video (the per-member buttons), one another way with a reason.
    for name in ("山田委員長", "委員A"):
        await page.click(f"li[data-member='m:{name}'] button")
        await until(page, f"c.members.find((m) => m.member === 'm:{name}').verified")
    await page.select_option("#cm-verify-member", "m:委員B")
    await page.select_option("#cm-verify-method", "other")
    await page.click("#cm-verify-submit")  # no reason: refused in the form
    assert await text_of(page, "#cm-form-error") == "理由を入力してください。"
    await page.fill("#cm-verify-reason", "電話で本人確認")
    await page.click("#cm-verify-submit")
    await until(page, "c.counted === 3 && c.quorum")
    assert "他の方法" in await text_of(page, "li[data-member='m:委員B'] .cm-verified")

    # A correction needs a reason; it shows who made it, here and in the audit log.
    await page.select_option("#cm-correct-member", "m:委員B")
    await page.select_option("#cm-correct-status", "late")
    await page.click("#cm-correct-submit")
    assert await text_of(page, "#cm-form-error") == "理由を入力してください。"
    # (and on the wire: the server refuses a correction without a reason too)
    for reason in ("", None):
        body = {"member": "m:委員B", "status": "absent", "reason": reason}
        if reason is None:
            del body["reason"]
        ack = await admitter.call("committee:attendance", body)
        assert not ack["ok"] and ack["reason"] == "missing_field", ack
    await page.fill("#cm-correct-reason", "開会後に到着していた")
    await page.click("#cm-correct-submit")
    await until(page, "c.members.find((m) => m.member === 'm:委員B').status === 'late'")
    row = page.locator("#cm-corrections li[data-action='committee.attendance']")
    await row.wait_for()
    said = await row.inner_text()
    for part in ("委員B", "遅参", "事務局", "開会後に到着していた"):
        assert part in said, (part, said)
    audit = page.locator("#audit-list li[data-kind='committee.attendance']")
    await page.wait_for_function(
        "() => document.querySelectorAll(\"#audit-list li[data-kind='committee.attendance']\")"
        ".length === 3")
    done = await audit.first.inner_text()  # newest first
    assert "開会後に到着していた" in done and "出席状況を訂正" in done and "拒否" not in done
    for i in (1, 2):  # the two refused attempts, marked as such, the reason in words
        refused = await audit.nth(i).inner_text()
        assert "拒否" in refused and "必要な項目が足りません" in refused, refused

    # The quorum rule: a bad fraction is refused in the form; "more than half of 4 seats"
    # needs 3 at once.
    assert await page.input_value("#settings-fraction") == "1/2"
    await until(page, "c.needed === 2 && c.seats === 3")
    await page.fill("#settings-fraction", "3/2")
    await page.click("#settings-form button[type=submit]")
    assert "1/2" in await text_of(page, "#settings-rule-error")
    assert await page.get_attribute("#settings-fraction", "aria-invalid") == "true"
    await page.fill("#settings-fraction", "1/2")
    await page.select_option("#settings-strict", "true")
    await page.fill("#settings-seats", "4")
    await page.click("#settings-form button[type=submit]")
    await until(page, "c.needed === 3 && c.seats === 4 && c.quorum")
    assert "必要 3人（定数 4）" in await text_of(page, "#cm-quorum")
    assert "定数の1/2を超える" in await text_of(page, "#cm-rule")

    # The identity-check video: staff may view (no camera is sent here: the tiles say so).
    await page.click("#cm-video")
    await page.locator("#cm-tiles .identity-empty").wait_for()
    assert await page.get_attribute("#cm-video", "aria-pressed") == "true"
    assert await page.get_attribute("#cm-tiles", "role") == "list"
    await page.click("#cm-video")
    assert await page.locator("#cm-tiles").is_hidden()

    # A motion, a recusal, a named vote opened and closed from the console.
    await page.fill("#cm-motion-title", "議案第1号 公園条例の一部改正")
    await page.click("#cm-motion button[type=submit]")
    await until(page, "c.motions.length === 1")
    await page.select_option("#cm-recuse-member", "m:委員B")
    await page.select_option("#cm-recuse-motion", "1")
    await page.fill("#cm-recuse-reason", "利害関係（地方自治法117条）")
    await page.click("#cm-recuse button[type=submit]")
    await until(page, "c.members.find((m) => m.member === 'm:委員B').recused_for.length === 1")
    motion = page.locator("li[data-motion='1']")
    await motion.locator("select").select_option("named")
    await motion.locator("button").click()
    await until(page, "c.vote && c.vote.state === 'open'")
    vote = await page.evaluate(f"() => ({STATE})().vote.id")
    await a.act("committee:vote_cast", {"vote": vote, "choice": "yes"})
    await until(page, "Object.keys(c.vote.cast).length === 1")
    await page.click("#cm-vote-close")
    await until(page, "c.vote.results")
    await page.locator("#cm-results").wait_for()
    assert await text_of(page, "#cm-results tr[data-member='m:委員A'] td:first-of-type") == "賛成"
    assert await text_of(page, "#cm-results tr[data-member='m:委員B'] td:first-of-type") == "除斥"
    assert (await text_of(page, "#cm-vote-outcome")).startswith("可決")
    assert "原案可決" in await text_of(page, "li[data-motion='1']")
    audit_kinds = await page.evaluate("() => window.hiroba.console().audit")
    assert {"committee.verify", "committee.recuse", "vote.open", "vote.close"} <= set(audit_kinds)

    await to_top(page, "#sec-committee")
    await shot(page, "console_committee_1280x800")
    await to_top(page, "#h-cm-motions")
    await shot(page, "console_committee_vote_1280x800")
    await check(page, "console committee")

    # A phone: nothing wider than the screen, the controls not covered by anything.
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390
    for selector in ("#cm-rollcall", "#cm-correct-submit", "#cm-verify-submit",
                     "#cm-motion button[type=submit]", "#cm-video"):
        target = page.locator(selector)
        await target.scroll_into_view_if_needed()
        box = await target.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (selector, box)
        on_top = await target.evaluate(
            "(e) => { const r = e.getBoundingClientRect();"
            " const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);"
            " return !!hit && (hit === e || e.contains(hit)); }")
        assert on_top, selector
    await to_top(page, "#sec-committee")
    await shot(page, "console_committee_390x844")
    await page.locator("#cm-results").scroll_into_view_if_needed()
    await shot(page, "console_committee_results_390x844")
    await check(page, "console committee phone")
    # (The console asks for the session before login; Chromium logs that 401.)
    assert [e for e in watch.errors if "status of 401" not in e] == []
