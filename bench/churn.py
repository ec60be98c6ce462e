"""Churn: N clients come and go for a bounded time; afterwards nothing is left behind.

Starts a Hiroba server on 127.0.0.1 with its debug endpoint on (``--debug-endpoints``,
``GET /api/debug/leaks``, server/observe/diagnostics.py), warms it up with a small wave of
clients, then lets N distinct simulated clients pass through from worker processes, at
most ``--concurrent`` at once: each connects over socket.io (real
``socketio.AsyncClient`` on loopback), joins the plaza, the consultation or the committee
of the seeded demo, opens the ``/motion`` WebSocket with the token of its join ack and
sends uplinks at ``--uplink-hz`` while reading its frames, sends a few ``chat:send``, and
after a random lifetime leaves one of three ways: politely (``leave`` then disconnect),
by disconnecting only, or by dropping its sockets (TCP abort, no goodbye). A bounded
number also listen over an aiortc audio peer (``audio:listen``) or publish a tone
(``audio:publish``), so that peer connections come and go too.

Before the churn (after the warm-up) and after it (everyone gone, a settle, a full
``gc.collect()`` in the server) it reads the server's RSS, file descriptors, asyncio tasks,
hub participants and sessions, seats, socket.io sockets, motion-plane rows and tokens,
audio-plane peers and counts of live objects by type, and prints before, peak, after, the
difference and a PASS/FAIL verdict per resource:

    .venv/bin/python -m bench.churn --clients 500 --seconds 60 --json

Bounded: at most 2000 clients, 300 s, 400 at once, 40 audio peers; loopback only (ICE on
127.0.0.1, no STUN).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import server as bench_server
from bench.report import finish, nothing

ROOT = Path(__file__).resolve().parent.parent
MAX_CLIENTS = 2000
MAX_SECONDS = 300.0
MAX_CONCURRENT = 400
MAX_AUDIO = 40
ROOMS = ("plaza", "park-consultation", "dx-committee")
#: Share of clients per room (the rest go to the plaza).
ROOM_SHARE = {"park-consultation": 0.15, "dx-committee": 0.15}
EXITS = ("polite", "disconnect", "abrupt")
DEBUG_PATH = "/api/debug/leaks"
#: After a socket closes, python-engineio's ping task for it sleeps out the server's ping
#: interval (20 s, server/app.py) before it ends and lets the socket go: measured sooner,
#: those would pass for leaks. They are bounded in time, not left behind.
SETTLE_SECONDS = 22.0


# --- the plan ------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """One simulated visitor: where they go, how long they stay, how they leave."""

    index: int
    room: str
    lifetime: float
    exit: str
    chats: int
    audio: str  # "", "listen" or "publish"


def plan(
    clients: int, seconds: float, concurrent: int, listeners: int, speakers: int, seed: int = 7
) -> list[Job]:
    """The visitors, in arrival order. Lifetimes average what lets ``clients`` pass through
    ``concurrent`` places in ~80 % of ``seconds`` (joining and leaving take the rest)."""
    rng = random.Random(seed)
    mean = max(1.0, 0.8 * seconds * min(concurrent, clients) / max(1, clients))
    jobs = []
    # Audio peers spread over the run; speakers in the plaza (citizens may speak there).
    listen_at = set(_spread(clients, listeners, offset=1))
    speak_at = set(_spread(clients, speakers, offset=3)) - listen_at
    for i in range(clients):
        r = rng.random()
        room = "plaza"
        for name, share in ROOM_SHARE.items():
            if r < share:
                room = name
                break
            r -= share
        audio = "listen" if i in listen_at else "publish" if i in speak_at else ""
        if audio == "publish" or (audio == "listen" and room == "dx-committee"):
            # Citizens speak in the plaza only; the committee's lobby would keep a
            # listener waiting (not joined: no audio).
            room = "plaza"
        jobs.append(
            Job(
                i,
                room,
                rng.uniform(0.3, 1.7) * mean,
                EXITS[i % len(EXITS)],
                rng.randint(1, 3),
                audio,
            )
        )
    return jobs


def _spread(n: int, k: int, offset: int) -> list[int]:
    k = min(k, n)
    return [min(n - 1, offset + i * n // k) for i in range(k)] if k else []


# --- one visitor (in a worker process) ---------------------------------------------------
class Tally:
    """What a worker's visitors did and met."""

    def __init__(self) -> None:
        self.c: Counter[str] = Counter()
        self.errors: list[str] = []

    def error(self, where: str, exc: BaseException | str) -> None:
        self.c["errors"] += 1
        if len(self.errors) < 5:
            self.errors.append(f"{where}: {exc!r}"[:300])


async def _audio_peer(sio: Any, kind: str, tally: Tally) -> Any:
    """An aiortc peer on the audio plane: a 3-slot listener or a tone microphone."""
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from bench.clients.audio_peers import Tone
    from server.rtc.ice import rtc_configuration

    pc = RTCPeerConnection(rtc_configuration([]))
    try:
        if kind == "listen":
            for _ in range(3):
                pc.addTransceiver("audio", direction="recvonly")
        else:
            pc.addTrack(Tone(300.0 + random.random() * 400))
        await pc.setLocalDescription(await pc.createOffer())
        body: dict[str, Any] = {"sdp": pc.localDescription.sdp, "type": "offer"}
        if kind == "listen":
            body["slots"] = 3
        ack = await sio.call("audio:" + kind, body, timeout=30)
        if not ack.get("ok"):
            tally.c[f"audio_{kind}_refused:{ack.get('reason')}"] += 1
            return pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=ack["sdp"], type="answer"))
        tally.c[f"audio_{kind}_opened"] += 1
        for _ in range(100):
            if pc.connectionState == "connected":
                tally.c[f"audio_{kind}_connected"] += 1
                break
            await asyncio.sleep(0.1)
    except Exception as exc:
        tally.error("audio", exc)
    return pc


def _abort_socketio(sio: Any) -> None:
    """Drop the socket.io connection's TCP socket: no close frame, no leave."""
    ws = getattr(sio.eio, "ws", None)
    conn = getattr(getattr(ws, "_response", None), "connection", None)
    transport = getattr(conn, "transport", None)
    if transport is not None:
        transport.abort()


async def visit(url: str, job: Job, end: float, uplink_hz: float, tally: Tally) -> None:
    """One visitor, from connecting to leaving (at loop time ``end``)."""
    import socketio
    import websockets

    from server.motion.codec import encode_uplink

    loop = asyncio.get_running_loop()
    rng = random.Random(job.index)
    sio = socketio.AsyncClient(reconnection=False)
    tally.c["started"] += 1
    ws: Any = None
    pc: Any = None
    reader: asyncio.Task[None] | None = None
    try:
        await sio.connect(url, transports=["websocket"], wait_timeout=30)
        ack = await sio.call(
            "join", {"name": f"churn{job.index}", "room": job.room, "lang": "ja"}, timeout=30
        )
        if not ack.get("ok"):
            tally.c[f"join_refused:{ack.get('reason')}"] += 1
            await sio.disconnect()
            return
        tally.c["joined"] += 1
        tally.c[f"room:{job.room}"] += 1
        tally.c[f"place:{ack.get('place', 'room')}"] += 1
        # (Someone the committee's lobby keeps waiting has no avatar, and no motion yet.)
        people = ack.get("snapshot", {}).get("participants", [])
        me = next((p for p in people if p["id"] == ack["self"]), None)
        x, z, h = (me["x"], me["z"], me["h"]) if me else (0.0, 0.0, 0.0)
        if "motion" in ack:
            ws = await websockets.connect(
                url.replace("http", "ws", 1) + ack["motion"]["path"],
                max_size=2**20,
                compression=None,
                proxy=None,  # loopback: websockets would take https_proxy even for ws://
            )
            await ws.send(ack["motion"]["token"])
            if await ws.recv() != "ok":
                raise RuntimeError("motion plane refused the token")
            tally.c["motion_opened"] += 1

            async def read() -> None:
                with suppress(websockets.ConnectionClosed):
                    async for _frame in ws:
                        tally.c["frames"] += 1

            reader = asyncio.create_task(read())
        if job.audio:
            pc = await _audio_peer(sio, job.audio, tally)
        chat_at = sorted(
            rng.uniform(0, max(0.1, end - loop.time())) + loop.time() for _ in range(job.chats)
        )
        period = 1.0 / uplink_hz
        while loop.time() < end:
            if ws is not None:
                h += rng.uniform(-0.3, 0.3)
                x = max(-20.0, min(20.0, x - math.sin(h) * 1.2 * period))
                z = max(-20.0, min(20.0, z - math.cos(h) * 1.2 * period))
                await ws.send(encode_uplink(x, z, h, None))
                tally.c["uplinks"] += 1
            while chat_at and chat_at[0] <= loop.time():
                chat_at.pop(0)
                reply = await sio.call("chat:send", {"text": f"こんにちは {job.index}"}, timeout=30)
                tally.c["chat_sent"] += 1
                ok = reply.get("ok")
                tally.c["chat_ok" if ok else f"chat_refused:{reply.get('reason')}"] += 1
            await asyncio.sleep(max(0.0, min(period, end - loop.time())))
        tally.c[f"exit:{job.exit}"] += 1
        if job.exit == "abrupt":
            _abort_socketio(sio)
            if ws is not None:
                ws.transport.abort()
        else:
            if ws is not None:
                await ws.close()
            if job.exit == "polite":
                reply = await sio.call("leave", {}, timeout=30)
                tally.c["leave_ok" if reply.get("ok") else "leave_refused"] += 1
    except Exception as exc:
        tally.error(f"client {job.index} ({job.room})", exc)
    finally:
        # Whatever happened, this client's own resources go (after the sockets, so that
        # an abrupt drop reaches the server first).
        if reader is not None:
            reader.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await reader
        if pc is not None:
            with suppress(Exception):
                await pc.close()
        with suppress(Exception):
            await asyncio.wait_for(sio.disconnect(), 10)
        if ws is not None:
            with suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)
        tally.c["finished"] += 1


async def run_wave(
    url: str,
    jobs: list[Job],
    concurrent: int,
    deadline_wall: float,
    uplink_hz: float,
    spacing: float = 0.02,
) -> dict[str, Any]:
    """Run ``jobs`` with at most ``concurrent`` at once; lifetimes are cut so that the
    last ones end near ``deadline_wall`` (a Unix time); none starts 30 s after it."""
    loop = asyncio.get_running_loop()
    offset = loop.time() - time.time()
    deadline = deadline_wall + offset
    tally = Tally()
    places = asyncio.Semaphore(max(1, concurrent))
    tasks: set[asyncio.Task[None]] = set()
    for job in jobs:
        await places.acquire()
        now = loop.time()
        if now > deadline + 30:
            places.release()
            tally.c["not_started"] += 1
            continue
        # Behind schedule, visits get shorter (1 s at least) rather than the run longer.
        stay = max(1.0, min(job.lifetime, deadline - now))
        task = asyncio.create_task(visit(url, job, now + stay, uplink_hz, tally))
        task.add_done_callback(lambda _t: places.release())
        tasks.add(task)
        await asyncio.sleep(spacing)  # arrivals spread out, as people come
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            tally.error("task", r)
    return {"counts": dict(tally.c), "errors": tally.errors}


def worker(
    url: str,
    jobs: list[Job],
    concurrent: int,
    deadline_wall: float,
    uplink_hz: float,
    nice: int,
    queue: Any,
) -> None:
    if nice:
        os.nice(nice)
    from server.rtc.ice import use_host_addresses

    use_host_addresses(["127.0.0.1"])  # audio peers: loopback host candidates, no STUN
    try:
        queue.put(asyncio.run(run_wave(url, jobs, concurrent, deadline_wall, uplink_hz)))
    except BaseException as exc:  # the parent must hear back either way
        queue.put({"counts": {"errors": 1}, "errors": [f"worker: {exc!r}"]})


# --- what the server holds -----------------------------------------------------------
def read_state(url: str, collect: bool) -> dict[str, Any]:
    query = "?gc=1" if collect else ""
    with urllib.request.urlopen(url + DEBUG_PATH + query, timeout=60) as resp:
        body: dict[str, Any] = json.load(resp)
    return body


def _short(type_name: str) -> str:
    return "obj_" + type_name.rsplit(".", 1)[-1].lstrip("_")


def flatten(state: dict[str, Any]) -> dict[str, Any]:
    """The figures compared before and after, flat."""
    p, hub, m = state["process"], state["hub"], state["meetings"]
    sio, mo, au = state["socketio"], state["motion"], state["audio"]
    out: dict[str, Any] = {
        "rss_mb": round(p["rss_bytes"] / 2**20, 1),
        "open_fds": p["open_fds"],
        "threads": p["threads"],
        "py_blocks_k": round(p["allocated_blocks"] / 1000, 1),
        "tasks": state["asyncio"]["tasks"],
        "hub_sessions": hub["sessions"],
        "participants": hub["participants"],
        "seats": m["seats"],
        "meeting_people": m["people"],
        "lobby": m["lobby"],
        "floor_queue": m["floor_queue"],
        "engineio_sockets": sio["engineio_sockets"],
        "socketio_environ": sio["environ"],
        "socketio_memberships": sio["memberships"],
        "motion_rows": mo["rows"],
        "motion_tokens": mo["tokens"] + mo["token_index"],
        "motion_transports": mo["transports"],
        "motion_datachannel_peers": mo["datachannel_peers"],
        "motion_latency_samples_k": round(mo["latency_samples"] / 1000, 1),
        "audio_uplinks": au["uplinks"],
        "audio_listeners": au["listeners"],
        "audio_bookkeeping": au["publishing"]
        + au["listening"]
        + au["slot_counts"]
        + au["positions"]
        + au["routes"],
        "tracking_sessions": state["tracking"]["sessions"],
    }
    objects = state.get("objects")
    if objects is not None:
        for name, n in objects["counts"].items():
            out[_short(name)] = n
        out["gc_uncollectable"] = objects["uncollectable"]
        out["gc_objects"] = objects["tracked"]
    return out


#: Must be 0 once everyone has gone.
ZERO = (
    "hub_sessions",
    "participants",
    "seats",
    "meeting_people",
    "lobby",
    "floor_queue",
    "engineio_sockets",
    "socketio_environ",
    "socketio_memberships",
    "motion_rows",
    "motion_tokens",
    "motion_transports",
    "motion_datachannel_peers",
    "audio_uplinks",
    "audio_listeners",
    "audio_bookkeeping",
    "tracking_sessions",
)
#: Must be back to (at most) the baseline: nothing that grows with visitors may stay.
BASELINE = (
    "tasks",
    "open_fds",
    "gc_uncollectable",
    "obj_Session",
    "obj_Seat",
    "obj_Participant",
    "obj_Person",
    "obj_WebSocketTransport",
    "obj_DataChannelTransport",
    "obj_Uplink",
    "obj_Listener",
    "obj_ForwardedAudioTrack",
    "obj_RTCPeerConnection",
    "obj_RTCDtlsTransport",
    "obj_RTCIceTransport",
    "obj_RTCSctpTransport",
    "obj_RTCDataChannel",
    "obj_Connection",
    "obj_WebSocketResponse",
    "obj_RequestHandler",
    "obj_AsyncSocket",
    "obj_Task",
)


def verdicts(before: dict[str, Any], after: dict[str, Any], rss_limit_mb: float) -> dict[str, str]:
    """PASS or FAIL (with why) for every counter of :data:`ZERO` and :data:`BASELINE` and
    for the resident memory. A counter the server did not report fails: a check that
    cannot run must not pass for one that found nothing."""
    out: dict[str, str] = {}
    for key in ZERO:
        a = after.get(key)
        if a is None:
            out[key] = f"FAIL (no {key} counter in {DEBUG_PATH} after the run)"
        else:
            out[key] = "PASS" if a == 0 else f"FAIL ({a} left)"
    for key in BASELINE:
        b, a = before.get(key), after.get(key)
        if a is None or b is None:
            when = " and ".join(w for w, v in (("before", b), ("after", a)) if v is None)
            out[key] = f"FAIL (no {key} counter in {DEBUG_PATH} {when} the run)"
            continue
        out[key] = "PASS" if a <= b else f"FAIL ({a - b:+d} over the baseline {b})"
    growth = after["rss_mb"] - before["rss_mb"]
    out["rss_mb"] = (
        "PASS" if growth <= rss_limit_mb else f"FAIL (+{growth:.1f} MB, limit {rss_limit_mb:g})"
    )
    return out


def settle(url: str, within: float) -> float:
    """Wait until the server holds no session or participant; returns the seconds taken."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        s = read_state(url, collect=False)
        if (
            s["hub"]["sessions"] == 0
            and s["hub"]["participants"] == 0
            and s["audio"]["listeners"] == 0
            and s["audio"]["uplinks"] == 0
        ):
            break
        time.sleep(0.25)
    return round(time.monotonic() - t0, 2)


def _sum_counts(results: list[dict[str, Any]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for r in results:
        total.update(r["counts"])
    return total


def _run_round(
    ctx: Any,
    url: str,
    jobs: list[Job],
    seconds: float,
    concurrent: int,
    workers: int,
    args: argparse.Namespace,
) -> tuple[list[dict[str, Any]], dict[str, Any], float]:
    """One churn: ``jobs`` spread over ``workers`` processes; returns their results, the
    peak figures read meanwhile, and how long it took."""
    queue: Any = ctx.Queue()
    t0 = time.time()
    deadline = t0 + seconds
    procs = [ctx.Process(target=worker, args=(
        url, jobs[w::workers], max(1, concurrent // workers), deadline, args.uplink_hz,
        args.client_nice, queue)) for w in range(workers)]  # fmt: skip
    for w in procs:
        w.start()
    # Peak figures while they come and go (cheap reads, no collection).
    peak: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    while len(results) < workers and time.time() < deadline + 240:
        try:
            results.append(queue.get(timeout=2.0))
            continue
        except Exception:
            pass
        with suppress(OSError):
            now = flatten(read_state(url, collect=False))
            for key in PEAK_KEYS:
                peak[key] = max(peak.get(key, 0), now[key])
    elapsed = time.time() - t0
    for w in procs:
        w.join(30)
        if w.is_alive():
            w.terminate()
    return results, peak, elapsed


PEAK_KEYS = (
    "rss_mb",
    "py_blocks_k",
    "open_fds",
    "tasks",
    "hub_sessions",
    "participants",
    "motion_transports",
    "audio_listeners",
    "audio_uplinks",
)
#: Figures shown for every round: a leak grows with each, a high-water mark does not.
ROUND_KEYS = (
    "rss_mb",
    "py_blocks_k",
    "motion_latency_samples_k",
    "gc_objects",
    "tasks",
    "open_fds",
    "participants",
    "obj_RTCPeerConnection",
    "obj_WebSocketResponse",
)


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    clients = min(max(args.clients, 1), MAX_CLIENTS)
    seconds = min(max(args.seconds, 5.0), MAX_SECONDS)
    concurrent = min(max(args.concurrent, 1), MAX_CONCURRENT, clients)
    listeners = min(max(args.listeners, 0), MAX_AUDIO)
    speakers = min(max(args.speakers, 0), MAX_AUDIO - listeners)
    workers = max(1, min(args.workers, 8, concurrent))
    rounds = min(max(args.rounds, 1), 5)
    ctx = mp.get_context("spawn")
    results: list[dict[str, Any]] = []
    peak: dict[str, Any] = {}
    per_round: list[dict[str, Any]] = []
    churn_seconds = settled = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = bench_server.start_server(
            os.path.join(tmp, "data"),
            "--debug-endpoints",
            "--events-per-second",
            "100",
            "--events-burst",
            "200",
            "--ice-host-addresses",
            "127.0.0.1",
        )
        try:
            # Warm-up: a small wave through every path (imports, caches, the socket.io
            # service task, the audio sweeper) so that the baseline is the steady state.
            warm = [
                replace(j, index=j.index + 100_000)
                for j in plan(min(24, clients), 4.0, 24, min(2, listeners), min(1, speakers), 1)
            ]
            warm_results, _, _ = _run_round(ctx, url, warm, 4.0, 24, 1, args)
            settle(url, 30)
            time.sleep(args.settle)
            before_state = read_state(url, collect=True)
            before = flatten(before_state)
            cpu0 = _cpu_seconds(proc.pid)
            for r in range(rounds):
                jobs = [
                    replace(j, index=j.index + r * clients)
                    for j in plan(clients, seconds, concurrent, listeners, speakers, seed=7 + r)
                ]
                got, round_peak, took = _run_round(
                    ctx, url, jobs, seconds, concurrent, workers, args
                )
                results += got
                churn_seconds += took
                for key, value in round_peak.items():
                    peak[key] = max(peak.get(key, 0), value)
                cpu1 = _cpu_seconds(proc.pid)
                settled = settle(url, 60)
                time.sleep(args.settle)
                after_state = read_state(url, collect=True)
                after = flatten(after_state)
                per_round.append({k: after[k] for k in ROUND_KEYS})
        finally:
            proc.terminate()
            with suppress(Exception):
                proc.wait(10)
    counts = _sum_counts(results)
    warm_counts = _sum_counts(warm_results)
    errors = [e for r in results for e in r["errors"]]
    judged = verdicts(before, after, args.rss_limit_mb)
    failed = sorted(k for k, v in judged.items() if v != "PASS")
    diff = {
        k: round(after[k] - before[k], 1) for k in after if k in before and after[k] != before[k]
    }
    leftover_tasks = {
        k: v
        for k, v in after_state["asyncio"]["by_coroutine"].items()
        if v > before_state["asyncio"]["by_coroutine"].get(k, 0)
    }
    return {
        "command": "python -m bench.churn " + " ".join(sys.argv[1:]),
        "clients": clients, "rounds": rounds, "seconds": seconds,
        "concurrent_cap": concurrent, "workers": workers, "uplink_hz": args.uplink_hz,
        "churn_seconds": round(churn_seconds, 1),
        "settle_seconds": round(settled + args.settle, 1),
        "served": counts["joined"], "started": counts["started"],
        "finished": counts["finished"], "not_started": counts["not_started"],
        "rooms": {r: counts[f"room:{r}"] for r in ROOMS},
        "places": {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("place:")},
        "exits": {e: counts[f"exit:{e}"] for e in EXITS},
        "refused": {k: v for k, v in counts.items() if "refused" in k},
        "motion_opened": counts["motion_opened"], "uplinks_sent": counts["uplinks"],
        "frames_received": counts["frames"],
        "chat": {"sent": counts["chat_sent"], "ok": counts["chat_ok"]},
        "audio": {k: v for k, v in counts.items() if k.startswith("audio_") and "refused" not in k},
        "server_cpu_per_s": round((cpu1 - cpu0) / max(churn_seconds, 1e-9), 3),
        "errors": counts["errors"], "error_samples": errors[:5],
        "warmup": {"served": warm_counts["joined"], "errors": warm_counts["errors"]},
        "before": before, "peak": peak, "after": after, "diff": diff,
        "after_each_round": per_round,
        "rss_growth_mb": round(after["rss_mb"] - before["rss_mb"], 1),
        "leftover_tasks": leftover_tasks,
        "verdicts": judged,
        "verdict": "PASS" if not failed and counts["joined"] > 0 else "FAIL",
        "failed": failed,
    }  # fmt: skip


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--clients", type=int, default=500, help="distinct visitors passing through (max 2000)"
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="how long they keep coming (max 300)"
    )
    parser.add_argument(
        "--concurrent", type=int, default=200, help="most visitors at once (max 400)"
    )
    parser.add_argument(
        "--listeners", type=int, default=12, help="visitors who also listen over an audio peer"
    )
    parser.add_argument(
        "--speakers",
        type=int,
        default=4,
        help="plaza visitors who also publish a tone (audio peers: max 40)",
    )
    parser.add_argument(
        "--uplink-hz", type=float, default=5.0, help="motion uplinks each visitor sends per second"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="churns one after the other, measured after each (max 5)",
    )
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument(
        "--client-nice", type=int, default=0, help="niceness of the client processes (0-19)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=SETTLE_SECONDS,
        help="seconds to wait after everyone is gone, before measuring "
        "(more than python-socketio's 20 s ping interval)",
    )
    parser.add_argument(
        "--rss-limit-mb",
        type=float,
        default=64.0,
        help="resident memory growth above which the run fails",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = run_bench(args)
    # Every failed check on stderr, by name, after the figures (exit 1 then).
    reasons = [f"{key}: {result['verdicts'][key]}" for key in result["failed"]]
    return finish(result, args.json, [*reasons, nothing("visitors served", result["served"])])


if __name__ == "__main__":
    sys.exit(main())
