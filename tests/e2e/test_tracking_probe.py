"""Tracking that knows what the device can do (issue 20), in Chromium with its fake camera.

The page's real tracking worker (faceWorker.js) is served with a few lines put in front
of it (the route below), so that what a browser lacks, or a frame that throws, happens
inside the worker as it would in WebKit:
- no WebGL2 on an OffscreenCanvas in workers (WebKitGTK, Safari < 17): the worker's
  probe answers ``unsupported`` before loading anything; the page says so in plain
  words, offers the server to a member, and staff see the reason in the console;
- every camera frame throws (the probe's blank frame passes): the feed stops on the
  first error (one frame posted to the worker), the reason is ``failed``, and the
  console shows one warning, not one a frame;
- frames throw after tracking ran for a while: the same, and the page chooses again
  (voice, the server offered) instead of staying on a dead tracker.
WebKit's own fallback (``unsupported``) is asserted in tests/e2e/test_engines.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from playwright.async_api import Browser, ConsoleMessage, Page, Route

from rooms.model import Role
from tests.conftest import Server
from tests.e2e.conftest import open_page
from tests.e2e.test_console_ux import CATALOGUES, console_in
from tests.e2e.test_face_tracking import wait_mode
from tests.e2e.test_tracking_unavailable import VIEW, with_model  # noqa: F401 (fixture)
from tests.meetings import invitation

#: In the worker: OffscreenCanvas gives no WebGL2 context, as in WebKitGTK's workers.
NO_WORKER_WEBGL2 = """
{ const real = OffscreenCanvas.prototype.getContext;
  OffscreenCanvas.prototype.getContext = function (kind, ...rest) {
    return kind === 'webgl2' ? null : real.call(this, kind, ...rest);
  }; }
"""

#: In the worker: reading a camera frame throws (the probe's frame is ImageData, not a
#: VideoFrame, so the worker starts; the first camera frame is the first failure).
FRAMES_THROW = """
Object.defineProperty(VideoFrame.prototype, 'displayWidth', {
  get() { throw new Error('forced frame failure'); } });
"""

#: In the worker: camera frames track for a while, then throw (tracking was running).
FRAMES_THROW_LATER = """
{ const real = Object.getOwnPropertyDescriptor(VideoFrame.prototype, 'displayWidth').get;
  const seen = new WeakSet(); // tasks-vision reads it too: count frames, not reads
  let n = 0;
  Object.defineProperty(VideoFrame.prototype, 'displayWidth', { get() {
    if (!seen.has(this)) { seen.add(this); n++; }
    if (n > 12) throw new Error('forced frame failure');
    return real.call(this);
  } }); }
"""

#: In the page: count the frames posted to the tracking worker.
COUNT_FRAMES = """
(() => {
  window.__framesPosted = 0;
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (m, ...rest) {
    if (m && m.type === 'frame') window.__framesPosted++;
    return post.call(this, m, ...rest);
  };
})();
"""


async def _worker_with(page: Page, prelude: str) -> None:
    async def patch(route: Route) -> None:
        response = await route.fetch()
        await route.fulfill(response=response, body=prelude + await response.text())

    await page.context.route("**/tracking/faceWorker.js*", patch)


async def _member_page(
    browser: Browser, server: Server, prelude: str, **params: str
) -> tuple[Page, list[str]]:
    token = invitation(server, "plaza", Role.MEMBER, "委員")
    query = urlencode({"room": "plaza", "token": token, **params})
    page, _ = await open_page(browser, f"{server.url}/?{query}", **VIEW)
    warnings: list[str] = []

    def seen(msg: ConsoleMessage) -> None:
        if msg.type == "warning" and ("face tracking" in msg.text or "forced" in msg.text):
            warnings.append(msg.text)

    page.on("console", seen)
    await _worker_with(page, prelude)
    await page.add_init_script(COUNT_FRAMES)
    await page.reload()
    await page.click("#join-submit")
    await page.wait_for_function("() => window.hiroba && window.hiroba.state().joined")
    await page.select_option("#hud-lang", "en")
    await page.click("#face-toggle")
    return page, warnings


async def _tracking(page: Page) -> dict[str, Any]:
    return await page.evaluate("() => window.hiroba.state().tracking")  # type: ignore[no-any-return]


async def test_no_webgl2_in_the_worker_is_unsupported_said_and_shown_to_staff(
    with_model: Server, browser: Browser  # noqa: F811
) -> None:
    page, _ = await _member_page(browser, with_model, NO_WORKER_WEBGL2)
    await wait_mode(page, "voice", 60_000)
    tracking = await _tracking(page)
    assert tracking["reason"] == "unsupported" and tracking["offer"] is True, tracking
    assert await page.evaluate("() => window.__framesPosted") == 0, "no frame without a probe"
    notice = await page.text_content("#face-notice-text") or ""
    assert "This browser cannot track your face" in notice, notice
    assert "The server can track your face instead" in notice, notice
    assert await page.is_visible("#face-use-server")
    # Staff see it: the server kept the reason, the console's participant list shows it.
    console = await console_in(browser, with_model, room="plaza")
    await console.wait_for_function(
        """() => (window.hiroba.console().people || [])
                 .some((p) => p.name === '委員' && p.trackingReason === 'unsupported')""",
        timeout=10_000,
    )
    row = await console.text_content("#people-rows tr:has-text('委員')") or ""
    ja = CATALOGUES["ja"]
    assert ja["tracking.voice"] in row and ja["face.reason.unsupported"] in row, row


async def test_a_frame_that_throws_stops_the_feed_with_one_warning(
    with_model: Server, browser: Browser  # noqa: F811
) -> None:
    page, warnings = await _member_page(browser, with_model, FRAMES_THROW)
    await wait_mode(page, "voice", 60_000)
    tracking = await _tracking(page)
    assert tracking["reason"] == "failed" and tracking["offer"] is True, tracking
    notice = await page.text_content("#face-notice-text") or ""
    assert "stopped because of an error" in notice, notice
    posted = await page.evaluate("() => window.__framesPosted")
    assert posted == 1, f"the feed goes on after the error: {posted} frames posted"
    # The camera keeps running at 30 fps: a feed not stopped would post more by now.
    await page.wait_for_timeout(700)
    assert await page.evaluate("() => window.__framesPosted") == 1
    assert len(warnings) == 1, warnings


async def test_a_frame_error_while_tracking_stops_it_and_chooses_again(
    with_model: Server, browser: Browser  # noqa: F811
) -> None:
    # `?tracking=browser`: no warm-up, so the failure comes while the mode is `browser`.
    page, warnings = await _member_page(browser, with_model, FRAMES_THROW_LATER, tracking="browser")
    await wait_mode(page, "browser", 60_000)
    await wait_mode(page, "voice", 30_000)
    tracking = await _tracking(page)
    assert tracking["reason"] == "failed" and tracking["offer"] is True, tracking
    posted = await page.evaluate("() => window.__framesPosted")
    assert posted == 13, f"frames posted: {posted} (12 tracked, the 13th threw)"
    await page.wait_for_timeout(700)
    assert await page.evaluate("() => window.__framesPosted") == posted, "the feed goes on"
    assert len(warnings) == 1, warnings
