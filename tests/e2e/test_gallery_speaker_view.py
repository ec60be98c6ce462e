"""The speaker view on the public gallery page (issues 18 and 19).

A committee member is given the floor; the gallery page (no person of its own) shows the
main page's speaker view: the close-up of the member's stage avatar (``s<slot>``, the
floor's ``holder_slot``), named with the role, across the top of a 390x844 phone and as a
picture-in-picture at 1280x800, covering no control. The viewer's choice of the room view
is kept on the device; a closed session turns the view off. Before the floor is given and
after it is revoked, the chair's voice (an aiortc peer's tone) puts the chair in the
close-up; when it stops (3 s on), the view goes. Screenshots:
test-artifacts/gallery-speaker-phone.png, gallery-speaker-desktop.png.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace

import pytest
from playwright.async_api import Browser

from bench.clients.audio_peers import Tone
from rooms.model import Role
from server.config.settings import Settings
from tests.conftest import ROOT, Client, Server
from tests.e2e.conftest import shot
from tests.e2e.test_gallery_page import (
    DESKTOP,
    PHONE_1X,
    Mover,
    gstate,
    listen,
    open_gallery,
    until,
)
from tests.e2e.test_layout_phone import covered
from tests.meetings import COMMITTEE, add_staff, admitted, console, publish_audio

JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text())
FRAME_BOX = """() => { const r = document.getElementById('speaker-frame').getBoundingClientRect();
  const c = document.getElementById('scene').getBoundingClientRect();
  return {left: r.left - c.left, top: r.top - c.top, width: r.width, height: r.height,
          canvasWidth: c.width}; }"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ice_host_addresses=("127.0.0.1",))  # the chair's WebRTC on loopback


async def test_the_gallery_shows_the_floor_holder(server: Server, browser: Browser) -> None:
    await add_staff(server)
    made: list[Client] = []
    try:
        staff = await console(server, made, COMMITTEE)
        chair = await admitted(server, made, staff, "山田委員長", Role.CHAIR)
        chair_slot = next(p["slot"] for p in chair.ack["snapshot"]["participants"]
                          if p["id"] == chair.ack["self"])  # fmt: skip
        pc = await publish_audio(chair, Tone(hz=600.0))
        member = await admitted(server, made, staff, "田中委員", Role.MEMBER)
        pid = member.ack["self"]
        slot = next(p["slot"] for p in member.ack["snapshot"]["participants"] if p["id"] == pid)
        # the faces over the motion plane (a stage entry is posed once it moves)
        async with contextlib.AsyncExitStack() as movers:
            await movers.enter_async_context(Mover(server, chair.ack).running())
            await movers.enter_async_context(Mover(server, member.ack).running())
            phone, watch = await open_gallery(browser, server, PHONE_1X)
            await until(phone, f"s.stage.some((p) => p.slot === {slot})")
            s = await gstate(phone)
            assert s["speakerView"] == {"mode": "auto", "showing": None, "name": None, "on": False}
            # the chair's voice heard (the floor open): the chair in the close-up
            await listen(phone, "webcodecs")
            await until(phone, f"s.speakerView.on && s.speakerView.showing === 's{chair_slot}'")
            assert "山田委員長" in (await gstate(phone))["speakerView"]["name"]
            await staff.act("agenda:advance")
            await staff.act("floor:give", {"target": pid, "limit": 120})
            # automatic: the close-up of the holder's stage avatar, named with the role, drawn
            shown = f"s.speakerView && s.speakerView.on && s.speakerView.showing === 's{slot}'"
            await until(phone, shown)
            await until(phone, "s.speakerPass > 0")
            sv = (await gstate(phone))["speakerView"]
            assert "田中委員" in sv["name"] and JA["role.member"] in sv["name"], sv
            assert "田中委員" in (await phone.text_content("#speaker-name") or "")
            assert "田中委員" in (await phone.get_attribute("#speaker-frame", "aria-label") or "")
            # across the top of the phone's room, big enough for a face, nothing covered
            box = await phone.evaluate(FRAME_BOX)
            assert box["top"] < 20 and box["width"] >= 180 and box["height"] >= 130, box
            assert await covered(phone) == []
            await phone.wait_for_timeout(400)
            await shot(phone, "gallery-speaker-phone")
            # the room view, chosen and kept on the device; then automatic again
            await phone.select_option("#speaker-mode", "room")
            await until(phone, "!s.speakerView.on && s.speakerView.showing === null")
            kept = "() => localStorage.getItem('hiroba.speakerView')"
            assert await phone.evaluate(kept) == "room"
            await phone.select_option("#speaker-mode", "auto")
            await until(phone, f"s.speakerView.showing === 's{slot}'")

            # a desktop: a picture-in-picture in the room's corner
            desk, desk_watch = await open_gallery(browser, server, DESKTOP)
            await until(desk, f"{shown} && s.speakerPass > 0")
            box = await desk.evaluate(FRAME_BOX)
            assert box["left"] < 40 and box["top"] < 40, box
            assert box["width"] < box["canvasWidth"] / 2, box
            assert await covered(desk) == []
            await desk.wait_for_timeout(400)
            await shot(desk, "gallery-speaker-desktop")

            # a closed session (秘密会): the view is off, and back when it reopens
            await staff.act("committee:closed_session", {"closed": True, "reason": "個人情報"})
            await until(phone, "s.closed && !s.speakerView.on && s.speakerView.showing === null")
            assert await phone.text_content("#speaker-name") == ""
            await staff.act("committee:closed_session", {"closed": False})
            await until(phone, f"!s.closed && {shown}")
            # the floor taken back: the chair, still heard, is in the close-up again; the
            # chair's voice gone, the automatic view goes
            await staff.act("floor:revoke")
            await until(phone, f"s.speakerView.showing === 's{chair_slot}'")
            await pc.close()
            await until(phone, "!s.speakerView.on && s.speakerView.showing === null")
            assert not watch.errors and not desk_watch.errors, (watch.errors, desk_watch.errors)
            await desk.context.close()
            await phone.context.close()
    finally:
        await pc.close()
        for c in made:
            await c.close()
