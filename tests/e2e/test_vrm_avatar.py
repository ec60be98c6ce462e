"""VRM avatars seen on a citizen's phone (issue 18): staff upload and approve two members'
models through the console's HTTP API (a VRM 1.0 with the 52 perfect-sync expressions,
and a VRM 0.x with the presets only, both textured, so GLTFLoader makes its blob: images
under the page's CSP); the members join the committee and send poses on the motion plane
as a tracked face would; a citizen's 390x844 phone page in the gallery loads both models
(``window.hiroba.state().participants[i].vrm`` says ``ready``), draws each head turned as
the pose says (read back from the model's head bone) and opens each mouth as the pose's
jawOpen says (``JawOpen`` on the perfect-sync model, ``aa`` on the other), and follows a
change of pose. A screenshot of the stage goes to test-artifacts/.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, Page

from avatar import codec as pose_codec
from avatar.pose import Pose, TrackingState, weights_from_mapping
from avatar.vrm_build import build_vrm
from bench.clients.chromium import PHONE
from bench.clients.motion_client import MotionWatcher
from tests.e2e.conftest import open_page, shot
from tests.e2e.test_gestures import enter
from tests.meetings import add_staff, admitted, console, http, login

HEAD_TOLERANCE = 2.0  # degrees: centi-degree poses, interpolated to a standstill
SENT_TOLERANCE = 0.05  # the mouth against the jawOpen sent (a small jaw arrives a little wider)
DRAWN_TOLERANCE = 0.01  # against the pose the page drew this frame (bytes: 1/255)


async def upload_approved(server: Any, cookie: str, csrf: str, member: str, data: bytes) -> str:
    """A member's model uploaded and approved as staff do it; its sha256."""
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
    url = f"{server.url}/api/avatars?for={quote('member:' + member)}&label=test"
    status, body, _ = await http("POST", url, raw=data, **headers)
    assert status == 201, body
    sha: str = body["sha256"]
    status, body, _ = await http("POST", f"{server.url}/api/avatars/{sha}/approve", **headers)
    assert status == 200, body
    return sha


class Poser:
    """Sends each member's current pose 20 times a second until stopped."""

    def __init__(self, links: list[MotionWatcher]) -> None:
        self.links = links
        self.poses: list[Pose] = [Pose(0) for _ in links]
        self.task: asyncio.Task[None] | None = None

    def set(self, i: int, roll: float, pitch: float, yaw: float, jaw: float) -> None:
        self.poses[i] = Pose(0, TrackingState.TRACKED, roll=roll, pitch=pitch, yaw=yaw,
                             weights=weights_from_mapping({"jawOpen": jaw}))

    async def run(self) -> None:
        t = 0
        while True:
            t += 50
            for link, p in zip(self.links, self.poses, strict=True):
                stamped = Pose(t, p.state, p.roll, p.pitch, p.yaw, p.position, p.weights)
                await link.send(0.0, 0.0, 0.0, pose_codec.encode(stamped))
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def posing(links: list[MotionWatcher]) -> AsyncIterator[Poser]:
    poser = Poser(links)
    poser.task = asyncio.get_running_loop().create_task(poser.run())
    try:
        yield poser
    finally:
        poser.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poser.task


DRAWN_AS_SENT = """([wants, headTol, sentTol, drawnTol]) => {
  const ps = window.hiroba.state().participants;
  return wants.every((w) => {
    const p = ps.find((q) => q.id === w.id);
    const v = p?.vrm;
    if (!v || v.status !== 'ready' || !v.head) return false;
    const near = (a, b, tol) => Math.abs(a - b) <= tol;
    const mouth = v.expressions[w.mouth] ?? -1;
    return near(v.head.roll, w.roll, headTol) && near(v.head.pitch, w.pitch, headTol)
      && near(v.head.yaw, w.yaw, headTol) && near(mouth, w.jaw, sentTol)
      && near(mouth, p.face.jawOpen, drawnTol);
  });
}"""


SEEN = """() => window.hiroba.state().participants.map((p) => ({
  status: p.vrm?.status, head: p.vrm?.head, jawOpen: p.face.jawOpen,
  mouth: p.vrm && (p.vrm.expressions.JawOpen ?? p.vrm.expressions.aa)}))"""


async def drawn_as_sent(page: Page, wants: list[dict[str, Any]], within: float = 15) -> None:
    arg = [wants, HEAD_TOLERANCE, SENT_TOLERANCE, DRAWN_TOLERANCE]
    try:
        await page.wait_for_function(DRAWN_AS_SENT, arg=arg, timeout=within * 1000)
    except Exception:
        got = await page.evaluate(SEEN)
        pytest.fail(f"not drawn as sent: want {wants}, page has {got}")


async def test_members_vrms_follow_their_poses_on_a_citizens_phone(
    server: Any, browser: Browser, made: list[Any]
) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    names = ("田中委員", "佐藤委員")
    models = (build_vrm(version="1", perfect_sync=True, title="Tanaka"),
              build_vrm(version="0", perfect_sync=False, title="Sato",
                        colors=("#7c2d12", "#1f2937", "#e8c4a8")))
    shas = [await upload_approved(server, cookie, csrf, n, m)
            for n, m in zip(names, models, strict=True)]
    staff = await console(server, made)
    members = [await admitted(server, made, staff, n) for n in names]
    pids = [m.ack["self"] for m in members]
    links = [await MotionWatcher.open(server.url, m.ack) for m in members]
    try:
        page, watch = await open_page(browser, server.url + "/", **PHONE)
        await enter(page, "さくら")
        await page.wait_for_selector("#lobby-screen:not([hidden])")
        waiting = (await staff.act("lobby:list"))["lobby"]
        await staff.act("lobby:admit", {"target": next(w["pid"] for w in waiting
                                                       if w["name"] == "さくら")})
        await page.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
        everyone = (await page.evaluate("() => window.hiroba.state()"))["participants"]
        worn = {p["id"]: (p["vrm"] or {}).get("hash") for p in everyone}
        assert [worn[p] for p in pids] == shas, "the page knows each member's model"
        assert all(v is None for k, v in worn.items() if k not in pids), "citizens wear none"
        # the stage view: every seat in sight (a model is posed, and read back, while drawn)
        await page.click("#hud-view")

        async with posing(links) as poser:
            poser.set(0, roll=15.0, pitch=6.0, yaw=-10.0, jaw=0.6)
            poser.set(1, roll=-12.0, pitch=-4.0, yaw=8.0, jaw=0.4)
            await drawn_as_sent(page, [
                {"id": pids[0], "roll": 15, "pitch": 6, "yaw": -10, "mouth": "JawOpen", "jaw": 0.6},
                {"id": pids[1], "roll": -12, "pitch": -4, "yaw": 8, "mouth": "aa", "jaw": 0.4},
            ], within=30)  # the first model waits for three-vrm's import and both parses
            await shot(page, "vrm_stage_phone")
            # a change of pose is followed (not a first pose frozen in place)
            poser.set(0, roll=-8.0, pitch=0.0, yaw=12.0, jaw=0.1)
            poser.set(1, roll=10.0, pitch=3.0, yaw=-6.0, jaw=0.8)
            await drawn_as_sent(page, [
                {"id": pids[0], "roll": -8, "pitch": 0, "yaw": 12, "mouth": "JawOpen", "jaw": 0.1},
                {"id": pids[1], "roll": 10, "pitch": 3, "yaw": -6, "mouth": "aa", "jaw": 0.8},
            ])
        render = (await page.evaluate("() => window.hiroba.state().render"))
        vrm = render["vrm"]
        assert vrm["ready"] == 2 and vrm["failed"] == 0, vrm
        assert vrm["drawn"] == 2 and 0 < vrm["calls"] <= render["calls"], render
        # the models' blob: textures and the lazily imported modules within the CSP
        assert not watch.errors, watch.errors
    finally:
        for link in links:
            await link.close()
