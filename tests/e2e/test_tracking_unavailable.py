"""Face tracking that cannot run in the page says why and offers the server (issue 15,
defect 8), in Chromium with its fake camera and microphone.

An invited member (whose role the server offers server-side tracking) turns face tracking
on: with no model on the server, and on a device too slow to track (forced: a stand-in
tracking worker takes 250 ms a frame), the page falls back to voice, says why in
plain words, through the live region too, and offers a button that switches to the
server. The server's tracker is a stand-in (tests/integration/test_server_tracking.py's
``SlowPipeline``): what is tested is the page's choice, not MediaPipe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from playwright.async_api import Browser, Page
from playwright.async_api import Error as PlaywrightError

from rooms.model import Role
from server.config.settings import Settings
from tests.conftest import ROOT, Server, running_server
from tests.e2e.conftest import open_page
from tests.e2e.test_face_tracking import wait_mode
from tests.integration.test_server_tracking import SlowPipeline
from tests.meetings import invitation

#: A device that needs 250 ms a frame: the page's tracking worker (faceWorker.js) is
#: replaced by one that answers like it (ready at once, then a pose 250 ms after each
#: frame, no face found), so the test needs no WASM start-up to reach the slow path.
SLOW_DEVICE = """
(() => {
  const Real = window.Worker;
  window.Worker = function (url, options) {
    if (!options || options.name !== 'face-tracking') return new Real(url, options);
    const w = {
      onmessage: null, onerror: null, terminate() {},
      postMessage(m) {
        const reply = (data, ms) => setTimeout(() => w.onmessage && w.onmessage({ data }), ms);
        if (m.type === 'init') reply({ type: 'ready' }, 0);
        else if (m.type === 'frame') {
          m.frame.close();
          reply({ type: 'pose', record: new ArrayBuffer(69), found: false, ms: 250,
                  roll: 0, pitch: 0, yaw: 0 }, 250);
        }
      },
    };
    return w;
  };
})();
"""


#: Room for the HUD's controls beside the first-time meeting hint (a 400×300 page hides them).
VIEW = {"viewport": {"width": 1024, "height": 700}}


def _settings(settings: Settings) -> Settings:
    return replace(settings, client_dev=True, ice_host_addresses=("127.0.0.1",))


@pytest.fixture
async def no_model(settings: Settings) -> AsyncIterator[Server]:
    """A server whose model cache is empty (the test's own data folder)."""
    async with running_server(_settings(settings), pipeline_factory=lambda: SlowPipeline(0.0)) as s:
        yield s


@pytest.fixture
async def with_model(settings: Settings) -> AsyncIterator[Server]:
    cache = ROOT / "data" / "models"
    if not (cache / "face_landmarker.task").is_file():
        pytest.skip("no fetched model in data/models (hiroba models fetch)")
    ready = replace(_settings(settings), model_cache_dir=cache)
    async with running_server(ready, pipeline_factory=lambda: SlowPipeline(0.0)) as s:
        yield s


async def _member_turns_tracking_on(
    browser: Browser, server: Server, init_script: str = ""
) -> Page:
    query = urlencode({"room": "plaza", "token": invitation(server, "plaza", Role.MEMBER, "委員")})
    page, watch = await open_page(browser, f"{server.url}/?{query}", **VIEW)
    if init_script:
        await page.add_init_script(init_script)
        await page.reload()
    # the invitation names the member: the name box is filled and read-only
    await page.click("#join-submit")
    await page.wait_for_function("() => window.hiroba && window.hiroba.state().joined")
    await page.select_option("#hud-lang", "en")
    assert await page.is_visible("#face-server-field")
    assert not await page.is_checked("#face-server"), "no consent given yet"
    await page.click("#face-toggle")
    try:
        await wait_mode(page, "voice", 60_000)
        await page.wait_for_selector("#face-use-server", state="visible", timeout=5000)
    except PlaywrightError as exc:
        status = await page.evaluate("() => window.hiroba.state().tracking")
        raise AssertionError(f"no offer; tracking: {status}; page errors: {watch.errors}") from exc
    return page


async def test_no_model_is_said_and_the_server_offered(no_model: Server, browser: Browser) -> None:
    page = await _member_turns_tracking_on(browser, no_model)
    notice = await page.text_content("#face-notice-text") or ""
    assert "the server has no face model" in notice, notice
    assert "The server can track your face instead" in notice, notice
    tracking = await page.evaluate("() => window.hiroba.state().tracking")
    assert tracking["reason"] == "model_unavailable" and tracking["offer"] is True
    # said to screen readers, in the page's live region
    await page.wait_for_function(
        "() => document.getElementById('live').textContent.includes('no face model')",
        timeout=3000,
    )
    # the offer is the consent: one press and the server tracks
    await page.click("#face-use-server")
    await wait_mode(page, "server", 20_000)
    assert await page.is_checked("#face-server")
    assert await page.is_hidden("#face-notice")


async def test_slow_device_says_why_and_offers_the_server(
    with_model: Server, browser: Browser
) -> None:
    page = await _member_turns_tracking_on(browser, with_model, SLOW_DEVICE)
    notice = await page.text_content("#face-notice-text") or ""
    assert "too slowly to follow" in notice, notice
    assert "The server can track your face instead" in notice, notice
    await page.wait_for_function(
        "() => document.getElementById('live').textContent.includes('too slowly')",
        timeout=3000,
    )
    await page.click("#face-use-server")
    await wait_mode(page, "server", 20_000)
