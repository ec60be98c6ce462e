"""The core journeys in the engines other than Chromium: Firefox ESR (WebDriver BiDi,
built in) and WebKitGTK's MiniBrowser (WebKitWebDriver), both under Xvfb, driven by the
small drivers of tests/e2e/engines/ (no selenium, no geckodriver).

Each engine: join on a phone-sized window, walk with the keyboard, see a python
participant move (positions on the motion plane), open the meeting panel, post an
opinion, vote in a poll, leave; the console login and the public archive at desktop
size. Voice in Firefox only: WebKitGTK as Debian builds it has no WebRTC
(``RTCPeerConnection`` is undefined), so voice is tested in Chromium (test_voice.py) and
Firefox. Both have (software) WebGL under Xvfb, so the plaza itself is what is checked.
Face tracking: WebKit falls back to voice with the reason ``unsupported`` (no WebGL2 in
workers); Firefox tracks on the device (its fake camera).

One Xvfb, one server and one browser per engine for the module; screenshots of each step
under test-artifacts/engines/<engine>/.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_asyncio

from bench.clients.motion_client import MotionWatcher
from server.config.settings import Settings, load_settings
from server.tracking.model_fetch import fetch_model
from tests.conftest import ROOT, Client, Server, free_port, running_server
from tests.e2e.engines import firefox, webkit, xvfb
from tests.e2e.engines.base import DESKTOP, PHONE, Engine
from tests.meetings import (
    CONSULTATION,
    STAFF_PASSWORD,
    add_staff,
    console,
)
from tests.published import publish, record

ENGINES = ["firefox", "webkit"]
#: The console asks for the session before login: a 401 the page expects (not an error).
EXPECTED_401 = "401"
#: The join screen's options come from the server; the plaza draws in software here.
JOIN_TIMEOUT = 30.0


@pytest.fixture(autouse=True)
def own_tasks() -> None:
    """Nothing (the e2e conftest's version cancels the tasks a test left): the module's
    one server keeps its tasks between tests, its keep-alive HTTP connections among them
    (cancelled, the next page load on that connection never got an answer). The server's
    clean-up ends them at the module's end; each test closes its own clients."""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def display() -> AsyncIterator[str]:
    if not xvfb.available():
        # A failure, not a skip: `make test` installs it, so a missing one is a broken set-up.
        pytest.fail("Xvfb is not installed (make test installs xvfb)")
    async with xvfb.xvfb() as name:
        yield name


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    """One server for the module: the demo's rooms, WebRTC on loopback only."""
    # The face model as test_face_tracking gets it (cached under data/models): WebKit's
    # tracking must get as far as the worker's probe to fall back for its own reason.
    models = ROOT / "data" / "models"
    await asyncio.get_running_loop().run_in_executor(
        None, fetch_model, replace(Settings(), model_cache_dir=models))
    settings = replace(load_settings({}), data_dir=tmp_path_factory.mktemp("engines") / "data",
                       port=free_port(), tick_hz=10.0, offers_burst=1000.0, seed_demo=True,
                       ice_host_addresses=("127.0.0.1",), model_cache_dir=models)
    async with running_server(settings) as running:
        await add_staff(running)
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=ENGINES)
async def engine(request: pytest.FixtureRequest, display: str) -> AsyncIterator[Engine]:
    """One browser of the engine for the module, ended (every process, by PID) after it."""
    kind = request.param
    module = firefox if kind == "firefox" else webkit
    if not module.available():
        pytest.fail(f"{kind} is not installed (make test installs firefox-esr and "
                    "webkit2gtk-driver)")
    launch = firefox.Firefox.launch if kind == "firefox" else webkit.WebKit.launch
    browser: Engine = await asyncio.wait_for(launch(display), 60)
    try:
        yield browser
    finally:
        await browser.close()


async def assert_no_page_errors(page: Engine, allowed: str | None = None) -> None:
    errors = [e for e in await page.page_errors() if allowed is None or allowed not in e]
    assert errors == [], f"{page.name}: {errors}"


async def join(page: Engine, site: Server, name: str, room: str,
               query: dict[str, str] | None = None, *, wait: str = "joined") -> dict[str, Any]:
    await page.goto(site.url + "/" + ("?" + urlencode(query) if query else ""))
    await page.wait("() => window.hiroba && document.querySelector('#join-submit')",
                    what="the join screen")
    if query is None or "token" not in query:
        await page.fill("#join-name", name)
    await page.wait("(room) => [...document.querySelectorAll('#join-room option')]"
                    ".some(o => o.value === room)", room, what="the room list")
    await page.select("#join-room", room)
    await page.click("#join-submit")
    if wait == "lobby":
        await page.wait("() => !document.querySelector('#lobby-screen').hidden",
                        within=JOIN_TIMEOUT, what="the lobby")
        return {}
    await page.wait("() => window.hiroba.state().joined || document.getElementById("
                    "'join-error').textContent.trim()", within=JOIN_TIMEOUT, what="joined")
    state: dict[str, Any] = await page.evaluate("() => window.hiroba.state()")
    assert state["joined"], await page.evaluate(
        "() => document.getElementById('join-error').textContent")
    return state


async def panel(page: Engine, tab: str) -> None:
    if not await page.visible("#meeting-panel"):
        await page.click("#meeting-toggle")
    await page.click(f"#tab-{tab}")
    await page.wait("(t) => document.getElementById(`tab-${t}`)"
                    ".getAttribute('aria-selected') === 'true'", tab, what=f"the {tab} tab")


async def test_join_walk_meeting_and_leave(engine: Engine, site: Server) -> None:
    """A phone-sized window: the plaza, the keyboard walk, another participant's move,
    an opinion, a ballot, leaving."""
    page = engine
    await page.fresh_page()
    await page.set_size(*PHONE)
    size = await page.evaluate("() => [innerWidth, innerHeight]")
    # MiniBrowser's window keeps its toolbar's minimum width (447 px): as near as it goes.
    assert size[0] <= 450 and size[1] == PHONE[1], size
    made: list[Client] = []
    other = Client(site.url)
    made.append(other)
    watcher: MotionWatcher | None = None
    try:
        me = await join(page, site, "Engine歩く", CONSULTATION)
        pid = me["selfId"]
        webgl = await page.evaluate(
            "() => !!document.createElement('canvas').getContext('webgl2')")
        assert webgl, f"{page.name} has no WebGL here: check the 'no 3D' message instead"
        assert await page.evaluate("() => !!document.querySelector('#scene canvas, canvas#scene')")
        await page.screenshot("phone-joined")

        # Another participant (a python client on socket.io and /motion) moves; the page
        # draws them where they went.
        await other.connect()
        ack = await other.join("動く人", room=CONSULTATION)
        watcher = await MotionWatcher.open(site.url, ack)
        other_id = ack["self"]
        start = await page.wait("(id) => window.hiroba.state().participants"
                                ".find(p => p.id === id)", other_id,
                                what="the other participant")
        # 1.6 m in 8 uplinks, 0.1 s apart: 2 m/s, under the server's walking speed limit.
        target = (start["x"] + 1.6, start["z"])
        for step in range(1, 9):
            await watcher.send(start["x"] + 0.2 * step, start["z"], 0.0)
            await asyncio.sleep(0.1)
        await page.wait("(id, x, z) => { const p = window.hiroba.state().participants"
                        ".find(q => q.id === id);"
                        " return p && Math.hypot(p.x - x, p.z - z) < 0.3; }",
                        other_id, *target, what="the other participant's move")

        # The keyboard walk.
        before = await page.evaluate(
            "(id) => window.hiroba.state().participants.find(p => p.id === id)", pid)
        # The keys go to the window (scene/controls.js); a click on the scene would walk
        # by itself (tap-to-walk), so the focus is only taken off any field.
        await page.evaluate("() => document.activeElement?.blur()")
        await page.key("ArrowUp", down=True)
        await asyncio.sleep(1.5)
        await page.key("ArrowUp", down=False)
        after = await page.evaluate(
            "(id) => window.hiroba.state().participants.find(p => p.id === id)", pid)
        walked = math.hypot(after["x"] - before["x"], after["z"] - before["z"])
        assert walked > 1.0, f"{page.name}: walked only {walked:.2f} m"
        # ...and the server has it from the page's motion uplinks: the python peer's
        # frames carry an entry where the page's own state put it.
        await watcher.wait_for(lambda entries: any(
            math.hypot(e.x - after["x"], e.z - after["z"]) < 0.3 for e in entries), within=5)
        await page.screenshot("phone-walked")

        # The meeting panel: an opinion.
        await panel(page, "opinions")
        await page.select("#opinion-category", "遊具")
        await page.fill("#opinion-text", "Engine test: more benches")
        await page.click("#opinion-submit")
        await page.wait("() => window.hiroba.meeting().opinions"
                        ".some(o => o.text === 'Engine test: more benches')", what="the opinion")
        await page.screenshot("phone-opinion")

        # A poll from the staff, voted on the page.
        staff = await console(site, made, CONSULTATION)
        question = f"{page.name}?"
        poll = await staff.act("poll:create", {"question": question,
                                               "options": ["はい", "いいえ"]})
        # This poll's ballot (the other engine's poll, on the same server, may be listed).
        ballot = f"#poll-list form.ballot[aria-label='{question}']"
        await panel(page, "polls")
        await page.wait_visible(f"{ballot} input")
        await page.click(f"{ballot} input[name='poll-{poll['poll']}'][value='0']")
        await page.click(f"{ballot} button[type=submit]")
        await page.wait("(id) => window.hiroba.meeting().polls"
                        ".some(p => p.id === id && p.counts[0] === 1)", poll["poll"],
                        what="the vote counted")
        await page.screenshot("phone-voted")

        # Leaving: back to the join screen; the other participant sees the page go.
        await page.click("#meeting-toggle")
        await page.click("#hud-leave")
        await page.wait("() => !window.hiroba.state().joined && "
                        "!document.querySelector('#join-screen').hidden", what="left")
        await other.wait_for(lambda d: pid in d.get("left", []))
        await page.screenshot("phone-left")
        await assert_no_page_errors(page)
    finally:
        if watcher is not None:
            await watcher.close()
        for client in made:
            await client.close()


async def test_console_login_and_archive(engine: Engine, site: Server) -> None:
    """Desktop size: the staff console's login and room view; the public archive."""
    page = engine
    await page.fresh_page()
    await page.set_size(*DESKTOP)
    await page.goto(site.url + "/console")
    await page.wait_visible("#login-account")
    await page.fill("#login-account", "jimu")
    await page.fill("#login-password", STAFF_PASSWORD)
    await page.click("#login-submit")
    await page.wait_visible(f"button[data-room='{CONSULTATION}']")
    await page.click(f"button[data-room='{CONSULTATION}']")
    await page.wait("() => window.hiroba.console().self", what="the console of the room")
    await page.screenshot("desktop-console")
    await assert_no_page_errors(page, allowed=EXPECTED_401)

    title = f"第9回 {page.name} 委員会"
    shown = await record(site, title)
    await publish(site, shown)
    await page.goto(site.url + "/archive")
    await page.wait("(id) => document.querySelector(`.archive-item[data-id='${id}'] h2`)",
                    shown, what="the published meeting")
    heading = await page.evaluate(
        "(id) => document.querySelector(`.archive-item[data-id='${id}'] h2`).textContent", shown)
    assert heading == title
    await page.screenshot("desktop-archive")
    await assert_no_page_errors(page)


async def test_face_tracking_as_the_engine_can(engine: Engine, site: Server) -> None:
    """Each engine's own path, no skips: WebKit falls back with its reason, Firefox tracks
    on the device (Chromium's are test_face_tracking.py and test_tracking_probe.py)."""
    if engine.name == "webkit":
        await face_tracking_falls_back_in_webkit(engine, site)
    else:
        assert engine.name == "firefox", engine.name
        await face_tracking_runs_in_firefox(engine, site)


async def face_tracking_falls_back_in_webkit(engine: Engine, site: Server) -> None:
    """WebKitGTK has no WebGL2 in workers (nor Safari before 17): turning face tracking on
    ends, after the worker's probe, in voice mode with the reason ``unsupported`` told to
    the page and to the server, with one warning at most (not one per frame)."""
    page = engine
    await page.fresh_page()
    await page.set_size(*PHONE)
    await join(page, site, "顔", "plaza")
    await page.click("#face-toggle")
    tracking = await page.wait("() => { const t = window.hiroba.state().tracking;"
                               " return t.phase === 'running' && t; }", within=20,
                               what="tracking settled")
    assert (tracking["mode"], tracking["reason"]) == ("voice", "unsupported"), tracking
    await page.wait_visible("#face-notice")
    notice = await page.evaluate("() => document.getElementById('face-notice-text').textContent")
    assert notice.strip(), "the page says why"
    await page.screenshot("phone-tracking-fallback")
    warnings = await page.evaluate("() => window.__engineWarnings")
    assert len(warnings) <= 1, warnings
    await assert_no_page_errors(page)


async def face_tracking_runs_in_firefox(engine: Engine, site: Server) -> None:
    """Firefox has WebGL2 on an OffscreenCanvas in workers: the worker's probe (WebGL2,
    the WASM, a first frame) passes and tracking runs on the device, mode ``browser`` with
    no reason, the fake camera's frames (the profile's media.navigator.streams.fake: no
    face in them, so the poses are neutral) tracked and sent up as poses, the server told.

    Asked for with ``?tracking=browser``, as test_face_tracking.py does in Chromium: the
    warm-up is skipped, the probe is not (a probe that fails ends in voice with the reason
    ``unsupported``). The auto warm-up is not asserted here because it measures this
    machine's software rendering, not tracking: the plaza drawn by llvmpipe at 390x844
    takes the two shared cores from the worker (its time a frame goes from 12 ms with no
    plaza to 72 ms with it), so it ends ``slow`` (7-14 fps against the 15 required),
    where a phone draws the plaza on its GPU."""
    page = engine
    await page.fresh_page()
    await page.set_size(*PHONE)
    me = await join(page, site, "顔", "plaza", {"tracking": "browser"})
    await page.click("#face-toggle")
    tracking = await page.wait("() => { const t = window.hiroba.state().tracking;"
                               " return t.phase === 'running' && t; }", within=60,
                               what="tracking settled")
    assert (tracking["mode"], tracking["reason"]) == ("browser", None), tracking
    # Frames keep being tracked: poses made this last second, and sent up on the motion
    # plane; the server has the mode (the page's own entry in the participants it sends).
    running = await page.wait("() => { const t = window.hiroba.state().tracking;"
                              " return t.mode === 'browser' && t.fps > 0 && t.sent >= 10 && t; }",
                              within=20, what="poses tracked and sent")
    assert running["reason"] is None, running
    await page.wait("(id) => window.hiroba.state().participants"
                    ".find(p => p.id === id)?.tracking === 'browser'", me["selfId"],
                    what="the server told the mode")
    await page.screenshot("phone-tracking-browser")
    warnings = await page.evaluate("() => window.__engineWarnings")
    assert len(warnings) <= 1, warnings
    await assert_no_page_errors(page)

    await page.click("#face-toggle")
    await page.wait("() => window.hiroba.state().tracking.mode === 'none'", what="tracking off")
    await assert_no_page_errors(page)


async def test_what_voice_needs(engine: Engine, site: Server) -> None:
    """What the voice journey needs, per engine. WebKitGTK as Debian builds it has no
    WebRTC (so voice is tested in Chromium only; this fails, asking for the journey, the
    day it has). Firefox has WebRTC and its fake microphone (the profile's
    media.navigator.streams.fake) gives the page an audio track without asking; the
    journey itself is not run in Firefox here: Firefox 153 gathers no 127.0.0.1 ICE
    candidate on this machine (media.peerconnection.ice.loopback notwithstanding), and the
    suite's server offers loopback only."""
    page = engine
    await page.fresh_page()
    await page.goto(site.url + "/")
    rtc = await page.evaluate("() => typeof RTCPeerConnection")
    if page.name == "webkit":
        assert rtc == "undefined", "WebKitGTK has WebRTC now: add the voice journey for it"
        return
    assert rtc == "function"
    tracks = await page.evaluate(
        "async () => { const s = await navigator.mediaDevices.getUserMedia({audio: true});"
        " const kinds = s.getTracks().map(t => t.kind); s.getTracks().forEach(t => t.stop());"
        " return kinds; }")
    assert tracks == ["audio"]
    await assert_no_page_errors(page)
