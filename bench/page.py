"""Page weight and frame rate of the plaza on a phone-sized page.

Starts a Hiroba server on 127.0.0.1 (or uses --url), lets N simulated people into the
plaza over real sockets (python-socketio clients in niced worker processes, joining in
batches; 30 of them walk, the rest stand and step now and then), opens the page in
Debian's Chromium at 390x844, joins, and prints: bytes transferred (compressed) before any
tracking assets, by kind, the rendering frame rate reported by the page, and its draw
calls, triangles and avatars per level of detail (``window.hiroba.state().render``).
Headless Chromium here renders WebGL with SwiftShader on the CPU, so the frame rate is a
floor for a phone with a GPU, not a phone measurement.

    .venv/bin/python -m bench.page --bots 30 --seconds 10 [--json]
    .venv/bin/python -m bench.page --bots 30,200,500 --json     # one fresh run per count
    .venv/bin/python -m bench.page --bots 200,500 --vrm 12       # VRM members on the stage

With ``--vrm N``, N invited members (each with a model made by avatar/vrm_build.py,
uploaded through the console's HTTP API) stand on the plaza's stage sending poses, and the
same page, crowd and members are measured twice: first with the models pending (the
procedural avatars), then approved (the members rejoin wearing them, and the page waits
until every model is loaded): frame rate, CPU per frame and JS heap, side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import socketio
from playwright.async_api import async_playwright

from bench.clients.chromium import ARGS, CHROMIUM, PHONE, join_page
from bench.report import nothing, print_result, short_of
from bench.server import start_server

ROOT = Path(__file__).resolve().parent.parent
MAX_BOTS = 599  # the seeded plaza holds 600 people, the page included


BATCH = 25  # bots joining at once
DRIFT_SECONDS = (20.0, 40.0)  # a standing bot takes a step this often


def bot_worker(url: str, indices: list[int], walkers: int, ready: Any, stop: Any) -> None:
    """A process of bots (spawned): joins its bots in batches, reports each batch on
    ``ready``, then walks or drifts until ``stop`` is set. Niced, so that the page's
    rendering, not the load generator, gets the CPU."""
    with suppress(OSError):
        os.nice(10)
    asyncio.run(_bots(url, indices, walkers, ready, stop))


async def _bots(url: str, indices: list[int], walkers: int, ready: Any, stop: Any) -> None:
    clients: list[socketio.AsyncClient] = []
    tasks: list[asyncio.Task[None]] = []
    for at in range(0, len(indices), BATCH):
        batch = indices[at:at + BATCH]
        joined = await asyncio.gather(*(_join(url, i) for i in batch), return_exceptions=True)
        ok = 0
        for i, got in zip(batch, joined, strict=True):
            if isinstance(got, BaseException):
                continue
            sio, me = got
            clients.append(sio)
            tasks.append(asyncio.create_task(_move(sio, i, me, i < walkers)))
            ok += 1
        ready.put(ok)
    await asyncio.to_thread(stop.wait)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


async def _join(url: str, index: int) -> tuple[socketio.AsyncClient, dict[str, Any]]:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(url, transports=["websocket"], wait_timeout=30)
    ack = await sio.call("join", {"name": f"bot{index}", "room": "plaza", "lang": "ja"},
                         timeout=60)
    if not ack.get("ok", True) or "snapshot" not in ack:
        await sio.disconnect()
        raise RuntimeError(f"bot{index} not admitted: {ack}")
    me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
    return sio, me


async def _move(sio: socketio.AsyncClient, index: int, me: dict[str, Any], walks: bool) -> None:
    """Walkers go round circles at 10 Hz (as every bot did before); the others stand and
    take a step now and then, so that a crowd of 500 costs the server and the page almost
    nothing but drawing."""
    rng = random.Random(index)
    cx, cz, r = me["x"], me["z"], rng.uniform(2, 6)
    phase = rng.uniform(0, math.tau)
    t0 = time.monotonic()
    if walks:
        while True:
            a = phase + (time.monotonic() - t0) * 0.4
            await sio.emit("move", {"x": cx + r * math.cos(a), "z": cz + r * math.sin(a),
                                    "h": -a})
            await asyncio.sleep(0.1)
    x, z = cx, cz
    while True:
        await asyncio.sleep(rng.uniform(*DRIFT_SECONDS))
        a = rng.uniform(0, math.tau)
        x, z = cx + 0.5 * math.cos(a), cz + 0.5 * math.sin(a)
        await sio.emit("move", {"x": x, "z": z, "h": -a})


def start_bots(url: str, bots: int, walkers: int) -> tuple[list[Any], Any, int]:
    """Spawn the bot processes (one per 250 bots) and wait until all have joined."""
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    workers = math.ceil(bots / 250)
    procs = [ctx.Process(target=bot_worker, daemon=True,
                         args=(url, list(range(w, bots, workers)), walkers, ready, stop))
             for w in range(workers)]
    for proc in procs:
        proc.start()
    joined, deadline = 0, time.monotonic() + 30 + bots * 0.3
    while joined < bots and time.monotonic() < deadline:
        with suppress(queue.Empty):
            joined += ready.get(timeout=1.0)
    if joined < bots:
        print(f"only {joined} of {bots} bots joined", file=sys.stderr)
    return procs, stop, joined


async def _perf(cdp: Any) -> dict[str, float]:
    got = await cdp.send("Performance.getMetrics")
    return {m["name"]: float(m["value"]) for m in got["metrics"]}


def chromium_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by the Chromium processes this program
    started (all its descendants named chromium): the cost of drawing, whatever else
    shares the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, str, float]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        with suppress(OSError, IndexError, ValueError):
            raw = (d / "stat").read_text()
            comm = raw[raw.index("(") + 1:raw.rindex(")")]
            f = raw.rsplit(")", 1)[1].split()
            procs[int(d.name)] = (int(f[1]), comm, (int(f[11]) + int(f[12])) / tick)
    mine = {os.getpid()}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _, _) in procs.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                grew = True
    return sum(cpu for pid, (_, comm, cpu) in procs.items()
               if pid in mine and "chrom" in comm)


async def _sample(page: Any, cdp: Any, seconds: float) -> dict[str, Any]:
    """One measuring window: the page's frame rate each second, its draw calls and
    triangles, Chromium's CPU time, the main thread's time per frame (CDP Performance,
    which must be enabled) and the JS heap at the end."""
    fps: list[int] = []
    calls: list[int] = []
    triangles: list[int] = []
    render: dict[str, Any] | None = None
    st: dict[str, Any] = {}
    perf0 = await _perf(cdp)
    cpu0, t0 = chromium_cpu_seconds(), time.monotonic()
    for _ in range(int(seconds)):
        await asyncio.sleep(1.0)
        st = await page.evaluate(
            "() => { const s = window.hiroba.state(); "
            "return {fps: s.fps, n: s.participants.length, render: s.render ?? null}; }")
        fps.append(st["fps"])
        render = st["render"]
        if render:
            calls.append(render["calls"])
            triangles.append(render["triangles"])
    cpu = chromium_cpu_seconds() - cpu0
    wall = time.monotonic() - t0
    perf1 = await _perf(cdp)
    frames = sum(fps)
    page_ms = {k: round(1000 * (perf1[k] - perf0[k]) / frames, 1) if frames else None
               for k in ("TaskDuration", "ScriptDuration", "LayoutDuration",
                         "RecalcStyleDuration")}
    return {"fps": fps, "calls": calls, "triangles": triangles, "render": render, "st": st,
            "cpu": cpu, "wall": wall, "page_ms": page_ms,
            "heap_mb": round(perf1.get("JSHeapUsedSize", 0) / 1e6, 1)}


def stop_bots(procs: list[Any], stop: Any) -> None:
    stop.set()
    for proc in procs:
        proc.join(15)
        if proc.is_alive():
            proc.terminate()


def resource_kind(url: str) -> str:
    """What a request fetched, by its path: the same kinds whether the server serves the
    built client (``/app/assets/``) or its sources (``/app/``, ``/vendor/``)."""
    path = urlsplit(url).path
    if path.startswith("/socket.io/") or path == "/motion":
        return "socket"
    if path.startswith("/api/"):
        return "api"
    suffix = PurePosixPath(path).suffix
    return {".js": "script", ".mjs": "script", ".css": "style", ".json": "catalogue"}.get(
        suffix, "page")


async def measure(url: str, bots: int, seconds: float, walkers: int = 30) -> dict[str, Any]:
    procs, stop, joined = await asyncio.to_thread(start_bots, url, bots, min(walkers, bots))
    await asyncio.sleep(1.0)
    try:
        return await _measure_page(url, bots, joined, seconds, min(walkers, bots))
    finally:
        await asyncio.to_thread(stop_bots, procs, stop)


async def _measure_page(url: str, bots: int, joined: int, seconds: float,
                        walkers: int) -> dict[str, Any]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = await browser.new_context(**PHONE)
        page = await ctx.new_page()
        cdp = await ctx.new_cdp_session(page)
        await cdp.send("Network.enable")
        urls: dict[str, str] = {}
        sizes: dict[str, int] = {}
        decoded: dict[str, int] = {}  # bytes after decompression: what the page parses
        cdp.on("Network.responseReceived",
               lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
        cdp.on("Network.dataReceived",
               lambda e: decoded.__setitem__(e["requestId"],
                                             decoded.get(e["requestId"], 0) + e["dataLength"]))
        cdp.on("Network.loadingFinished",
               lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
        await join_page(page, url, "plaza")
        await page.wait_for_function(
            "(n) => window.hiroba.state().participants.length >= n", arg=joined + 1,
            timeout=60000)
        await asyncio.sleep(2.0)
        await cdp.send("Performance.enable")
        window = await _sample(page, cdp, seconds)
        fps, calls, triangles, render = (window["fps"], window["calls"], window["triangles"],
                                         window["render"])
        cpu, wall, page_ms, st = window["cpu"], window["wall"], window["page_ms"], window["st"]
        ARTIFACTS = ROOT / "test-artifacts"
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "bench-phone.png"))
        renderer = await page.evaluate("""() => { const gl = document.createElement('canvas')
            .getContext('webgl2'); const d = gl && gl.getExtension('WEBGL_debug_renderer_info');
            return d ? gl.getParameter(d.UNMASKED_RENDERER_WEBGL) : 'unknown'; }""")
        await browser.close()
    by_kind: dict[str, int] = {}
    files = script_bytes = 0
    for rid, size in sizes.items():
        kind = resource_kind(urls.get(rid, ""))
        by_kind[kind] = by_kind.get(kind, 0) + size
        files += kind not in ("socket", "api")
        script_bytes += decoded.get(rid, 0) if kind == "script" else 0
    return {
        "viewport": "390x844@2x",
        "avatars_in_room": bots + 1,
        "transferred_bytes": sum(v for k, v in by_kind.items() if k != "socket"),
        "transferred_by_kind": by_kind,
        "requests": len(sizes),
        # the page, its scripts, styles and catalogues (not the API or the sockets)
        "files": files,
        "files_bytes": sum(v for k, v in by_kind.items() if k not in ("socket", "api")),
        "script_bytes_decoded": script_bytes,
        "fps_median": statistics.median(fps) if fps else None,
        "fps_min": min(fps) if fps else None,
        "renderer": renderer,
        "bots": bots,
        "bots_joined": joined,
        "bots_walking": walkers,
        "draw_calls_median": statistics.median(calls) if calls else None,
        "triangles_median": statistics.median(triangles) if triangles else None,
        "lod": ({k: render[k] for k in ("near", "mid", "far", "drawn")} if render else None),
        "pixel_ratio": render.get("pixelRatio") if render else None,
        "main_thread_ms": ({k: render.get(k) for k in ("avatarMs", "renderMs")}
                           if render else None),
        "seen_participants": st["n"] if fps else None,
        # Chromium's CPU time (all its processes) per second and per frame drawn: less
        # sensitive than fps to whatever else shares the two cores
        "chromium_cpu_per_second": round(cpu / wall, 3),
        "chromium_cpu_ms_per_frame": round(1000 * cpu / sum(fps), 1) if sum(fps) else None,
        # the page's main thread per frame (CDP Performance): all tasks, and JS alone
        "page_main_thread_ms_per_frame": {"tasks": page_ms["TaskDuration"],
                                          "script": page_ms["ScriptDuration"],
                                          "layout": page_ms["LayoutDuration"],
                                          "style": page_ms["RecalcStyleDuration"]},
        "load_average": os.getloadavg()[0],
    }


STAFF, STAFF_PASSWORD = "bench", "pale lantern orbit meadow 42"
PLAZA_STAGE = (0.0, -22.0, 14.0)  # the plaza's stage: centre x, z and width (rooms/layouts.py)


def add_staff(data_dir: str) -> None:
    """A staff account for the uploads (``hiroba staff add``), before the server starts."""
    subprocess.run([sys.executable, "-m", "server.cli.main", "staff", "add", STAFF,
                    "--password-stdin", "--data-dir", data_dir], input=STAFF_PASSWORD + "\n",
                   text=True, check=True, cwd=ROOT, capture_output=True)  # fmt: skip


class Members:
    """Invited members on the plaza's stage, each with a VRM model uploaded (pending until
    ``approve``) and sending a head-and-mouth pose with its position 10 times a second."""

    def __init__(self, url: str, data_dir: str, count: int) -> None:
        self.url = url
        self.data_dir = data_dir
        self.names = [f"委員{i + 1}" for i in range(count)]
        self.shas: list[str] = []
        self.headers: dict[str, str] = {}
        self.clients: list[socketio.AsyncClient] = []
        self.links: list[Any] = []
        self.task: asyncio.Task[None] | None = None

    async def upload(self) -> None:
        import aiohttp

        from avatar.vrm_build import build_vrm

        async with aiohttp.ClientSession() as http, http.post(
            self.url + "/api/login", json={"account": STAFF, "password": STAFF_PASSWORD}
        ) as r:
            body = await r.json()
            cookie = r.cookies["hiroba_session"].value
        self.headers = {"Cookie": f"hiroba_session={cookie}", "X-CSRF-Token": body["csrf"]}
        palette = ["#3b5b92", "#7c2d12", "#166534", "#6b21a8", "#9f1239", "#0f766e"]
        async with aiohttp.ClientSession(headers=self.headers) as http:
            for i, name in enumerate(self.names):
                data = build_vrm(version="1" if i % 2 == 0 else "0", perfect_sync=i % 2 == 0,
                                 colors=(palette[i % len(palette)], "#2f2f38", "#f2d0b8"),
                                 title=name)
                async with http.post(f"{self.url}/api/avatars",
                                     params={"for": f"member:{name}", "label": "bench"},
                                     data=data) as r:
                    body = await r.json()
                    if r.status != 201:
                        raise SystemExit(f"bench: the VRM upload was refused: {body}")
                    self.shas.append(body["sha256"])

    async def approve(self) -> None:
        import aiohttp

        async with aiohttp.ClientSession(headers=self.headers) as http:
            for sha in self.shas:
                async with http.post(f"{self.url}/api/avatars/{sha}/approve") as r:
                    if r.status != 200:
                        raise SystemExit(f"bench: approving {sha} failed: {await r.text()}")

    async def join(self) -> None:
        from bench.clients.motion_client import MotionWatcher
        from moderation.invitations import issue_invitation
        from rooms.model import Role
        from server.config.secret import load_or_create_secret
        from server.config.settings import Settings

        secret = load_or_create_secret(Settings(data_dir=Path(self.data_dir)).secret_path)
        for name in self.names:
            token, _ = issue_invitation(secret, "plaza", Role.MEMBER, name, time.time(), 600,
                                        issued_by="bench")
            sio = socketio.AsyncClient(reconnection=False)
            await sio.connect(self.url, transports=["websocket"], wait_timeout=30)
            ack = await sio.call("join", {"name": name, "room": "plaza", "lang": "ja",
                                          "token": token}, timeout=30)
            if not ack.get("ok", True) or "snapshot" not in ack:
                raise SystemExit(f"bench: member {name} not admitted: {ack}")
            self.clients.append(sio)
            self.links.append(await MotionWatcher.open(self.url, ack))
        self.task = asyncio.get_running_loop().create_task(self._pose())

    async def _pose(self) -> None:
        from avatar import codec as pose_codec
        from avatar.pose import Pose, TrackingState, weights_from_mapping

        cx, z, width = PLAZA_STAGE
        t0 = time.monotonic()
        while True:
            t = time.monotonic() - t0
            for i, link in enumerate(self.links):
                x = cx - width / 2 + width * (i + 0.5) / len(self.links)
                pose = Pose(int(t * 1000), TrackingState.TRACKED,
                            roll=10 * math.sin(t + i), yaw=15 * math.sin(0.7 * t + i),
                            weights=weights_from_mapping(
                                {"jawOpen": 0.5 + 0.5 * math.sin(4 * t + i)}))
                await link.send(x, z, 0.0, pose_codec.encode(pose))
            await asyncio.sleep(0.1)

    async def leave(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with suppress(asyncio.CancelledError):
                await self.task
        for link in self.links:
            await link.close()
        await asyncio.gather(*(c.disconnect() for c in self.clients), return_exceptions=True)
        self.clients, self.links, self.task = [], [], None


def _figures(window: dict[str, Any]) -> dict[str, Any]:
    fps = window["fps"]
    render = window["render"] or {}
    return {
        "fps_median": statistics.median(fps) if fps else None,
        "fps_min": min(fps) if fps else None,
        "chromium_cpu_ms_per_frame": (round(1000 * window["cpu"] / sum(fps), 1)
                                      if sum(fps) else None),
        "chromium_cpu_per_second": round(window["cpu"] / window["wall"], 3),
        "page_main_thread_ms_per_frame": window["page_ms"]["TaskDuration"],
        "js_heap_mb": window["heap_mb"],
        "draw_calls_median": statistics.median(window["calls"]) if window["calls"] else None,
        "triangles_median": (statistics.median(window["triangles"])
                             if window["triangles"] else None),
        "lod": {k: render.get(k) for k in ("near", "mid", "far")},
        "vrm": render.get("vrm"),
        "avatar_ms": render.get("avatarMs"),
        "render_ms": render.get("renderMs"),
    }


async def measure_vrm(url: str, data_dir: str, bots: int, seconds: float, walkers: int,
                      members: int) -> dict[str, Any]:
    """The same page, crowd and members measured with procedural avatars, then VRMs."""
    crew = Members(url, data_dir, members)
    await crew.upload()
    procs, stop, joined = await asyncio.to_thread(start_bots, url, bots, min(walkers, bots))
    try:
        await crew.join()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            ctx = await browser.new_context(**PHONE)
            page = await ctx.new_page()
            cdp = await ctx.new_cdp_session(page)
            await join_page(page, url, "plaza")
            await page.wait_for_function(
                "(n) => window.hiroba.state().participants.length >= n",
                arg=joined + members + 1, timeout=60000)
            await page.click("#hud-view")  # the stage view: the members in sight
            await asyncio.sleep(3.0)
            await cdp.send("Performance.enable")
            procedural = await _sample(page, cdp, seconds)
            await crew.approve()
            await crew.leave()
            await crew.join()  # rejoining, each member now wears the approved model
            t0 = time.monotonic()
            try:
                # every member drawn near has its model (one standing in a crowd may be mid
                # or far on a phone: drawn in the crowd batches, its model never needed)
                await page.wait_for_function(
                    "() => { const v = window.hiroba.state().render?.vrm; "
                    "return !!v && v.ready > 0 && v.loading === 0; }",
                    timeout=180_000, polling=500)
            except Exception:
                seen = await page.evaluate(
                    "() => { const s = window.hiroba.state(); return {render: s.render, "
                    "vrm: s.participants.filter((p) => p.vrm).map((p) => [p.name, p.vrm.status,"
                    " p.x, p.z])}; }")
                raise SystemExit(f"bench: the VRMs did not all load: {seen}") from None
            load_s = round(time.monotonic() - t0, 1)
            await asyncio.sleep(3.0)
            vrm = await _sample(page, cdp, seconds)
            ARTIFACTS = ROOT / "test-artifacts"
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "bench-phone-vrm.png"))
            await browser.close()
    finally:
        await crew.leave()
        await asyncio.to_thread(stop_bots, procs, stop)
    return {
        "viewport": "390x844@2x", "bots": bots, "bots_joined": joined, "members": members,
        "avatars_in_room": joined + members + 1,
        "procedural": _figures(procedural), "vrm": _figures(vrm),
        # from the members' rejoining to every model parsed and drawn
        "vrm_load_seconds": load_s, "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an already running server on 127.0.0.1")
    parser.add_argument("--bots", default="30",
                        help=f"simulated people (max {MAX_BOTS}); a comma list such as "
                             "30,200,500 measures each with a fresh server and page")
    parser.add_argument("--walkers", type=int, default=30,
                        help="bots that walk circles at 10 Hz; the others stand and "
                             "take a step every 20-40 s")
    parser.add_argument("--seconds", type=float, default=10.0, help="frame-rate window (max 60)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--vrm", type=int, default=0, metavar="N",
                        help="N members with VRM models on the stage, measured against "
                             "procedural avatars in the same run (a fresh server; no --url)")
    args = parser.parse_args()
    counts = [min(max(int(b), 0), MAX_BOTS - max(args.vrm, 0)) for b in
              str(args.bots).split(",") if b.strip()]
    seconds = min(max(args.seconds, 1), 60)
    if args.vrm > 0:
        vrm_results = [run_vrm(bots, seconds, max(args.walkers, 0), args.vrm)
                       for bots in counts]
        print(json.dumps(vrm_results if len(vrm_results) > 1 else vrm_results[0],
                         indent=None if args.json else 2, ensure_ascii=False))
        return
    results = [run_once(args.url, bots, seconds, max(args.walkers, 0)) for bots in counts]
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results))
    else:
        for result in results:
            print_result(result, as_json=False)
            print()
    found = [f for result in results for f in failures(result) if f]
    for reason in found:
        print(f"bench: FAILED: {reason}", file=sys.stderr)
    if found:
        sys.exit(1)


def failures(result: dict[str, Any]) -> list[str]:
    """Why a run measured nothing that means anything (empty strings: it did)."""
    return [
        short_of("bots joined", result.get("bots_joined"), result["bots"]),
        nothing("page files transferred", result.get("files")),
        nothing("frame rate", result.get("fps_median")),
    ]


def run_once(url: str | None, bots: int, seconds: float, walkers: int) -> dict[str, Any]:
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        if url is None:
            proc, url = start_server(os.path.join(tmp, "data"))
        try:
            return asyncio.run(measure(url, bots, seconds, walkers))
        finally:
            if proc is not None:
                proc.terminate()
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(10)


def run_vrm(bots: int, seconds: float, walkers: int, members: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        add_staff(data)
        # the bots, members, page and uploads all come from 127.0.0.1: no TCP cap per address
        proc, url = start_server(data, "--tcp-connections-per-address", "0")
        try:
            return asyncio.run(measure_vrm(url, data, bots, seconds, walkers, members))
        finally:
            proc.terminate()
            with suppress(subprocess.TimeoutExpired):
                proc.wait(10)


if __name__ == "__main__":
    main()
