"""Load and measure the motion plane: N citizens and M face-tracked stage members.

Starts a Hiroba server on 127.0.0.1 (or targets ``--url``), joins N simulated citizens
and M members (seated on the stage through invitation links) from worker processes over
loopback, lets every client send its state at the tick rate (members with a changing pose
record) and receive its frames for S seconds, then prints:

- server CPU seconds per second (from /proc, the server process only),
- frames and bytes delivered per client per second, deliveries per server CPU-second,
- server-added latency p50/p99 (uplink arrival to the first frame carrying it, and tick
  start to frame written), frames skipped for busy clients, rejected uplinks.

    .venv/bin/hiroba bench motion --clients 500 --stage 12 --seconds 20 --json

Counts and time are bounded (at most 1000 clients, 120 s); traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from bench import server as bench_server
from bench.report import print_result

ROOT = Path(__file__).resolve().parent.parent
MAX_CLIENTS = 1000
MAX_SECONDS = 120.0


def start_server(data_dir: str, tick_hz: float) -> tuple[subprocess.Popen[bytes], str]:
    # Positions only on the motion plane, as when every client uses it; joins fast; data
    # channels over loopback host candidates, as many as there may be clients.
    return bench_server.start_server(
        data_dir, "--motion-hz", str(tick_hz), "--move-deltas", "false",
        "--events-per-second", "100", "--events-burst", "200",
        "--ice-host-addresses", "127.0.0.1", "--motion-datachannel-max", str(MAX_CLIENTS + 12),
    )


class ChannelLink:
    """The motion plane on a WebRTC data channel (aiortc), shaped like a websocket."""

    def __init__(self) -> None:
        from aiortc import RTCPeerConnection

        from server.ice import rtc_configuration

        self.pc = RTCPeerConnection(rtc_configuration([]))
        self.channel = self.pc.createDataChannel("motion", ordered=False, maxRetransmits=0)
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.opened = asyncio.Event()
        self.channel.on("open", self.opened.set)
        self.channel.on("message", self.queue.put_nowait)
        self.channel.on("close", lambda: self.queue.put_nowait(None))

    async def open(self, sio: Any) -> None:
        from aiortc import RTCSessionDescription

        await self.pc.setLocalDescription(await self.pc.createOffer())
        ack = await sio.call("motion:offer", {"type": "offer", "sdp": self.pc.localDescription.sdp},
                             timeout=60)
        if not ack.get("ok"):
            raise RuntimeError(f"motion:offer refused: {ack}")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=ack["sdp"], type="answer"))
        await asyncio.wait_for(self.opened.wait(), 60)

    async def send(self, data: bytes) -> None:
        self.channel.send(data)

    def __aiter__(self) -> ChannelLink:
        return self

    async def __anext__(self) -> bytes:
        item = await self.queue.get()
        if item is None:
            raise StopAsyncIteration
        return item

    async def close(self) -> None:
        await self.pc.close()


def invite_tokens(data_dir: str, count: int, room: str) -> list[str]:
    tokens = []
    for i in range(count):
        out = subprocess.run(
            [sys.executable, "-m", "server.cli", "invite", room, "--role", "member",
             "--name", f"委員{i + 1}", "--data-dir", data_dir],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
        ).stdout.strip()
        tokens.append(parse_qs(urlparse(out).query)["token"][0])
    return tokens


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def client(url: str, index: int, room: str, token: str | None, tick_hz: float,
                 start_at: float, stop_at: float, out: dict[str, Any],
                 align: bool = True, lead: float = 0.008,
                 transport: str = "websocket") -> None:
    import socketio
    import websockets

    from avatar import codec as pose_codec
    from avatar.pose import N_BLENDSHAPES, Pose, TrackingState
    from server.motion.codec import encode_uplink

    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(url, transports=["websocket"], wait_timeout=30)
    payload: dict[str, Any] = {"name": f"c{index}", "room": room, "lang": "ja"}
    if token:
        payload["token"] = token
    ack = await sio.call("join", payload, timeout=30)
    if not ack.get("ok"):
        out["errors"].append(ack)
        await sio.disconnect()
        return
    me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
    motion = ack["motion"]
    rng = random.Random(index)
    x, z, h = me["x"], me["z"], me["h"]
    seated = me["seat"] is not None
    period = 1.0 / tick_hz
    ws_url = url.replace("http", "ws", 1) + motion["path"]
    frames = nbytes = 0
    async with contextlib.AsyncExitStack() as stack:
        ws: Any
        if transport == "datachannel":
            ws = ChannelLink()
            stack.push_async_callback(ws.close)
            await ws.open(sio)
        else:
            ws = await stack.enter_async_context(
                websockets.connect(ws_url, max_size=2**20, compression=None))
            await ws.send(motion["token"])
            assert await ws.recv() == "ok"
        loop = asyncio.get_running_loop()

        # When the server's ticks begin, on this loop's clock: byte 1 of a frame is how
        # long after its tick began it was sent (docs/protocol.md, "Motion plane").
        tick_origin: float | None = None

        async def receive() -> None:
            nonlocal frames, nbytes, tick_origin
            async for frame in ws:
                now = loop.time()
                tick_origin = now - frame[1] / 1000
                if start_at <= now < stop_at:
                    frames += 1
                    nbytes += len(frame)

        receiver = asyncio.create_task(receive())
        t0 = loop.time()
        await asyncio.sleep(rng.uniform(0, period))
        n = 0
        last_sent = -1.0
        while loop.time() < stop_at:
            n += 1
            pose = None
            if seated:
                t = loop.time() - t0
                weights = [0.0] * N_BLENDSHAPES
                weights[24] = 0.5 + 0.5 * math.sin(t * 9 + index)  # jawOpen: talking
                weights[8] = weights[9] = 1.0 if (t * 0.3 + index) % 1 < 0.05 else 0.0
                weights[43] = weights[44] = 0.3
                pose = pose_codec.encode(Pose(
                    int(t * 1000), TrackingState.TRACKED, roll=8 * math.sin(t + index),
                    pitch=5 * math.sin(t * 0.7), yaw=20 * math.sin(t * 0.4 + index),
                    weights=tuple(weights)))
            else:
                h += rng.uniform(-0.3, 0.3)
                x += -math.sin(h) * 1.2 * period
                z += -math.cos(h) * 1.2 * period
                if abs(x) > 26 or abs(z) > 26:
                    h += math.pi
            await ws.send(encode_uplink(x, z, h, pose))
            last_sent = loop.time()
            # Aim to arrive `lead` before the server's next tick, as the page does; until
            # a frame has shown the tick's phase, send once a period.
            if align and tick_origin is not None:
                ahead = last_sent + lead - tick_origin
                target = tick_origin + period * (math.floor(ahead / period) + 1) - lead
                if target - last_sent < period / 2:
                    target += period
            else:
                target = last_sent + period
            await asyncio.sleep(max(0.0, target - loop.time()))
        receiver.cancel()
        with suppress(asyncio.CancelledError):
            await receiver
    await sio.disconnect()
    out["frames"].append(frames)
    out["bytes"].append(nbytes)


def worker(url: str, jobs: list[tuple[int, str, str | None]], tick_hz: float,
           start_wall: float, stop_wall: float, queue: Any, lead: float | None,
           transport: str, nice: int) -> None:
    sys.path.insert(0, str(ROOT))
    # The clients share this machine with the server they measure; a deployment's server
    # has its cores to itself. Niced, they take what the server leaves.
    os.nice(nice)
    if transport == "datachannel":
        from server.ice import use_host_addresses

        use_host_addresses(["127.0.0.1"])  # loopback host candidates only, no STUN

    async def run() -> dict[str, Any]:
        out: dict[str, Any] = {"frames": [], "bytes": [], "errors": []}
        loop = asyncio.get_running_loop()
        offset = loop.time() - time.time()
        tasks = []
        for index, room, token in jobs:
            tasks.append(asyncio.create_task(client(
                url, index, room, token, tick_hz, start_wall + offset, stop_wall + offset, out,
                align=lead is not None, lead=lead or 0.0, transport=transport)))
            await asyncio.sleep(0.01)  # joins spread out, as people arrive
        results = await asyncio.gather(*tasks, return_exceptions=True)
        out["errors"].extend(repr(r) for r in results if isinstance(r, BaseException))
        return out

    queue.put(asyncio.run(run()))


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    clients = min(max(args.clients, 0), MAX_CLIENTS)
    stage = min(max(args.stage, 0), 12)
    seconds = min(max(args.seconds, 1.0), MAX_SECONDS)
    with tempfile.TemporaryDirectory() as tmp:
        # With --url, --data-dir names that server's data (for the stage's invitations).
        data_dir = args.data_dir or os.path.join(tmp, "data")
        proc = None
        url = args.url
        if url is None:
            proc, url = start_server(data_dir, args.tick_hz)
        try:
            room = args.room
            tokens = invite_tokens(data_dir, stage, room) if stage else []
            jobs = [(i, room, tokens[i] if i < stage else None) for i in range(clients + stage)]
            workers = max(1, min(args.workers, len(jobs)))
            lead = None if args.lead_ms < 0 else args.lead_ms / 1000
            join_time = 0.012 * len(jobs) / workers + 8.0
            start_wall = time.time() + join_time + args.warmup
            stop_wall = start_wall + seconds
            queue: Any = mp.get_context("spawn").Queue()
            procs = [mp.get_context("spawn").Process(
                target=worker, args=(url, jobs[w::workers], args.tick_hz, start_wall,
                                     stop_wall, queue, lead, args.transport,
                                     args.client_nice))
                     for w in range(workers)]
            for p in procs:
                p.start()
            time.sleep(max(0.0, start_wall - time.time()))
            cpu0 = cpu_seconds(proc.pid) if proc else None
            stats0 = json.load(urllib.request.urlopen(url + "/api/motion/stats", timeout=10))
            time.sleep(max(0.0, stop_wall - time.time()))
            cpu1 = cpu_seconds(proc.pid) if proc else None
            stats1 = json.load(urllib.request.urlopen(url + "/api/motion/stats", timeout=10))
            results = [queue.get(timeout=seconds + 120) for _ in procs]
            for p in procs:
                p.join(30)
        finally:
            if proc is not None:
                proc.terminate()
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
    frames = [f for r in results for f in r["frames"]]
    nbytes = [b for r in results for b in r["bytes"]]
    errors = [e for r in results for e in r["errors"]]
    delivered = stats1["frames_sent"] - stats0["frames_sent"]
    cpu = (cpu1 - cpu0) / seconds if cpu0 is not None and cpu1 is not None else None
    return {
        "clients": clients, "stage": stage, "seconds": seconds, "tick_hz": args.tick_hz,
        "client_nice": args.client_nice, "transport": args.transport,
        "lead_ms": args.lead_ms if args.lead_ms >= 0 else None,
        "connected": len(frames), "errors": errors[:5],
        "server_cpu_per_s": round(cpu, 3) if cpu is not None else None,
        "frames_per_client_per_s": round(sum(frames) / max(1, len(frames)) / seconds, 2),
        "bytes_per_client_per_s": round(sum(nbytes) / max(1, len(nbytes)) / seconds, 1),
        "max_bytes_per_client_per_s": round(max(nbytes, default=0) / seconds, 1),
        "deliveries_per_cpu_s": round(delivered / (cpu * seconds), 0) if cpu else None,
        "frames_skipped_busy": stats1["frames_skipped_busy"] - stats0["frames_skipped_busy"],
        "uplinks_rejected": stats1["uplinks_rejected"] - stats0["uplinks_rejected"],
        "server": {k: v for k, v in stats1.items() if "ms" in k},
    }


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500, help="citizens (max 1000)")
    parser.add_argument("--stage", type=int, default=12, help="tracked members (max 12)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time (max 120)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--tick-hz", type=float, default=20.0, help="motion ticks per second")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--room", default="plaza", help="room id")
    parser.add_argument("--client-nice", type=int, default=0,
                        help="niceness of the client processes (0-19)")
    parser.add_argument("--transport", choices=("websocket", "datachannel"),
                        default="websocket", help="how clients reach the motion plane")
    parser.add_argument("--lead-ms", type=float, default=8.0,
                        help="send uplinks this long before the server's tick, as the page "
                             "does (negative: at a random phase, unaligned)")
    parser.add_argument("--url", help="an already running server on 127.0.0.1")
    parser.add_argument("--data-dir", help="with --url: that server's data folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print_result(run_bench(args), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
