"""Nothing covers a control, on a 390×844 phone and a 1280×800 desktop (issue 15, the
phone-sized layout check): for each state of a meeting the page can be in (waiting in the
lobby, floor given to this citizen with the countdown running, a caption showing, a poll
open, recording), the centre of every visible button and input must hit that control.

Staff act through a socket client (no console page to draw); one citizen page per
viewport goes through the states in turn, with the meeting panel closed and open.
Screenshots go to test-artifacts/layout-*.png: of a state where something is covered, or
of every state with HIROBA_LAYOUT_SHOTS=1.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from bench.clients.chromium import PHONE
from tests.conftest import Client
from tests.e2e.conftest import PageWatch, shot
from tests.e2e.test_meeting import enter, meeting
from tests.meetings import COMMITTEE, add_staff, console

PHONE_1X: dict[str, Any] = {**PHONE, "device_scale_factor": 1}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}

#: Every visible control whose centre lies in the viewport (and inside the scroll boxes
#: around it) and is hit by something else: ["#id or tag.text → what covers it", ...].
COVERED = """() => {
  const out = [];
  const name = (e) => e.id ? '#' + e.id
    : e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ')[0] : '')
      + '(' + (e.textContent || e.getAttribute('aria-label') || '').trim().slice(0, 20) + ')';
  // controls, plus the joystick and the status lines a speaker must be able to read
  const sel = 'button, input, select, textarea, summary, a[href], '
    + '#joystick, #voice-status, #face-status, #recording-badge';
  for (const e of document.querySelectorAll(sel)) {
    if (e.closest('[hidden]') || e.type === 'hidden') continue;
    // inside a closed <details> (not its summary): not shown, though Chromium gives it a box
    const shut = e.closest('details:not([open])');
    if (shut && !shut.querySelector(':scope > summary')?.contains(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    const st = getComputedStyle(e);
    if (st.visibility !== 'visible' || Number(st.opacity) === 0) continue;
    if (e.closest('.visually-hidden')) continue;
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) continue;
    // the centre and four points inward of the corners: a half-covered button counts
    const points = [[x, y], [r.left + r.width * 0.2, y], [r.right - r.width * 0.2, y],
                    [x, r.top + r.height * 0.25], [x, r.bottom - r.height * 0.25]];
    // scrolled out of its panel is not covered
    let clipped = false;
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowY;
      if (o === 'visible') continue;
      const ar = a.getBoundingClientRect();
      if (x < ar.left || x > ar.right || y < ar.top || y > ar.bottom) { clipped = true; break; }
      // half scrolled out of a scrolling panel: the panel's edge, not a cover
      const scrolls = o === 'auto' || o === 'scroll';
      if (scrolls && (r.top < ar.top || r.bottom > ar.bottom)) { clipped = true; break; }
    }
    if (clipped) continue;
    for (const [px, py] of points) {
      const hit = document.elementFromPoint(px, py);
      if (hit && (hit === e || e.contains(hit) || (hit.control && hit.control === e))) continue;
      if (hit && e.labels && [...e.labels].some((l) => l.contains(hit))) continue;
      out.push(name(e) + ' -> ' + (hit ? name(hit) : 'nothing'));
      break;
    }
  }
  return out;
}"""


#: Screenshot every state, not only the failing ones.
ALL_SHOTS = os.environ.get("HIROBA_LAYOUT_SHOTS") == "1"


async def covered(page: Page) -> list[str]:
    return await page.evaluate(COVERED)  # type: ignore[no-any-return]


async def check(page: Page, label: str, problems: dict[str, list[str]]) -> None:
    """Hit-test with the meeting panel closed and open; screenshot both."""
    for open_ in (False, True):
        if await page.is_visible("#meeting-toggle"):
            expanded = await page.get_attribute("#meeting-toggle", "aria-expanded") == "true"
            if expanded != open_:
                await page.click("#meeting-toggle")
        elif open_:
            continue
        await page.evaluate("() => new Promise(requestAnimationFrame)")
        key = f"{label}-{'panel' if open_ else 'closed'}"
        found = await covered(page)
        # A screenshot in software WebGL costs seconds: taken when something is covered,
        # or for every state with HIROBA_LAYOUT_SHOTS=1 (to look at the pages as a person).
        if found or ALL_SHOTS:
            await shot(page, f"layout-{key}")
        if found:
            problems[key] = found


async def run_states(browser: Browser, server: Any, who: str,
                     context: dict[str, Any]) -> dict[str, list[str]]:
    await add_staff(server)
    made: list[Client] = []
    staff = await console(server, made, COMMITTEE)
    problems: dict[str, list[str]] = {}
    try:
        page, watch = await enter(browser, server, who, COMMITTEE, wait="lobby", **context)
        found = await covered(page)
        if found or ALL_SHOTS:
            await shot(page, f"layout-{who}-lobby")
        if found:
            problems["lobby"] = found
        await staff.act("lobby:admit", {"target": (await lobby_target(staff, who))})
        await page.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
        items = staff.ack["meeting"]["agenda"]["items"]
        await staff.act("agenda:open", {"item": items[0]["id"]})

        # the floor to this citizen, the countdown running
        if await page.is_hidden("#meeting-panel"):
            await page.click("#meeting-toggle")
        await page.click("#tab-floor")
        await page.click("#hand-raise")
        await page.wait_for_function("() => window.hiroba.meeting().position === 1")
        await staff.act("floor:give", {"limit": 120})
        await page.wait_for_function("() => window.hiroba.meeting().floorState === 'speaking'")
        await check(page, f"{who}-floor", problems)
        # the panel's agenda clock and the banner's read the same clock
        await page.wait_for_timeout(1500)
        clocks = await page.evaluate(
            "() => [document.getElementById('agenda-now').textContent,"
            " document.querySelector('#agenda-list [aria-current=\"true\"] .clock').textContent]")
        assert clocks[1] in clocks[0], clocks

        await staff.act("caption:post",
                        {"text": "ただいまから委員会を開会します。本日の議題は三件です。"})
        await page.wait_for_function("() => window.hiroba.meeting().captions.length > 0")
        await check(page, f"{who}-caption", problems)

        await staff.act("poll:create",
                        {"question": "開催時間は適切ですか?", "options": ["はい", "いいえ"]})
        await page.wait_for_function("() => window.hiroba.meeting().polls.length > 0")
        if await page.is_hidden("#meeting-panel"):
            await page.click("#meeting-toggle")
        await page.click("#tab-polls")
        await check(page, f"{who}-poll", problems)

        await staff.act("recording:start", {"room": COMMITTEE})
        await page.wait_for_function("() => window.hiroba.meeting().recording === true")
        await check(page, f"{who}-recording", problems)
        assert not watch.errors, watch.errors
    finally:
        for c in made:
            await c.close()
    return problems


async def lobby_target(staff: Any, name: str) -> str:
    def entered(s: dict[str, Any]) -> bool:
        return any(e.get("type") == "lobby.entered" and e["waiter"]["name"] == name
                   for e in s.get("events", []))

    got = await staff.expect("meeting:staff", entered)
    return next(e["waiter"]["pid"] for e in got["events"]  # type: ignore[no-any-return]
                if e.get("type") == "lobby.entered" and e["waiter"]["name"] == name)


@pytest.mark.timeout(240)  # six states, two views each, in software WebGL
@pytest.mark.parametrize(("who", "context"), [("phone", PHONE_1X), ("desktop", DESKTOP)])
async def test_no_control_is_covered(server: Any, browser: Browser, who: str,
                                     context: dict[str, Any]) -> None:
    problems = await run_states(browser, server, who, context)
    assert not problems, "covered controls:\n" + "\n".join(
        f"{state}: {found}" for state, found in problems.items())


__all__ = ["COVERED", "PageWatch", "covered", "meeting"]
