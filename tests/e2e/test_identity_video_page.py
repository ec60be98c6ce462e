"""Identity video in Chromium: a member's page sends Chromium's fake camera with
web_client/src/net/identity.js; the chair's page shows it in a tile of
web_client/src/ui/identityTiles.js (a decoded picture, an aria-label with the member's name).

The modules are not wired into the page layout yet (the chair's view is a later part), so
the pages import them from the served sources (``client_dev``) next to their own socket.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from rooms.model import Role
from server.console.routes import MEETINGS_KEY
from tests.conftest import Client
from tests.e2e.axe import CONTEXT, audit
from tests.e2e.conftest import open_page
from tests.meetings import COMMITTEE, add_staff, console, invitation, login, staff_post


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, ice_host_addresses=("127.0.0.1",), client_dev=True)


#: Joins the page's own socket to the committee with an invitation, then keeps the socket
#: (window.net) for the identity modules.
JOIN = """async ([name, token, room]) => {
  const { HirobaSocket } = await import('/app/src/net/socket.js');
  const net = new HirobaSocket({});
  window.net = net;
  window.admitted = new Promise((resolve) => net.socket.on('meeting:admitted', resolve));
  const ack = await net.join({ name, room, lang: 'ja', token });
  return { self: ack.self, place: ack.place };
}"""


async def joined(
    browser: Browser, server: Any, name: str, token: str
) -> tuple[Page, dict[str, Any]]:
    page, _watch = await open_page(browser, server.url + "/", **CONTEXT)
    return page, await page.evaluate(JOIN, [name, token, COMMITTEE])


async def test_the_chair_sees_a_members_camera_in_a_named_tile(server, browser) -> None:
    await add_staff(server)
    made: list[Client] = []
    staff = await console(server, made, COMMITTEE)
    try:
        chair, chair_ack = await joined(browser, server, "山田委員長",
                                        invitation(server, COMMITTEE, Role.CHAIR, "山田委員長"))
        member, member_ack = await joined(browser, server, "田中委員",
                                          invitation(server, COMMITTEE, Role.MEMBER, "田中委員"))
        for ack in (chair_ack, member_ack):
            if ack["place"] == "lobby":
                await staff.act("lobby:admit", {"target": ack["self"]})
        await member.evaluate("() => window.admitted")

        await chair.evaluate("""async () => {
          const { IdentityViewer } = await import('/app/src/net/identity.js');
          const { renderIdentityTiles } = await import('/app/src/ui/identityTiles.js');
          const { i18n } = await import('/app/src/i18n.js');
          await i18n.setLang('ja');
          const box = document.createElement('div');
          box.id = 'tiles';
          document.body.append(box);
          const viewer = new IdentityViewer(window.net, { slots: 2,
            onChange: () => renderIdentityTiles(box, viewer) });
          window.viewer = viewer;
          await viewer.start();
        }""")
        sent = await member.evaluate("""async () => {
          const { publishCamera } = await import('/app/src/net/identity.js');
          const cam = await publishCamera(window.net);
          const s = cam.stream.getVideoTracks()[0].getSettings();
          return { width: s.width, height: s.height, audio: cam.stream.getAudioTracks().length };
        }""")
        assert sent["audio"] == 0 and sent["width"] <= 640 and sent["height"] <= 480, sent

        # The chair's tile: the member's name, an aria-label with it, a decoded picture.
        await chair.wait_for_function(
            """() => { const v = document.querySelector('#tiles video');
                       return v && v.videoWidth > 0 && v.currentTime > 0; }""",
            timeout=20_000,
        )
        tile = await chair.evaluate("""() => ({
          label: document.querySelector('#tiles video').getAttribute('aria-label'),
          caption: document.querySelector('#tiles figcaption').textContent,
          role: document.getElementById('tiles').getAttribute('role'),
          width: document.querySelector('#tiles video').videoWidth,
        })""")
        assert "田中委員" in tile["label"] and tile["caption"] == "田中委員", tile
        assert tile["role"] == "list" and tile["width"] > 0
        # The tiles are list items a screen reader counts: axe finds nothing on them, the
        # minor findings included (a figure may not be a listitem; a list needs its items).
        # ("region" is this test's doing: its box is put straight into the body.)
        on_tiles = [str(v) for v in await audit(chair) if v.rule != "region" and any(
            "#tiles" in t or "identity" in h for t, h in zip(v.targets, v.html, strict=True))]
        assert not on_tiles, on_tiles

        # "The chair asks for your camera" reaches the member's page, by the chair's name.
        await member.evaluate("""() => { window.asked = new Promise((resolve) =>
          window.net.socket.on('identity:asked', resolve)); }""")
        ask = await chair.evaluate(
            "() => window.net.request('identity:ask', {member: 'm:田中委員'})")
        assert ask["ok"], ask
        asked = await member.evaluate("() => window.asked")
        assert asked["by"] == "山田委員長" and asked["member"] == "m:田中委員", asked

        # A committee that votes on camera: the ballot cast from this page while Chromium's
        # camera sends is taken, and kept as cast on camera.
        cookie, csrf = await login(server)
        status, _ = await staff_post(server, f"/api/rooms/{COMMITTEE}/settings",
                                     {"committee": {"camera_during_vote": True}},
                                     cookie=cookie, csrf=csrf)
        assert status == 200
        await staff.act("committee:rollcall", {"open": True})
        assert (await member.evaluate(
            "() => window.net.request('committee:present', {})"))["ok"]
        await staff.act("committee:verify", {"member": "m:田中委員", "method": "video"})
        await staff.act("committee:rollcall", {"open": False})
        motion = (await staff.act("committee:motion", {"title": "議案第1号"}))["motion"]
        vote = (await staff.act("committee:vote_open", {"motion": motion,
                                                        "method": "named"}))["vote"]
        cast = await member.evaluate(
            "(vote) => window.net.request('committee:vote_cast', {vote, choice: 'yes'})", vote)
        assert cast["ok"], cast
        held = server.app[MEETINGS_KEY].meeting(COMMITTEE).committee.votes[vote]
        assert held.camera_required and dict(held.camera) == {"m:田中委員": True}
    finally:
        for c in made:
            await c.close()
