"""The public gallery page (傍聴, issue 19) in Chromium against a real server.

The chair of a committee speaks (an aiortc peer publishing a 600 Hz tone) and moves (poses
over the motion plane); a phone opens ``/gallery?room=…`` with no name and no place taken.
After "音声を聞く" the page decodes the chair's Opus packets (WebCodecs) and the tone is in
its decoded audio; the stage avatar's head follows the chair's roll one way and the other,
shown with the audio's delay (the A/V offset within 80 ms); captions and the viewer count
show; axe finds nothing and no control is covered. The viewer raises a hand and asks to
speak under a name (staff see both), is promoted (the join page with the invitation, the
lobby, the room) and demoted back to the gallery page. A closed session (秘密会) silences
the page and empties its stage. A second page without ``AudioDecoder`` decodes with the
WASM fallback. Screenshots at 390x844 and 1280x800 in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page

from avatar import codec as pose_codec
from avatar.pose import Pose, TrackingState
from bench.clients.audio_peers import Tone
from bench.clients.chromium import PHONE
from rooms.model import Role
from server.config.settings import Settings
from server.motion import codec as motion_codec
from tests.conftest import Client, Server
from tests.e2e.axe import CONTEXT, check
from tests.e2e.conftest import PageWatch, shot
from tests.e2e.test_layout_phone import covered
from tests.meetings import (
    COMMITTEE,
    MeetingClient,
    add_staff,
    admitted,
    console,
    login,
    publish_audio,
    staff_post,
)

PHONE_1X: dict[str, Any] = {**PHONE, "device_scale_factor": 1}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
GALLERY = f"/gallery?room={COMMITTEE}"
#: The 3D view drawn ten times a second: software WebGL on a shared machine otherwise
#: starves the server (on the test's loop); what is tested is what the page decodes and
#: the pose it applies, not the frame rate.
SLOW_FRAMES = "window.requestAnimationFrame = (cb) => setTimeout(() => cb(performance.now()), 100);"
NO_WEBCODECS = "delete window.AudioDecoder; delete window.AudioEncoder;"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ice_host_addresses=("127.0.0.1",))  # WebRTC on loopback


class Mover:
    """The chair's poses over the motion plane, 20 a second, with the roll it is told."""

    def __init__(self, server: Server, ack: dict[str, Any]) -> None:
        self.server, self.ack = server, ack
        self.roll = 0.0
        me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
        self.where = (me["x"], me["z"], me["h"])

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Mover]:
        url = self.server.url.replace("http", "ws") + self.ack["motion"]["path"]
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            await ws.send_str(self.ack["motion"]["token"])
            assert (await ws.receive()).data == "ok"
            task = asyncio.create_task(self._send(ws))
            try:
                yield self
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _send(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        t = 0
        while True:
            t += 50
            record = pose_codec.encode(Pose(t, TrackingState.TRACKED, roll=self.roll))
            await ws.send_bytes(motion_codec.encode_uplink(*self.where, record))
            await asyncio.sleep(0.05)


async def gstate(page: Page) -> dict[str, Any]:
    return await page.evaluate("() => window.hiroba.state()")  # type: ignore[no-any-return]


async def until(page: Page, js: str, within_ms: float = 15_000) -> None:
    """Wait until ``js`` holds of the page state ``s``."""
    probe = f"() => {{ const s = window.hiroba && window.hiroba.state(); return !!s && ({js}); }}"
    await page.wait_for_function(probe, timeout=within_ms)


async def open_gallery(browser: Browser, server: Server, context: dict[str, Any],
                       init: str = SLOW_FRAMES) -> tuple[Page, PageWatch]:  # fmt: skip
    ctx = await browser.new_context(**context)
    await ctx.add_init_script(init)
    page = await ctx.new_page()
    watch = PageWatch(page)
    await page.goto(server.url + GALLERY)
    await until(page, "s.hello && s.frames > 5")
    return page, watch


async def listen(page: Page, decoder: str) -> dict[str, Any]:
    """Press "listen" (the gesture audio needs) and wait for the tone in the decoded audio."""
    await page.get_by_role("button", name="音声を聞く").click()
    await until(page, f"s.audio.listening && s.audio.decoder === '{decoder}' "
                      "&& s.audio.decoded > 25 && s.audio.peakLevel > 0.05")  # fmt: skip
    return await gstate(page)


async def test_the_gallery_page(server: Server, browser: Browser) -> None:
    await add_staff(server)
    made: list[Client] = []
    staff = await console(server, made, COMMITTEE)
    chair = await admitted(server, made, staff, "山田委員長", Role.CHAIR)
    people = chair.ack["snapshot"]["participants"]
    slot = next(p["slot"] for p in people if p["id"] == chair.ack["self"])
    tone = Tone(hz=600.0)
    pc = await publish_audio(chair, tone)
    cookie, csrf = await login(server)
    try:
        async with Mover(server, chair.ack).running() as mover:
            await watch_listen_and_see(browser, server, staff, chair, mover, slot)
            page = await ask_and_promote(browser, server, staff, cookie, csrf)
            await demote_and_close(page, server, staff, cookie, csrf)
            await wasm_fallback(browser, server)
    finally:
        await pc.close()
        for c in made:
            await c.close()


async def from_the_join_page(browser: Browser, server: Server) -> tuple[Page, PageWatch]:
    """The join page offers "watch only" for a meeting room: a link, reached by keyboard."""
    ctx = await browser.new_context(**PHONE_1X)
    await ctx.add_init_script(SLOW_FRAMES)
    page = await ctx.new_page()
    watch = PageWatch(page)
    await page.goto(server.url + "/")
    await page.wait_for_function(
        "(room) => [...document.querySelectorAll('#join-room option')].some(o => o.value === room)",
        arg=COMMITTEE,
    )
    await page.select_option("#join-room", COMMITTEE)
    link = page.get_by_role("link", name="傍聴する(見る・聞くだけ)")
    assert await link.get_attribute("href") == GALLERY
    await link.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**" + GALLERY)
    await until(page, "s.hello && s.frames > 5")
    return page, watch


async def watch_listen_and_see(browser: Browser, server: Server, staff: MeetingClient,
                               member: MeetingClient, mover: Mover, slot: int,
                               ) -> None:  # fmt: skip
    page, watch = await from_the_join_page(browser, server)
    s = await listen(page, "webcodecs")
    assert s["audio"]["errors"] == 0 and s["badMessages"] == 0
    # the chair on the stage, named, its head following the roll both ways
    for roll in (25.0, -25.0):
        mover.roll = roll
        await until(
            page,
            f"s.stage.some((p) => p.slot === {slot} && p.pose "
            f"&& Math.abs(p.pose.roll - ({roll})) < 1 "
            f"&& p.head && Math.sign(p.head.roll) === {int(math.copysign(1, roll))})",
        )
    s = await gstate(page)
    chair = next(p for p in s["stage"] if p["slot"] == slot)
    assert chair["name"] == "山田委員長" and chair["role"] == "chair"
    assert s["floor"] is None or isinstance(s["floor"], str)
    # voices and faces on one timeline: the poses wait as long as the audio does
    assert 150 <= s["jitterDelayMs"] <= 400, s
    assert s["avOffsetMs"] is not None and abs(s["avOffsetMs"]) <= 80, s
    # most packets played (how many come too late depends on how busy the machine is)
    assert s["audio"]["scheduled"] > s["audio"]["late"], s["audio"]
    figures = ("jitterDelayMs", "spreadMs", "poseDelayMs", "audioDelayMs", "avOffsetMs")
    print("gallery timing:", {k: s[k] for k in figures}, s["audio"])
    # captions and the viewer count
    await staff.act("caption:post", {"text": "ただいまから委員会を開きます"})
    await until(page, "s.captions.includes('ただいまから委員会を開きます')")
    assert "ただいまから委員会を開きます" in (await page.text_content("#gallery-captions") or "")
    await until(page, "s.viewers >= 1 && s.peak >= s.viewers")
    assert "傍聴者数: 1人" in (await page.text_content("#gallery-count") or "")
    # a phone: nothing covered, axe clean, a screenshot to look at
    assert await covered(page) == []
    await shot(page, "gallery-phone")
    # the room's public chat, read-only, collapsed under the agenda (axe sees it opened)
    await member.act("chat:send", {"text": "傍聴の皆さん、ようこそ"})
    # the open page gets it live (a chat STATE message), a page opened later in its hello
    await page.wait_for_selector("#gallery-chat li", state="attached")
    audit_page = await (await browser.new_context(**PHONE_1X, **CONTEXT)).new_page()
    await audit_page.goto(server.url + GALLERY)
    await audit_page.wait_for_function("() => window.hiroba && window.hiroba.state().hello")
    await audit_page.wait_for_selector("#gallery-chat li", state="attached")
    assert await audit_page.text_content("#gallery-chat-more") == "表示する(1件)"
    await audit_page.click("#gallery-chat-more")
    line = audit_page.get_by_role("list", name="チャット").get_by_role("listitem")
    assert await line.text_content() == "山田委員長委員長傍聴の皆さん、ようこそ"
    await check(audit_page, "gallery")
    desk, _ = await open_gallery(browser, server, DESKTOP)
    await until(desk, f"s.stage.some((p) => p.slot === {slot})")
    await desk.wait_for_timeout(500)
    assert await covered(desk) == []
    await shot(desk, "gallery-desktop")
    await desk.context.close()
    await audit_page.context.close()
    assert not watch.errors, watch.errors
    await page.context.close()


async def gallery_requests(server: Server, cookie: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http, \
            http.get(server.url + f"/api/rooms/{COMMITTEE}/gallery") as r:  # fmt: skip
        assert r.status == 200
        return await r.json()  # type: ignore[no-any-return]


async def ask_and_promote(browser: Browser, server: Server, staff: MeetingClient,
                          cookie: str, csrf: str) -> Page:  # fmt: skip
    page, _ = await open_gallery(browser, server, PHONE_1X)
    await page.get_by_role("button", name="手を挙げる").click()
    await page.fill("#gallery-name", "傍聴 花子")
    await page.get_by_role("button", name="発言を申し出る").click()
    for _ in range(50):
        body = await gallery_requests(server, cookie)
        req = [r for r in body["requests"] if r["name"] == "傍聴 花子" and r["hand"] and r["ask"]]
        if req:
            break
        await asyncio.sleep(0.1)
    assert req, body
    viewer = req[0]["viewer"]
    status, answer = await staff_post(server, f"/api/rooms/{COMMITTEE}/gallery/{viewer}/promote",
                                      {}, cookie=cookie, csrf=csrf)  # fmt: skip
    assert status == 200, answer
    # the join page with the invitation: the name given is the name in the room
    await page.wait_for_url("**/?*token=*", timeout=10_000)
    await page.locator("#join-invite").wait_for(state="visible")
    await page.click("#join-submit")
    await page.wait_for_function("() => window.hiroba && (window.hiroba.state().joined "
                                 "|| !document.getElementById('lobby')?.hidden)")  # fmt: skip
    if not (await page.evaluate("() => window.hiroba.state().joined")):
        # the room's lobby rules hold for a promoted viewer as for anyone: staff admit
        waiting = (await staff.act("lobby:list"))["lobby"]
        target = next(w for w in waiting if w["name"] == "傍聴 花子")
        await staff.act("lobby:admit", {"target": target["pid"]})
    await page.wait_for_function("() => window.hiroba.state().joined", timeout=15_000)
    me = await page.evaluate("() => window.hiroba.state()")
    assert me["room"] == COMMITTEE
    assert next(p for p in me["participants"] if p["id"] == me["selfId"])["name"] == "傍聴 花子"
    return page


async def demote_and_close(page: Page, server: Server, staff: MeetingClient,
                           cookie: str, csrf: str) -> None:  # fmt: skip
    pid = await page.evaluate("() => window.hiroba.state().selfId")
    status, answer = await staff_post(server, f"/api/rooms/{COMMITTEE}/participants/{pid}/demote",
                                      {}, cookie=cookie, csrf=csrf)  # fmt: skip
    assert status == 200, answer
    await page.wait_for_url("**/gallery?room=*", timeout=10_000)
    await until(page, "s.hello && s.frames > 5")
    await listen(page, "webcodecs")
    # a closed session: no voice, no stage, the notice
    await staff.act("committee:closed_session", {"closed": True, "reason": "個人情報"})
    await until(page, "s.closed && s.stage.length === 0 && s.audio.level === 0")
    assert await page.is_visible("#gallery-closed")
    decoded = (await gstate(page))["audio"]["decoded"]
    await page.wait_for_timeout(700)
    s = await gstate(page)
    assert s["audio"]["decoded"] == decoded and s["audio"]["peakLevel"] == 0, s["audio"]
    assert s["closed"] and s["stage"] == []
    await staff.act("committee:closed_session", {"closed": False})
    await until(page, "!s.closed && s.audio.decoded > 0 && s.audio.peakLevel > 0.05")
    await page.context.close()


async def wasm_fallback(browser: Browser, server: Server) -> None:
    """Without WebCodecs the page fetches the WASM decoder and hears the same tone."""
    page, watch = await open_gallery(browser, server, PHONE_1X, SLOW_FRAMES + NO_WEBCODECS)
    assert await page.evaluate("() => typeof window.AudioDecoder") == "undefined"
    s = await listen(page, "wasm")
    assert s["audio"]["errors"] == 0
    assert math.isfinite(s["audio"]["level"])
    assert not watch.errors, watch.errors
    await page.context.close()
