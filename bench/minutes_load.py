"""Published minutes under load: a build per request against the kept document.

    .venv/bin/python -m bench.minutes_load [--minutes 120] [--speakers 8] [--clients 16]
                                           [--seconds 5] [--json]

Writes a meeting of ``--minutes`` with ``--speakers`` speakers taking turns (speech-shaped
Opus packets, a caption every 3 s) into a fresh data folder, registers it published in
that folder's database, and starts ``hiroba serve`` on it (a subprocess; the HTTP budgets
lifted so that only the server's own cost is measured). Then, from this process:

- **uncached**: one request after another, each after the event log's time was changed
  (so each is a build from the files, as every request was before the cache);
- **cached**: ``--clients`` concurrent clients asking for the same minutes for
  ``--seconds``;

and for each, the requests per second and ``/healthz``'s latency (p50/p95, probed every
50 ms: how long anything else waits meanwhile), plus the server's build and hit counters
from ``/metrics``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from bench.recording import FakeClock, speech_like_packets
from bench.server import start_server
from server.config.settings import load_settings
from server.recording.event_log import EventKind
from server.recording.ids import new_recording_id
from server.recording.index import RecordingIndex
from server.recording.recorder import EVENTS, Manifest, Recorder
from server.storage.store import SQLiteStore


def write_meeting(root: Path, minutes: float, speakers: int) -> Manifest:
    """A stopped recording: speakers in turns of a minute, captions every 3 s."""
    packets = speech_like_packets(20.0)
    clock = FakeClock()
    rid = new_recording_id()
    rec = Recorder(root / rid, rid, "dx-committee", "ベンチ委員会", clock=clock,
                   max_queue=10_000_000)
    rec.start()
    for n in range(speakers):
        rec.feed_event(EventKind.JOIN, {"type": "meeting.present", "pid": f"m{n}",
                                        "pid_name": f"委員{n}", "pid_role": "member"})
    frames = int(minutes * 60 * 50)  # 20 ms packets
    for i in range(frames):
        clock.now += 0.02
        second = i // 50
        speaker = (second // 60) % speakers
        if i % 3000 == 0:
            rec.feed_event(EventKind.FLOOR, {"type": "floor.given", "pid": f"m{speaker}"})
        rec.feed_audio(f"m{speaker}", packets[i % len(packets)], i * 960)
        if i % 150 == 0:
            rec.feed_event(EventKind.CAPTION, {"type": "caption.posted", "line": {
                "seq": i // 150, "text": "ただいまの議題について説明します。"}})
        if i % 5000 == 4999:
            while rec._queue.qsize() > 5_000:  # keep the simulated clock near the writer
                time.sleep(0.001)
    return rec.stop()


async def register(data_dir: Path, manifest: Manifest) -> None:
    settings = replace(load_settings({}), data_dir=data_dir)
    store = SQLiteStore(settings.database_path)
    await store.open()
    try:
        index = RecordingIndex(store, settings.recordings_path)
        await index.add(manifest, "bench")
        await index.finish(manifest)
        await index.set_published(manifest.id, True, time.time())
    finally:
        await store.close()


def _ms(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)


async def probe(http: aiohttp.ClientSession, url: str, stop: asyncio.Event,
                out: list[float]) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        async with http.get(url + "/healthz") as r:
            await r.read()
        out.append(time.perf_counter() - t)
        await asyncio.sleep(0.05)


async def counters(http: aiohttp.ClientSession, url: str) -> dict[str, float]:
    async with http.get(url + "/metrics") as r:
        text = await r.text()
    wanted = ("hiroba_minutes_builds_total", "hiroba_minutes_cache_hits_total")
    return {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
            if line.startswith(wanted)}


async def measure(url: str, rid: str, events: Path, args: argparse.Namespace
                  ) -> dict[str, Any]:
    minutes = f"{url}/api/recordings/{rid}/minutes?format=html"
    result: dict[str, Any] = {}
    connector = aiohttp.TCPConnector(limit=args.clients + 2)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(minutes) as r:  # warm up (imports, first build)
            assert r.status == 200, r.status
            size = len(await r.read())
        result["document_bytes"] = size
        # Uncached: each request a build.
        stop, lat = asyncio.Event(), []
        task = asyncio.create_task(probe(http, url, stop, lat))
        before = await counters(http, url)
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < args.seconds or n < 3:
            stamp = time.time_ns() + n
            os.utime(events, ns=(stamp, stamp))  # a new version: the next request builds
            async with http.get(minutes) as r:
                await r.read()
            n += 1
        elapsed = time.perf_counter() - t0
        stop.set()
        await task
        after = await counters(http, url)
        result["uncached"] = {
            "requests": n, "per_second": round(n / elapsed, 2),
            "builds": after.get("hiroba_minutes_builds_total", 0)
            - before.get("hiroba_minutes_builds_total", 0),
            "healthz_ms_p50": _ms(lat, 0.5), "healthz_ms_p95": _ms(lat, 0.95)}
        # Cached: the same document, many clients.
        stop, lat = asyncio.Event(), []
        task = asyncio.create_task(probe(http, url, stop, lat))
        before = await counters(http, url)
        done = 0
        deadline = time.perf_counter() + args.seconds

        async def client() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with http.get(minutes) as r:
                    await r.read()
                done += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(args.clients)))
        elapsed = time.perf_counter() - t0
        stop.set()
        await task
        after = await counters(http, url)
        result["cached"] = {
            "clients": args.clients, "requests": done,
            "per_second": round(done / elapsed, 1),
            "builds": after.get("hiroba_minutes_builds_total", 0)
            - before.get("hiroba_minutes_builds_total", 0),
            "healthz_ms_p50": _ms(lat, 0.5), "healthz_ms_p95": _ms(lat, 0.95)}
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=120.0, help="meeting length")
    parser.add_argument("--speakers", type=int, default=8)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients, cached")
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        settings = replace(load_settings({}), data_dir=data)
        t = time.perf_counter()
        manifest = write_meeting(settings.recordings_path, args.minutes, args.speakers)
        written = time.perf_counter() - t
        asyncio.run(register(data, manifest))
        proc, url = start_server(str(data), "--http-heavy-per-minute", "1000000",
                                 "--http-media-per-minute", "1000000")
        try:
            result = asyncio.run(measure(url, manifest.id,
                                         settings.recordings_path / manifest.id / EVENTS, args))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    result = {"minutes": args.minutes, "speakers": args.speakers,
              "written_s": round(written, 1), **result}
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
