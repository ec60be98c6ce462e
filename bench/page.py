"""Page weight and frame rate of the plaza on a phone-sized page.

Starts a Hiroba server on 127.0.0.1 (or uses --url), lets N simulated people walk in the
plaza over real sockets, opens the page in Debian's Chromium at 390x844, joins, and prints:
bytes transferred (compressed) before any tracking assets, by kind, and the rendering
frame rate reported by the page. Headless Chromium here renders WebGL with SwiftShader on
the CPU, so the frame rate is a floor for a phone with a GPU, not a phone measurement.

    .venv/bin/python -m bench.page --bots 30 --seconds 10 [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import socketio
from playwright.async_api import async_playwright

from bench.server import start_server
from tests.chromium import ARGS, CHROMIUM, PHONE

ROOT = Path(__file__).resolve().parent.parent


async def bot(url: str, index: int, stop: asyncio.Event) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(url, transports=["websocket"])
    ack = await sio.call("join", {"name": f"bot{index}", "room": "plaza", "lang": "ja"})
    me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
    rng = random.Random(index)
    cx, cz, r = me["x"], me["z"], rng.uniform(2, 6)
    phase = rng.uniform(0, math.tau)
    t0 = time.monotonic()
    while not stop.is_set():
        a = phase + (time.monotonic() - t0) * 0.4
        await sio.emit("move", {"x": cx + r * math.cos(a), "z": cz + r * math.sin(a),
                                "h": -a})
        await asyncio.sleep(0.1)
    await sio.disconnect()


async def measure(url: str, bots: int, seconds: float) -> dict[str, Any]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(bot(url, i, stop)) for i in range(bots)]
    await asyncio.sleep(1.0)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = await browser.new_context(**PHONE)
        page = await ctx.new_page()
        cdp = await ctx.new_cdp_session(page)
        await cdp.send("Network.enable")
        urls: dict[str, str] = {}
        sizes: dict[str, int] = {}
        cdp.on("Network.responseReceived",
               lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
        cdp.on("Network.loadingFinished",
               lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
        await page.goto(url)
        await page.fill("#join-name", "計測")
        await page.wait_for_function("() => document.querySelectorAll('#join-room option').length")
        await page.select_option("#join-room", "plaza")
        await page.click("#join-submit")
        await page.wait_for_function("() => window.hiroba && window.hiroba.state().joined")
        await page.wait_for_function(
            "(n) => window.hiroba.state().participants.length >= n", arg=bots + 1, timeout=20000)
        await asyncio.sleep(2.0)
        fps = []
        for _ in range(int(seconds)):
            await asyncio.sleep(1.0)
            fps.append((await page.evaluate("() => window.hiroba.state()"))["fps"])
        ARTIFACTS = ROOT / "test-artifacts"
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "bench-phone.png"))
        renderer = await page.evaluate("""() => { const gl = document.createElement('canvas')
            .getContext('webgl2'); const d = gl && gl.getExtension('WEBGL_debug_renderer_info');
            return d ? gl.getParameter(d.UNMASKED_RENDERER_WEBGL) : 'unknown'; }""")
        await browser.close()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    by_kind: dict[str, int] = {}
    for rid, size in sizes.items():
        u = urls.get(rid, "")
        kind = ("vendor" if "/vendor/" in u else "app" if "/app/" in u
                else "socket" if "/socket.io/" in u else "api" if "/api/" in u else "page")
        by_kind[kind] = by_kind.get(kind, 0) + size
    return {
        "viewport": "390x844@2x",
        "avatars_in_room": bots + 1,
        "transferred_bytes": sum(v for k, v in by_kind.items() if k != "socket"),
        "transferred_by_kind": by_kind,
        "requests": len(sizes),
        "fps_median": statistics.median(fps) if fps else None,
        "fps_min": min(fps) if fps else None,
        "renderer": renderer,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already running server on 127.0.0.1")
    parser.add_argument("--bots", type=int, default=30, help="simulated people (max 200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="frame-rate window (max 60)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    bots, seconds = min(max(args.bots, 0), 200), min(max(args.seconds, 1), 60)
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url
        if url is None:
            proc, url = start_server(os.path.join(tmp, "data"))
        try:
            result = asyncio.run(measure(url, bots, seconds))
        finally:
            if proc is not None:
                proc.terminate()
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
