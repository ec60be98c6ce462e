"""Dev mode (``--client-dev``): the page runs from web_client/'s sources, unbuilt, with the
import map, and the face-tracking worker finds tasks-vision under /vendor/. What ships is
the build (every other e2e test); this keeps the documented way of working on the client
from rotting."""

from __future__ import annotations

from dataclasses import replace

import pytest
from playwright.async_api import Request

from server.config.settings import Settings
from server.tracking.model_fetch import fetch_model
from tests.conftest import ROOT
from tests.e2e.conftest import join, open_page

#: The tracking worker from the sources, started in the page (it inherits the page's CSP)
#: until tasks-vision and the model are loaded.
WORKER_READY = """async () => {
  const worker = new Worker('/app/src/tracking/faceWorker.js', { type: 'module' });
  const answer = new Promise((resolve) => {
    worker.onmessage = (e) => { if (e.data.type !== 'blocked') resolve(e.data); };
    worker.onerror = (e) => resolve({ type: 'error', message: e.message });
  });
  worker.postMessage({ type: 'init', modelUrl: location.origin + '/models/face_landmarker.task' });
  const got = await answer;
  worker.postMessage({ type: 'close' });
  return got;
}"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    models = ROOT / "data" / "models"  # where make setup keeps the verified model
    fetch_model(replace(Settings(), model_cache_dir=models))
    return replace(settings, client_dev=True, model_cache_dir=models)


async def test_the_sources_run_unbuilt_with_the_import_map(server, browser) -> None:
    page, watch = await open_page(browser, server.url)
    paths: list[str] = []

    def seen(request: Request) -> None:
        paths.append(request.url.removeprefix(server.url))

    page.on("request", seen)
    await page.reload()
    assert await page.locator('script[type="importmap"]').count() == 1
    await join(page, "開発者")
    # three.js through the import map, the scene from the sources.
    assert "/app/src/main.js" in paths
    assert "/vendor/three/build/three.module.js" in paths
    assert any(p.startswith("/app/src/scene/") for p in paths)
    assert not [p for p in paths if p.startswith("/app/assets/")], "the build was served"
    ready = await page.evaluate(WORKER_READY)
    assert ready["type"] == "ready", ready
    assert any(p.startswith("/vendor/@mediapipe/tasks-vision/wasm/") for p in paths), paths
    assert not [e for e in watch.errors if "googleapis" not in e], watch.errors
    # The gallery page's WASM Opus decoder (where WebCodecs is missing) through the map:
    # its package and the three it imports, served from /vendor/, its WASM compiled.
    decoder = await page.evaluate("""async () => {
      const { OpusDecoder } = await import('opus-decoder');
      const d = new OpusDecoder({ channels: 1 });
      await d.ready;
      d.free();
      return typeof OpusDecoder;
    }""")
    assert decoder == "function"
    assert "/vendor/opus-decoder/index.js" in paths
    assert "/vendor/simple-yenc/dist/esm.js" in paths
