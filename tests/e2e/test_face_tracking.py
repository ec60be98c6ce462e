"""Faces drive avatars, in Chromium with a fake camera playing a face video.

The camera is a y4m made here from the astronaut photograph: a roll sweep 0 → +20° →
-20° → 0 on screen, looping every 4.05 s. One page turns face tracking on (server-side
for an invited member, in the page for a citizen); a second page reads the first one's
avatar head roll from ``window.hiroba.state()`` and checks that it follows the sweep.
Nothing may leave for a third-party host, and the page may show no CSP error but the
expected refusal of tasks-vision's usage report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Request, async_playwright

from bench.clients.chromium import ARGS, CHROMIUM
from bench.clients.face_video import Shot, photo, render, write_video
from server.app import TRACKING_KEY
from server.config.settings import Settings
from server.tracking.model_fetch import fetch_model
from tests.client_build import built_asset
from tests.conftest import ROOT
from tests.e2e.conftest import MotionTraffic, PageWatch, join, shot, state

FPS = 20
#: A motion uplink carrying a pose: 8-byte header + 69-byte record.
POSED_UPLINK = 77
SWEEP = [*range(0, 21), *range(19, -21, -1), *range(-19, 1)]  # degrees on screen, per frame
PERIOD_S = len(SWEEP) / FPS
SMALL = {"viewport": {"width": 400, "height": 300}}  # software WebGL: keep pages cheap
#: tasks-vision's usage report, refused by the page's CSP (docs/privacy.md).
METRICS_HOST = "odml.pa.googleapis.com"


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = photo()
    frames = [render(src, Shot(roll=float(r))) for r in SWEEP]
    return write_video(tmp_path_factory.mktemp("camera") / "sweep.y4m", frames, fps=FPS)


@pytest.fixture(scope="module")
def model_dir() -> Path:
    cache = ROOT / "data" / "models"
    fetch_model(replace(Settings(), model_cache_dir=cache))
    return cache


@pytest.fixture
def settings(settings: Settings, model_dir: Path) -> Settings:
    return replace(settings, model_cache_dir=model_dir, ice_host_addresses=("127.0.0.1",))


@pytest.fixture
async def browser(camera_file: Path) -> AsyncIterator[Browser]:
    """Chromium whose fake camera plays the sweep (the other e2e tests use no file)."""
    async with async_playwright() as pw:
        args = [*ARGS, f"--use-file-for-fake-video-capture={camera_file}"]
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser
        await browser.close()


class Egress:
    """Every request a browser context makes to a host other than the test server."""

    def __init__(self, context: BrowserContext) -> None:
        self.outside: list[str] = []
        context.on("request", self._seen)

    def _seen(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        if request.url.startswith(("http", "ws")) and host not in ("127.0.0.1", "localhost"):
            self.outside.append(request.url)


async def open_watched(browser: Browser, url: str) -> tuple[Page, PageWatch, Egress]:
    context = await browser.new_context(**SMALL)
    egress = Egress(context)
    page = await context.new_page()
    watch = PageWatch(page)
    await page.goto(url)
    return page, watch, egress


def invitation(settings: Settings, room: str, role: str, name: str) -> str:
    """A member's link, made the way staff make one (``hiroba invite``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIROBA_")}
    out = subprocess.run(
        [sys.executable, "-m", "server.cli.main", "invite", room, "--role", role, "--name", name,
         "--data-dir", str(settings.data_dir), "--port", str(settings.port)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=env, check=True,
    )  # fmt: skip
    return out.stdout.strip().rsplit("?", 1)[1]


async def roll_samples(page: Page, pid: str, seconds: float) -> list[tuple[float, float, bool]]:
    """``(t, roll, posed)`` of ``pid``'s avatar as ``page`` draws it, every 50 ms."""
    return await page.evaluate(  # type: ignore[no-any-return]
        """([pid, ms]) => new Promise((resolve) => {
            const out = [];
            const t0 = performance.now();
            const timer = setInterval(() => {
              const p = window.hiroba.state().participants.find((q) => q.id === pid);
              if (p) out.push([(performance.now() - t0) / 1000, p.roll, p.posed]);
              if (performance.now() - t0 > ms) { clearInterval(timer); resolve(out); }
            }, 50);
        })""",
        [pid, seconds * 1000],
    )


def follows_sweep(samples: list[tuple[float, float, bool]]) -> tuple[float, float]:
    """Best correlation of the rolls with the sweep over all phases, and their range."""
    t = np.array([s[0] for s in samples])
    roll = np.array([s[1] for s in samples])
    sweep = -np.array(SWEEP, dtype=float)  # counter-clockwise on screen: negative roll
    best = -1.0
    for shift in np.arange(0.0, PERIOD_S, 0.025):
        idx = np.floor(((t + shift) % PERIOD_S) * FPS).astype(int) % len(SWEEP)
        best = max(best, float(np.corrcoef(roll, sweep[idx])[0, 1]))
    return best, float(np.ptp(roll))


async def wait_mode(page: Page, mode: str, timeout_ms: int = 45_000) -> dict[str, Any]:
    await page.wait_for_function(
        "(mode) => { const t = window.hiroba.state().tracking; return t && t.mode === mode; }",
        arg=mode, timeout=timeout_ms,
    )  # fmt: skip
    return await state(page)


def csp_errors(watch: PageWatch) -> list[str]:
    return [e for e in watch.errors if METRICS_HOST not in e]


async def test_server_tracking_drives_the_remote_avatar(server, browser) -> None:
    query = invitation(server.settings, "plaza", "member", "顔の委員")
    member, member_watch, member_egress = await open_watched(
        browser, f"{server.url}/?{query}&tracking=server"
    )
    member_motion = MotionTraffic(member)
    me = await join(member, "顔の委員")
    viewer, viewer_watch, viewer_egress = await open_watched(browser, server.url)
    await join(viewer, "見る人")
    assert await member.is_visible("#face-server-field"), "members are offered the server"
    await member.check("#face-server")  # consent to send the camera

    await member.click("#face-toggle")
    await wait_mode(member, "server")
    assert await member.get_attribute("#face-toggle", "aria-pressed") == "true"
    pid = me["selfId"]
    await viewer.wait_for_function(
        """(pid) => { const p = window.hiroba.state().participants.find((q) => q.id === pid);
                      return p && p.tracking === 'server' && p.posed; }""",
        arg=pid, timeout=20_000,
    )  # fmt: skip
    samples = await roll_samples(viewer, pid, 2 * PERIOD_S)
    corr, span = follows_sweep(samples)
    assert corr > 0.85 and span > 25, (corr, span, samples[::10])
    own = await roll_samples(member, pid, PERIOD_S)
    assert follows_sweep(own)[1] > 20, "the member sees their own face move (from the server)"
    # ...in its own motion frames: the page itself sends positions at most, no poses.
    assert member_motion.frames > 0 and POSED_UPLINK not in member_motion.uplinks
    await shot(viewer, "face-server-viewer")

    await member.click("#face-toggle")
    await viewer.wait_for_function(
        """(pid) => window.hiroba.state().participants.find((q) => q.id === pid)
                      ?.tracking === 'none'""",
        arg=pid, timeout=10_000,
    )  # fmt: skip
    assert not server.app[TRACKING_KEY].camera.sessions, "turning it off ends the session"
    assert not member_egress.outside and not viewer_egress.outside
    assert not member_watch.errors, member_watch.errors
    assert not viewer_watch.errors, viewer_watch.errors


async def test_browser_tracking_drives_the_remote_avatar(server, browser) -> None:
    citizen, citizen_watch, citizen_egress = await open_watched(
        browser, f"{server.url}/?tracking=browser"
    )
    citizen_motion = MotionTraffic(citizen)
    me = await join(citizen, "手元で追跡")
    viewer, viewer_watch, viewer_egress = await open_watched(browser, server.url)
    await join(viewer, "見る人")
    assert not await citizen.is_visible("#face-server-field"), "citizens track on the device"

    await citizen.click("#face-toggle")
    st = await wait_mode(citizen, "browser", 60_000)
    assert st["tracking"]["phase"] == "running"
    pid = me["selfId"]
    await viewer.wait_for_function(
        """(pid) => { const p = window.hiroba.state().participants.find((q) => q.id === pid);
                      return p && p.tracking === 'browser' && p.posed; }""",
        arg=pid, timeout=20_000,
    )  # fmt: skip
    samples = await roll_samples(viewer, pid, 2 * PERIOD_S)
    corr, span = follows_sweep(samples)
    assert corr > 0.8 and span > 20, (corr, span, samples[::10])
    st = await state(citizen)
    assert st["tracking"]["sent"] > 0, st["tracking"]
    # The poses went up in motion uplinks (position + 69-byte record).
    assert citizen_motion.uplinks.count(POSED_UPLINK) > 0, citizen_motion.uplinks[:20]
    await shot(viewer, "face-browser-viewer")

    # Turning tracking off closes the landmarker, which makes tasks-vision try to send
    # its usage report: the CSP refuses it, nothing leaves.
    await citizen.click("#face-toggle")
    await viewer.wait_for_function(
        """(pid) => window.hiroba.state().participants.find((q) => q.id === pid)
                      ?.tracking === 'none'""",
        arg=pid, timeout=10_000,
    )  # fmt: skip
    await citizen.wait_for_timeout(1500)
    assert not citizen_egress.outside, citizen_egress.outside
    assert not viewer_egress.outside, viewer_egress.outside
    assert not csp_errors(citizen_watch), citizen_watch.errors
    assert not viewer_watch.errors, viewer_watch.errors


#: Runs the page's own tracking worker (the built one, by its hashed name) in a blob worker
#: (which inherits the page's CSP) whose 60-second timers fire after 1.5 s: tasks-vision's
#: usage report comes at once.
WARPED_WORKER = """async (workerPath) => {
  const code = `
    const every = self.setInterval.bind(self);
    self.setInterval = (fn, ms, ...rest) => every(fn, ms >= 60000 ? 1500 : ms, ...rest);
    await import('${location.origin}${workerPath}');
    self.postMessage({ type: 'loaded' });`;
  const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module' });
  const seen = { poses: 0, blocked: [], errors: [] };
  let busy = false;
  const loaded = new Promise((resolve) => {
    worker.onmessage = (e) => {
      const m = e.data;
      if (m.type === 'loaded') resolve();
      else if (m.type === 'pose') { seen.poses++; busy = false; }
      else if (m.type === 'blocked') seen.blocked.push([m.directive, m.uri]);
      else if (m.type === 'error') seen.errors.push(m.message);
      else if (m.type === 'ready') seen.ready = true;
    };
  });
  await loaded;
  // The worker finds tasks-vision's files itself (web_client/src/tracking/vision.js).
  worker.postMessage({ type: 'init', modelUrl: location.origin + '/models/face_landmarker.task' });
  const cam = await navigator.mediaDevices.getUserMedia({ video: true });
  const track = cam.getVideoTracks()[0];
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  const until = performance.now() + 15000;
  while (performance.now() < until && !(seen.blocked.length && seen.poses > 5)) {
    const { value } = await reader.read();
    if (busy || !seen.ready) { value.close(); continue; }
    busy = true;
    worker.postMessage({ type: 'frame', frame: value, t: value.timestamp / 1000 }, [value]);
  }
  reader.cancel();
  cam.getTracks().forEach((t) => t.stop());
  worker.postMessage({ type: 'close' });
  return seen;
}"""


async def test_tasks_vision_usage_reports_are_refused_by_the_csp(server, browser) -> None:
    page, watch, egress = await open_watched(browser, server.url)
    seen = await page.evaluate(
        WARPED_WORKER, built_asset(server.settings.client_dir, "faceWorker-*.js")
    )
    assert seen["poses"] > 5 and not seen["errors"], seen
    assert seen["blocked"], "tasks-vision did not try to report within the warped minute"
    assert all(d == "connect-src" and METRICS_HOST in uri for d, uri in seen["blocked"]), seen
    assert not egress.outside, egress.outside
    assert not watch.errors, watch.errors
