"""Faces you can see (issue 18): the speaker view and the council-chamber stage.

A member given the floor is shown in a close-up on a citizen's page in the automatic mode:
across the top of a 390×844 phone, as a picture-in-picture on a 1280×800 desktop, with the
name, role and countdown under it (the caption), announced; the citizen switches to the
room view with the keyboard and the choice is remembered; then the chamber's screen in 3D
carries the speaker and the countdown instead (each on the screen once). The seated
members' nameplates name them, name labels never render under the minimum size, the
speaker's is highlighted, and no control is covered. Screenshots: test-artifacts/speaker-*.
"""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.async_api import Browser, Page

from rooms.model import Role
from tests.conftest import ROOT, Client
from tests.e2e.conftest import shot, state
from tests.e2e.test_layout_phone import COVERED, DESKTOP, PHONE_1X
from tests.e2e.test_meeting import enter, meeting
from tests.meetings import CONSULTATION, add_staff, admitted, console

JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text())
CLOCK = re.compile(r"\d+:\d\d")
#: scene/labels.js MIN_LABEL_PX: a label's height on the screen, never less.
MIN_LABEL_PX = 18


async def _floor_to_member(browser: Browser, server: Any, made: list[Client],
                           context: dict[str, Any]) -> tuple[Page, Any, str]:
    staff = await console(server, made, CONSULTATION)
    page, watch = await enter(browser, server, "見る人", CONSULTATION, **context)
    member = await admitted(server, made, staff, "田中委員", Role.MEMBER, CONSULTATION)
    pid = member.ack["self"]
    title = "公園の遊具について"
    await staff.act("agenda:add", {"title": title, "planned": 600})
    agenda = await staff.expect("meeting:agenda", lambda a: any(
        i["title"] == title for i in a["items"]))
    item = next(i["id"] for i in agenda["items"] if i["title"] == title)
    await staff.act("agenda:open", {"item": item})
    await page.wait_for_function("(t) => window.hiroba.meeting().agenda === t", arg=title)
    await page.wait_for_function(
        "(pid) => window.hiroba.state().participants.some(p => p.id === pid)", arg=pid)
    await staff.act("floor:give", {"target": pid, "limit": 120})
    await page.wait_for_function("() => window.hiroba.meeting().floorState === 'speaking'")
    return page, watch, pid


async def test_speaker_view_on_a_phone(server: Any, browser: Browser) -> None:
    await add_staff(server)
    made: list[Client] = []
    try:
        page, watch, pid = await _floor_to_member(browser, server, made, PHONE_1X)
        # automatic: the close-up shows the floor holder, named with the role
        await page.wait_for_function(
            "(pid) => window.hiroba.state().speakerView.showing === pid", arg=pid, timeout=5_000)
        s = await state(page)
        sv = s["speakerView"]
        assert sv["mode"] == "auto" and sv["on"] and "田中委員" in sv["name"], sv
        assert JA["role.member"] in sv["name"]
        # the extra pass was drawn, its cost reported
        await page.wait_for_function("() => window.hiroba.state().render.speaker.calls > 0")
        stats = (await state(page))["render"]
        assert 0 < stats["speaker"]["calls"] <= stats["calls"] + 8, stats
        assert await page.is_visible("#speaker-frame")
        frame = await page.evaluate(
            "() => { const r = document.getElementById('speaker-frame').getBoundingClientRect();"
            " return [r.width, r.height, r.top]; }")
        assert frame[0] >= 200 and frame[1] >= 150, frame
        # the caption: name, role and countdown, visible once; the 3D screen the agenda only
        caption = await page.text_content("#floor-now") or ""
        assert "田中委員" in caption and CLOCK.search(caption), caption
        assert await page.is_visible("#floor-role")
        screen = (await meeting(page))["screen"]
        assert screen["agenda"] and screen["speaker"] == "" and screen["clock"] == "", screen
        # announced (the floor's assertive live region), and the picture has a name
        assert "田中委員" in (await page.text_content("#floor-live") or "")
        label = await page.get_attribute("#speaker-frame", "aria-label") or ""
        assert "田中委員" in label, label
        # the seated member's nameplate, the chair's seat marked in the seat order
        plates = (await state(page))["nameplates"]
        assert any("田中委員" in p for p in plates), plates
        # name labels: never under the minimum, the speaker's highlighted
        labels = (await state(page))["labels"]
        assert labels and min(x["px"] for x in labels) >= MIN_LABEL_PX - 0.5, labels
        assert any(x["id"] == pid and x["highlight"] for x in labels), labels
        assert await page.evaluate(COVERED) == []
        await shot(page, "speaker-view-phone")
        # a short window (a phone held sideways, a small laptop): the view covers nothing
        # (there the first-visit hint already sits over the joystick, view or not)
        await page.set_viewport_size({"width": 480, "height": 600})
        await page.wait_for_timeout(300)
        await shot(page, "speaker-view-short")
        covered = await page.evaluate(COVERED)
        assert [c for c in covered if "speaker" in c] == [], covered
        await page.set_viewport_size(PHONE_1X["viewport"])

        # the room view, by keyboard only: announced, remembered, the pass skipped
        await page.focus("#speaker-mode")
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("ArrowDown")
        await page.wait_for_function("() => window.hiroba.state().speakerView.mode === 'room'")
        s = await state(page)
        assert s["speakerView"]["showing"] is None and not s["speakerView"]["on"]
        await page.wait_for_function("() => window.hiroba.state().render.speaker.calls === 0")
        assert await page.is_hidden("#speaker-frame") or not await page.evaluate(
            "() => document.getElementById('speaker-view').classList.contains('on')")
        live = await page.text_content("#live") or ""
        assert JA["speaker.modeChanged"].format(mode=JA["speaker.mode.room"]) in live, live
        assert await page.evaluate("() => localStorage.getItem('hiroba.speakerView')") == "room"
        # now the chamber's screen carries the speaker and the countdown (once on screen)
        await page.wait_for_function("() => window.hiroba.meeting().screen.speaker !== ''")
        screen = (await meeting(page))["screen"]
        assert "田中委員" in screen["speaker"] and CLOCK.search(screen["clock"]), screen
        # still there for screen readers
        assert "田中委員" in (await page.text_content("#floor-now") or "")
        assert await page.evaluate(COVERED) == []
        await shot(page, "speaker-stage-phone")
        assert not watch.errors, watch.errors
    finally:
        for c in made:
            await c.close()


async def test_picture_in_picture_on_a_desktop(server: Any, browser: Browser) -> None:
    await add_staff(server)
    made: list[Client] = []
    try:
        page, watch, pid = await _floor_to_member(browser, server, made, DESKTOP)
        await page.wait_for_function(
            "(pid) => window.hiroba.state().speakerView.showing === pid", arg=pid, timeout=5_000)
        await page.wait_for_function("() => window.hiroba.state().render.speaker.calls > 0")
        box = await page.evaluate(
            "() => { const r = document.getElementById('speaker-view').getBoundingClientRect();"
            " const h = document.getElementById('hud').getBoundingClientRect();"
            " return {left: r.left, top: r.top, width: r.width, hud: h.bottom}; }")
        # a picture-in-picture: a corner of the room, under the HUD, not the whole view
        assert box["top"] >= box["hud"] - 1 and box["width"] < 640 and box["left"] < 40, box
        assert await page.evaluate(COVERED) == []
        await shot(page, "speaker-view-desktop")
        await page.select_option("#speaker-mode", "room")
        await page.wait_for_function("() => window.hiroba.meeting().screen.speaker !== ''")
        await page.wait_for_timeout(300)
        await shot(page, "speaker-stage-desktop")
        assert not watch.errors, watch.errors
    finally:
        for c in made:
            await c.close()
