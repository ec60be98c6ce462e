"""End-to-end latency of server-side face tracking on loopback, camera frame to remote pose.

A Hiroba server runs in this process with the real MediaPipe model. A Python aiortc peer
joins as an invited member and sends a "camera" (frames of scikit-image's astronaut
rolling ±20°, made in memory, real-time paced); another client in the room receives the
motion frames. Each pose names the time of its camera frame (the record's timestamp counts
milliseconds from the first frame the server received; a frame's compact pose is matched
to the record the tracker made), so its latency is its arrival time minus the moment that
frame was handed to aiortc: VP8 encoding, RTP over loopback, decoding, waiting for the
tracker, tracking, the motion tick, the WebSocket.
The frame alignment is checked against the roll sweep (the pose's roll must match the
frame it names). Prints p50/p95/max, the server-side part, frame sizes and rates.

    .venv/bin/python -m bench.face_latency [--seconds 20] [--fps 30] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import socketio
from aiohttp import web

from bench.clients.face_video import Shot, photo, render
from bench.clients.motion_client import MotionWatcher
from bench.clients.rtc_camera import FramesTrack, RecordTap, offer_camera
from server.app import TRACKING_KEY, create_app
from server.config.settings import Settings, load_settings
from server.tracking.api import mediapipe_factory
from server.tracking.model_fetch import fetch_model

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _invite(settings: Settings) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIROBA_")}
    out = subprocess.run(
        [sys.executable, "-m", "server.cli.main", "invite", "plaza", "--role", "member",
         "--data-dir", str(settings.data_dir), "--port", str(settings.port)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=env, check=True,
    )  # fmt: skip
    return out.stdout.strip().split("token=", 1)[1]


def sweep(fps: float, seconds_per_cycle: float = 4.0) -> list[float]:
    """On-screen roll per frame: a ±20° sine, one cycle every few seconds."""
    n = round(fps * seconds_per_cycle)
    return [20.0 * math.sin(2 * math.pi * i / n) for i in range(n)]


def align(
    poses: list[tuple[float, Any]], sent: list[tuple[int, float]], rolls: list[float]
) -> tuple[int, float, list[float]]:
    """Match poses to the frames they name; returns the first frame's index, how well the
    rolls then agree with the sweep (std of roll + on-screen roll, degrees), latencies ms.

    The server counts time from the first frame it received; if that was not the first
    one sent (it normally is), the offset with the steadiest roll difference wins.
    """
    pts = np.array([p for p, _ in sent])
    at = np.array([t for _, t in sent])

    def frame_of(t_ms: int, k: int) -> int | None:
        i = int(np.searchsorted(pts, t_ms + pts[k]))
        for j in (i - 1, i):
            if 0 <= j < len(pts) and abs(pts[j] - (t_ms + pts[k])) <= 1:
                return j
        return None

    best: tuple[int, float] | None = None
    for k in range(min(6, len(pts))):
        diffs = []
        for _, pose in poses[5:]:
            j = frame_of(pose.timestamp_ms, k)
            if j is not None:
                diffs.append(pose.roll + rolls[j % len(rolls)])
        if len(diffs) > 10 and (best is None or float(np.std(diffs)) < best[1]):
            best = (k, float(np.std(diffs)))
    if best is None:
        raise RuntimeError("no pose could be matched to a camera frame")
    k = best[0]
    latencies = []
    for arrived, pose in poses:
        j = frame_of(pose.timestamp_ms, k)
        if j is not None:
            latencies.append((arrived - at[j]) * 1000)
    return k, best[1], latencies


def received(
    compact: list[tuple[float, int, Any]], records: list[tuple[float, Any]]
) -> list[tuple[float, Any]]:
    """``(arrival at the viewer, full pose)``: motion frames carry a compact pose without
    its timestamp, so each is matched to the latest record with the same angles and state
    that the tracker handed to the plane before it arrived."""
    out = []
    for arrived, _tick, c in compact:
        key = (c.state, c.roll, c.pitch, c.yaw)
        match = [
            p for at, p in records
            if at <= arrived and (p.state.value, p.roll, p.pitch, p.yaw) == key
        ]  # fmt: skip
        if match:
            out.append((arrived, match[-1]))
    return out


async def run(seconds: float, fps: float, base: Settings) -> dict[str, Any]:
    tmp = tempfile.TemporaryDirectory(prefix="hiroba-bench-")
    settings = replace(
        base, data_dir=Path(tmp.name), port=_free_port(), ice_host_addresses=("127.0.0.1",),
        model_cache_dir=fetch_model(base).path.parent, seed_demo=True,  # its plaza
    )  # fmt: skip
    cpu_ms: list[float] = []  # wall ms: MediaPipe computes in threads of its own
    real = mediapipe_factory(settings)

    class Timed:
        """The real pipeline, with the CPU time of each frame noted."""

        def __init__(self) -> None:
            self.inner = real()

        def process(self, rgb: Any, t: int) -> Any:
            w0 = time.perf_counter()
            out = self.inner.process(rgb, t)
            cpu_ms.append((time.perf_counter() - w0) * 1000)
            return out

        def close(self) -> None:
            self.inner.close()

    app = create_app(settings, pipeline_factory=Timed)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    url = f"http://127.0.0.1:{settings.port}"
    rolls = sweep(fps)
    src = photo()
    frames = [render(src, Shot(roll=r)) for r in rolls]
    member, viewer = socketio.AsyncClient(), socketio.AsyncClient()
    pc = None
    try:
        token = await asyncio.get_running_loop().run_in_executor(None, _invite, settings)
        await member.connect(url, transports=["websocket"])
        await viewer.connect(url, transports=["websocket"])
        ack = await member.call("join", {"name": "bench", "room": "plaza", "lang": "en",
                                         "token": token})  # fmt: skip
        assert ack["ok"], ack
        slot = next(p["slot"] for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
        viewer_ack = await viewer.call("join", {"name": "viewer", "room": "plaza", "lang": "en"})
        assert viewer_ack["ok"], viewer_ack
        watcher = await MotionWatcher.open(url, viewer_ack)
        tap = RecordTap(app[TRACKING_KEY].plane)
        track = FramesTrack(frames, fps)
        pc, answer = await offer_camera(member, track)
        assert answer["ok"], answer
        await asyncio.sleep(seconds)
        session = app[TRACKING_KEY].camera.sessions[ack["self"]]
        server_ms = list(session.stats.latencies_ms)
        stats = session.stats
        arrivals = list(stats.arrivals)
        motion = app[TRACKING_KEY].plane.stats
        await watcher.close()
    finally:
        if pc is not None:
            await pc.close()
        await member.disconnect()
        await viewer.disconnect()
        await runner.cleanup()
        tmp.cleanup()

    poses = [
        (at, pose)
        for at, pose in received(watcher.poses.get(slot, []), tap.records[ack["self"]])
        if pose.state.name == "TRACKED"
    ]
    k, spread, latencies = align(poses, track.sent, rolls)
    sent_at = {pts: t for pts, t in track.sent}
    to_server = [
        (at - sent_at[t_ms + track.sent[k][0]]) * 1000
        for t_ms, at in arrivals[10:]
        if t_ms + track.sent[k][0] in sent_at
    ] or [float("nan")]
    warm = latencies[10:]  # the first poses include the tracker's start-up
    lat = np.array(warm)
    srv = np.array(server_ms[10:])
    return {
        "seconds": seconds,
        "camera_fps": fps,
        "server_tracking_fps": settings.server_tracking_fps,
        "motion_hz": settings.motion_hz,
        "poses_received": len(poses),
        "frames_sent": len(track.sent),
        "frames_received_by_server": stats.received,
        "frames_tracked": stats.tracked,
        "frames_dropped": stats.dropped,
        "max_frames_waiting": stats.max_pending,
        "first_frame_offset": k,
        "roll_spread_deg": round(spread, 2),
        "latency_ms_p50": round(float(np.percentile(lat, 50)), 1),
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 1),
        "latency_ms_max": round(float(lat.max()), 1),
        "server_arrival_to_pose_ms_p50": round(float(np.percentile(srv, 50)), 1),
        "server_arrival_to_pose_ms_p95": round(float(np.percentile(srv, 95)), 1),
        "capture_to_server_ms_p50": round(float(np.percentile(to_server, 50)), 1),
        "capture_to_server_ms_p95": round(float(np.percentile(to_server, 95)), 1),
        "tracker_ms_p50": round(float(np.percentile(cpu_ms[10:], 50)), 1),
        "tracker_ms_p95": round(float(np.percentile(cpu_ms[10:], 95)), 1),
        "motion_frames": motion.frames_sent,
        "motion_bytes": motion.bytes_sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to stream")
    parser.add_argument("--fps", type=float, default=30.0, help="camera frames per second")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.monotonic()
    result = asyncio.run(run(args.seconds, args.fps, load_settings(os.environ)))
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, value in result.items():
            print(f"  {name:34} {value}")
    if not result.get("poses_received") or not result.get("frames_tracked"):
        sys.exit("bench: FAILED: no camera frame was tracked into a pose")


if __name__ == "__main__":
    main()
