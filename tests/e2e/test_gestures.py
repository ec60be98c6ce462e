"""A committee vote by show of hands (挙手) or standing (起立) seen in Chromium (issue 16,
part E): the avatars of the members voting yes raise a hand / stand up from their seat on
the chair's page and on a citizen's phone in the gallery, eased, and come down again when
they withdraw; mid and far avatars show a raised arm from the crowd batch.

The `committee:state` is put into each page's own socket.io WebSocket as the server would
send it (Playwright routes the socket through to the real server and adds the frame), so
the page takes the same path as for the server's; the members are real participants
seated on the stage.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from playwright.async_api import Browser, Page, WebSocketRoute

from bench.clients.chromium import PHONE
from rooms.model import Role
from tests.e2e.conftest import PageWatch, fill_name, shot
from tests.meetings import COMMITTEE, add_staff, admitted, console, invitation

HEAD_TOP = 1.13 + 2 * 0.22  # NECK_Y + 2 HEAD_R in scene/avatar.js
SEATED_DROP = 0.55
SOCKET_IO = re.compile(r"/socket\.io/")


class Routed:
    """A page whose socket.io WebSockets pass through Playwright, so a test can add frames.

    Once the test sends its own `committee:state`, the server's are held back: the real
    server has no vote open, and a broadcast of its state (a late join, a quorum change)
    arriving after the test's would lower the hands mid-check.
    """

    def __init__(self) -> None:
        self.sockets: list[WebSocketRoute] = []
        self.own_committee = False

    async def route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda message: self.from_server(ws, message))
        self.sockets.append(ws)

    def from_server(self, ws: WebSocketRoute, message: str | bytes) -> None:
        if (self.own_committee and isinstance(message, str)
                and message.startswith('42["committee:state"')):
            return
        ws.send(message)

    def send(self, event: str, body: Any) -> None:
        self.own_committee = self.own_committee or event == "committee:state"
        # engine.io "message" (4) carrying a socket.io EVENT (2) on the default namespace
        self.sockets[-1].send("42" + json.dumps([event, body], ensure_ascii=False))


async def announced(page: Page, text: str) -> None:
    await page.wait_for_function(
        "(t) => (document.getElementById('live').textContent || '').includes(t)",
        arg=text, timeout=10_000)


async def open_routed(browser: Browser, url: str, **context: Any) -> tuple[Page, Routed]:
    ctx = await browser.new_context(**context)
    page = await ctx.new_page()
    PageWatch(page)
    routed = Routed()
    await page.route_web_socket(SOCKET_IO, routed.route)
    await page.goto(url)
    return page, routed


async def enter(page: Page, name: str) -> None:
    await fill_name(page, name)
    await page.wait_for_function(
        "(room) => [...document.querySelectorAll('#join-room option')].some(o => o.value === room)",
        arg=COMMITTEE)
    await page.select_option("#join-room", COMMITTEE)
    await page.click("#join-submit")


def committee_state(method: str, raised: list[str], state: str = "open") -> dict[str, Any]:
    return {"seats": 4, "needed": 2, "counted": 3, "quorum": True, "rollcall": False,
            "members": [], "motions": [{"id": "m1", "title": "議案第1号"}],
            "vote": {"id": "v1", "motion": "m1", "method": method, "state": state,
                     "opened_at": 0, "cast": {}, "raised": raised, "results": None},
            "closed_session": None, "gallery": {"now": 1, "peak": 1, "total": 1}}


async def gestures(page: Page) -> dict[str, Any]:
    return await page.evaluate("() => window.hiroba.state().gestures")  # type: ignore[no-any-return]


async def until(page: Page, check: str, arg: Any) -> None:
    await page.wait_for_function(
        f"(arg) => {{ const g = window.hiroba.state().gestures; return !!g && ({check}); }}",
        arg=arg, timeout=15_000)


async def test_hands_up_and_standing_seen_by_the_chair_and_the_gallery(
    server: Any, browser: Browser, made: list[Any]
) -> None:
    await add_staff(server)
    staff = await console(server, made)
    names = ("田中委員", "佐藤委員", "鈴木委員")
    members = [await admitted(server, made, staff, name) for name in names]
    pids = [m.ack["self"] for m in members]
    # gallery citizens, enough that some are drawn mid or far on the chair's page
    crowd = [await admitted(server, made, staff, f"傍聴{i}", Role.CITIZEN) for i in range(16)]

    link = {"room": COMMITTEE, "token": invitation(server, COMMITTEE, Role.CHAIR, "山田委員長")}
    chair, chair_ws = await open_routed(browser, server.url + "/?" + urlencode(link),
                                        viewport={"width": 1280, "height": 800})
    await enter(chair, "x")
    citizen, citizen_ws = await open_routed(browser, server.url + "/",
                                            **{**PHONE, "device_scale_factor": 1})
    await enter(citizen, "さくら")
    await citizen.wait_for_selector("#lobby-screen:not([hidden])")
    waiting = (await staff.act("lobby:list"))["lobby"]
    sakura = next(w["pid"] for w in waiting if w["name"] == "さくら")
    await staff.act("lobby:admit", {"target": sakura})
    for page in (chair, citizen):
        await page.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
        await page.wait_for_function("(n) => window.hiroba.state().participants.length === n",
                                     arg=len(pids) + len(crowd) + 2)
    everyone = (await chair.evaluate("() => window.hiroba.state()"))["participants"]
    seated = {p["id"] for p in everyone if p["seat"]}
    assert set(pids) <= seated, "the members sit on the stage"

    # Two members raise their hands (and, for the crowd batch, every gallery citizen: the
    # page draws whatever pids the server names).
    crowd_pids = [c.ack["self"] for c in crowd]
    hands = committee_state("hands", [pids[0], pids[1], *crowd_pids])
    for routed in (chair_ws, citizen_ws):
        routed.send("committee:state", hands)
    # (the easing itself is tested under node: software WebGL draws a frame every few
    # hundred ms here, so a page is rarely caught part-way)
    for page in (chair, citizen):
        await until(page, "arg.every(p => g.pids[p] && g.pids[p].weight === 1)", pids[:2])
        g = await gestures(page)
        for pid in pids[:2]:
            assert g["pids"][pid]["gesture"] == "hand" and g["pids"][pid]["level"] == "near"
            assert g["pids"][pid]["hand"] > HEAD_TOP, g["pids"][pid]  # above the head
        assert pids[2] not in g["pids"]
        assert g["drawn"]["near"] >= 2
    # every mid or far avatar drawn (all of them gallery citizens with a hand up: the stage
    # is always near) shows its arm, from the one crowd batch
    for page in (chair, citizen):
        await page.wait_for_function(
            "() => { const s = window.hiroba.state(); const d = s.render.drawn;"
            " return s.gestures.drawn.mid === d.mid && s.gestures.drawn.far === d.far; }")
    await announced(chair, "挙手 18名")
    await shot(chair, "gestures-hands-desktop")
    await shot(citizen, "gestures-hands-phone")

    # One withdraws: that hand comes down (and is forgotten), the other stays up.
    left = committee_state("hands", [pids[1]])
    for routed in (chair_ws, citizen_ws):
        routed.send("committee:state", left)
    for page in (chair, citizen):
        await until(page, "g.pids[arg[0]].weight === 0 && g.pids[arg[1]].weight === 1"
                    " && g.drawn.mid + g.drawn.far === 0", pids[:2])
    await announced(chair, "挙手 1名")

    # A standing vote: the third member stands up from the seat, then sits at the close.
    standing = committee_state("standing", [pids[2]])
    standing["vote"]["id"] = "v2"
    for routed in (chair_ws, citizen_ws):
        routed.send("committee:state", standing)
    for page in (chair, citizen):
        await until(page, "g.pids[arg] && g.pids[arg].weight === 1 && g.pids[arg].drop === 0",
                    pids[2])
        g = await gestures(page)
        assert g["pids"][pids[2]]["gesture"] == "stand" and g["pids"][pids[2]]["hand"] is None
        # the earlier vote's hand goes down
        assert pids[1] not in g["pids"] or not g["pids"][pids[1]]["up"]
    await shot(chair, "gestures-standing-desktop")
    closed = committee_state("standing", [pids[2]], state="closed")
    for routed in (chair_ws, citizen_ws):
        routed.send("committee:state", closed)
    for page in (chair, citizen):
        await until(page, "Object.values(g.pids).every(p => !p.up && p.weight === 0)", None)
        g = await gestures(page)
        assert g["drawn"] == {"near": 0, "mid": 0, "far": 0}
        assert all(p["drop"] in (0, SEATED_DROP) for p in g["pids"].values())
