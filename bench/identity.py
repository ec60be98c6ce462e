"""Measure identity-check video forwarding: one member's camera to N viewers (default 2).

The measuring process is the server: it runs an :class:`server.identity.plane.IdentityPlane`
behind a tiny HTTP signalling endpoint on 127.0.0.1. One worker process (at normal
priority) is the camera: an aiortc peer sending 320×240 at 15 fps (VP8, encoded there;
``--picture noise``, the default, keeps its encoder at full bitrate, ``solid`` sends one
colour). Another (at ``--client-nice``) holds the N viewer peers, real ICE/DTLS
aiortc peers with one video slot each, counting the SRTP packets they receive right at
the datagram callback (:func:`bench.clients.audio_peers.take_rtp`: no jitter buffer, no
decoder). After a warm-up it measures for S seconds and prints the server's CPU seconds
per second (``time.process_time``, all threads), the camera packets it read, the packets it
forwarded and those the viewers received. Run it with ``--viewers 0`` for the cost of
receiving the camera alone; the difference is what forwarding costs.

    .venv/bin/python -m bench.identity --viewers 2 --seconds 10 --json

Exits non-zero when nothing was measured (no camera packet, a viewer that received
nothing). Bounded: at most 8 viewers and 60 s; ICE only on 127.0.0.1, no STUN.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import time
from typing import Any

from bench.report import finish, nothing, short_of
from bench.server import free_port

MAX_VIEWERS = 8
MAX_SECONDS = 60.0
ROOM = "bench"
CAMERA = "member"


async def _post(url: str, body: dict[str, str]) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.post(url, json=body) as resp:
        resp.raise_for_status()
        return str((await resp.json())["sdp"])


async def _camera(base: str, picture: str, done: Any, out: Any) -> None:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from bench.clients.video_peers import Noise, SolidColour
    from server.rtc.ice import rtc_configuration, use_host_addresses

    use_host_addresses(["127.0.0.1"])
    pc = RTCPeerConnection(rtc_configuration([]))
    track = Noise() if picture == "noise" else SolidColour((200, 60, 40))
    pc.addTransceiver(track, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    answer = await _post(base + "/camera", {"pid": CAMERA, "sdp": pc.localDescription.sdp})
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    out.put(("ready", 0))
    await asyncio.get_running_loop().run_in_executor(None, done.wait)
    await pc.close()


def camera_worker(base: str, picture: str, done: Any, out: Any) -> None:
    asyncio.run(_camera(base, picture, done, out))


async def _viewers(base: str, count: int, events: Any, out: Any) -> None:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from bench.clients.audio_peers import take_rtp
    from server.rtc.ice import rtc_configuration, use_host_addresses

    use_host_addresses(["127.0.0.1"])
    start, stop, done = events
    got = [0] * count
    pcs: list[RTCPeerConnection] = []
    for i in range(count):
        pc = RTCPeerConnection(rtc_configuration([]))
        pcs.append(pc)
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        answer = await _post(base + "/viewer", {"pid": f"v{i}", "sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

        def count_one(_rtp: bytes, i: int = i) -> None:
            got[i] += 1

        take_rtp(pc, count_one)
    out.put(("ready", count))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, start.wait)
    at_start = list(got)
    await loop.run_in_executor(None, stop.wait)
    out.put(("viewers", [b - a for a, b in zip(at_start, got, strict=True)]))
    await loop.run_in_executor(None, done.wait)
    for pc in pcs:
        await pc.close()


def viewers_worker(base: str, count: int, events: Any, out: Any, nice: int) -> None:
    os.nice(nice)
    asyncio.run(_viewers(base, count, events, out))


async def _serve(args: argparse.Namespace) -> dict[str, Any]:
    from aiohttp import web

    from server.identity.plane import IdentityPlane
    from server.rtc.ice import rtc_configuration, use_host_addresses

    viewers = min(max(args.viewers, 0), MAX_VIEWERS)
    seconds = min(max(args.seconds, 1.0), MAX_SECONDS)
    use_host_addresses(["127.0.0.1"])
    config = rtc_configuration([])
    plane = IdentityPlane(lambda: config)

    async def camera(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"sdp": await plane.open_camera(body["pid"], ROOM, body["sdp"])})

    async def viewer(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {"sdp": await plane.open_viewer(body["pid"], ROOM, body["sdp"], 1)})

    app = web.Application()
    app.router.add_post("/camera", camera)
    app.router.add_post("/viewer", viewer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"

    ctx = mp.get_context("spawn")
    out: Any = ctx.Queue()
    start, stop, done = ctx.Event(), ctx.Event(), ctx.Event()
    procs = [ctx.Process(target=camera_worker, args=(base, args.picture, done, out))]
    if viewers:
        procs.append(ctx.Process(target=viewers_worker,
                                 args=(base, viewers, (start, stop, done), out, args.client_nice)))
    loop = asyncio.get_running_loop()
    load_before = os.getloadavg()[0]
    for p in procs:
        p.start()
    received: list[int] = []
    try:
        for _ in procs:
            await loop.run_in_executor(None, out.get, True, 60)
        await asyncio.sleep(args.warmup)

        def figures() -> tuple[int, int, int]:
            s = plane.stats()
            packets = s["cameras"].get(CAMERA, {}).get("packets", 0)
            forwarded = sum(v["forwarded"] for v in s["viewers"].values())
            dropped = sum(v["dropped"] for v in s["viewers"].values())
            return packets, forwarded, dropped

        (p0, f0, _d0), cpu0, wall0 = figures(), time.process_time(), time.monotonic()
        start.set()
        await asyncio.sleep(seconds)
        stop.set()
        (p1, f1, d1), cpu1, wall1 = figures(), time.process_time(), time.monotonic()
        load_after = os.getloadavg()[0]
        if viewers:
            _kind, received = await loop.run_in_executor(None, out.get, True, 60)
        done.set()
    finally:
        done.set()
        for p in procs:
            await loop.run_in_executor(None, p.join, 30)
            if p.is_alive():
                p.terminate()
        await plane.close()
        await runner.cleanup()
    elapsed = wall1 - wall0
    cpu = (cpu1 - cpu0) / elapsed
    return {
        "viewers": viewers, "picture": args.picture, "seconds": round(elapsed, 2),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "server_cpu_per_s": round(cpu, 4),
        "camera_packets_per_s": round((p1 - p0) / elapsed, 1),
        "forwarded_per_s": round((f1 - f0) / elapsed, 1),
        "received_per_viewer_per_s": [round(n / elapsed, 1) for n in received],
        "slot_drops": d1,
        "us_per_forwarded_packet_incl_receive": (
            round(1e6 * (cpu1 - cpu0) / (f1 - f0), 1) if f1 > f0 else None),
    }  # fmt: skip


def failures(result: dict[str, Any]) -> list[str]:
    out = [nothing("camera packets", result["camera_packets_per_s"]),
           nothing("server CPU", result["server_cpu_per_s"])]
    if result["viewers"]:
        out.append(nothing("forwarded packets", result["forwarded_per_s"]))
        out.append(short_of("viewers that received packets",
                            sum(1 for n in result["received_per_viewer_per_s"] if n > 0),
                            result["viewers"]))
    return out


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="bench.identity", description=__doc__)
    parser.add_argument("--viewers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    # noise: every pixel new each frame, the encoder at its full bitrate (the worst case);
    # solid: one colour, a packet or so a frame (the least).
    parser.add_argument("--picture", choices=("noise", "solid"), default="noise")
    parser.add_argument("--client-nice", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = asyncio.run(_serve(args))
    return finish(result, args.json, failures(result))


if __name__ == "__main__":
    raise SystemExit(main())
