"""Load and measure the audio plane: one floor speaker forwarded to N listeners.

The measuring process is the server: it runs an :class:`server.audio.plane.AudioPlane`
behind a tiny HTTP signalling endpoint on 127.0.0.1 (a port in 8300–8399), forwarding
through the lean path (``--path lean``, :mod:`server.audio.lean`) or aiortc's own sender
per slot (``--path track``). One worker process, at normal priority, sends a tone from an
aiortc "microphone"; 1–4 worker processes at ``--client-nice`` (default 10) hold the N
listener peers: real ICE/DTLS aiortc peers with 3 audio slots each, as a browser
negotiates, that count the SRTP packets they receive per SSRC right at the datagram
callback (:func:`bench.clients.audio_peers.take_rtp`: SRTP-unprotected, then counted; no queue,
no jitter buffer, no decoder), so the clients stay much cheaper than the server they load.
After everyone is connected and a warm-up, it measures for S seconds and prints:

- server CPU seconds per second (``time.process_time`` of the server process, all threads),
- packets delivered per listener per second (received by the listener peers),
- loss: packets pushed to listener slots by the server vs received by the listeners
  (after the speaker stops and in-flight packets land), and slot drops (slow listeners).

    .venv/bin/python -m bench.audio --listeners 100 --seconds 10 --json

``--mics N`` measures the microphones instead (issue 14, finding 9): N uplinks, each a
440 Hz tone from its own aiortc peer in one client process (at ``--client-nice``), no
listener; the figure is the server's CPU milliseconds per second per microphone, which is
what receiving, SRTP and level metering cost. ``--no-level-header`` strikes the RFC 6464
audio-level extension from the offers, so levels are estimated from packet sizes:

    .venv/bin/python -m bench.audio --mics 4 --seconds 10 --json

Bounded: at most 600 listeners, 16 microphones and 60 s; ICE only on 127.0.0.1, no STUN.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing as mp
import os
import socket
import time
from typing import Any

from bench.report import finish, nothing, short_of
from bench.server import free_port

MAX_LISTENERS = 600
MAX_MICS = 16
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
MAX_SECONDS = 60.0
#: Receive buffer of each listener peer's socket (~10 s of one speaker's packets).
CLIENT_RCVBUF = 1 << 20
ROOM = "bench"
SPEAKER = "speaker"


async def _post(url: str, body: dict[str, str]) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.post(url, json=body) as resp:
        resp.raise_for_status()
        data = await resp.json()
        return str(data["sdp"])


# --- worker processes -------------------------------------------------------------------
async def _speaker(base: str, done: Any, out: Any) -> None:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from bench.clients.audio_peers import Tone
    from server.rtc.ice import rtc_configuration, use_host_addresses

    use_host_addresses(["127.0.0.1"])
    pc = RTCPeerConnection(rtc_configuration([]))
    tone = Tone(440.0)
    pc.addTrack(tone)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await _post(base + "/uplink", {"pid": SPEAKER, "sdp": pc.localDescription.sdp})
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    out.put(("ready", 0))
    await asyncio.get_running_loop().run_in_executor(None, done.wait)
    out.put(("speaker", {"frames": tone.frames}))
    await pc.close()


async def _listeners(base: str, ids: list[str], slots: int, events: Any, out: Any) -> None:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from bench.clients.audio_peers import take_rtp
    from server.rtc.ice import rtc_configuration, use_host_addresses

    use_host_addresses(["127.0.0.1"])
    start, stop, done = events
    config = rtc_configuration([])
    # pid -> SSRC (4 bytes) -> [packets, first sequence number, last one (unwrapped)]:
    # each slot's stream apart, and its sequence numbers tell a packet lost on the way
    # from one a lagging client has not read yet.
    by_ssrc: dict[str, dict[bytes, list[int]]] = {pid: {} for pid in ids}
    pcs: list[RTCPeerConnection] = []

    def counts() -> dict[str, int]:
        return {pid: sum(c[0] for c in s.values()) for pid, s in by_ssrc.items()}

    async def connect(pid: str) -> None:
        pc = RTCPeerConnection(config)
        pcs.append(pc)
        for _ in range(slots):
            pc.addTransceiver("audio", direction="recvonly")
        mine = by_ssrc[pid]

        def count(rtp: bytes) -> None:
            seq = (rtp[2] << 8) | rtp[3]
            stream = mine.get(rtp[8:12])
            if stream is None:
                mine[rtp[8:12]] = [1, seq, seq]
                return
            stream[0] += 1
            ahead = (seq - stream[2]) & 0xFFFF
            if ahead < 0x8000:  # (a late or repeated packet moves nothing)
                stream[2] += ahead

        await pc.setLocalDescription(await pc.createOffer())
        answer = await _post(base + "/listener", {"pid": pid, "sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        take_rtp(pc, count)
        # A client the shared machine starves for a few seconds should lag, not lose
        # packets in a full socket buffer: the loss figure is about the server.
        for protocol in pc.getTransceivers()[0].receiver.transport.transport._connection._protocols:
            sock = protocol.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CLIENT_RCVBUF)

    errors: list[str] = []
    for i in range(0, len(ids), 8):
        results = await asyncio.gather(
            *(connect(p) for p in ids[i : i + 8]), return_exceptions=True
        )
        errors += [repr(r) for r in results if isinstance(r, BaseException)]
    out.put(("ready", len(ids)))
    loop = asyncio.get_running_loop()
    # (The multiprocessing events are waited for on a thread, off this loop.)
    await loop.run_in_executor(None, start.wait)
    at_start = counts()
    await loop.run_in_executor(None, stop.wait)
    at_stop = counts()
    window = {p: at_stop[p] - at_start[p] for p in ids}
    await loop.run_in_executor(None, done.wait)
    # A starved client may still have packets waiting in its sockets: read them all.
    for _ in range(40):
        before = sum(counts().values())
        await asyncio.sleep(0.25)
        if sum(counts().values()) == before:
            break
    streams = [c for s in by_ssrc.values() for c in s.values()]
    out.put(("listeners", {
        "window": window, "total": counts(), "errors": errors[:3],
        "max_streams": max((len(s) for s in by_ssrc.values()), default=0),
        "expected": sum(last - first + 1 for _n, first, last in streams),
        "received": sum(n for n, _first, _last in streams),
    }))  # fmt: skip
    for pc in pcs:
        await pc.close()


def speaker_worker(base: str, done: Any, out: Any) -> None:
    asyncio.run(_speaker(base, done, out))


async def _mics(base: str, count: int, header: bool, done: Any, out: Any) -> None:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from bench.clients.audio_peers import Tone
    from server.rtc.ice import rtc_configuration, use_host_addresses

    use_host_addresses(["127.0.0.1"])
    pcs = []
    for n in range(count):
        pc = RTCPeerConnection(rtc_configuration([]))
        pcs.append(pc)
        pc.addTrack(Tone(440.0 + 20 * n))
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        if not header:
            sdp = "".join(x for x in sdp.splitlines(keepends=True) if AUDIO_LEVEL_URI not in x)
        answer = await _post(base + "/uplink", {"pid": f"mic{n}", "sdp": sdp})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    out.put(("ready", count))
    await asyncio.get_running_loop().run_in_executor(None, done.wait)
    for pc in pcs:
        await pc.close()


def mics_worker(base: str, count: int, header: bool, done: Any, out: Any, nice: int) -> None:
    os.nice(nice)
    asyncio.run(_mics(base, count, header, done, out))


async def _serve_mics(args: argparse.Namespace) -> dict[str, Any]:
    """N microphones into one plane, nobody listening: the server's CPU per microphone."""
    from aiohttp import web

    from server.audio.plane import AudioPlane, AudioSettings
    from server.rtc.ice import rtc_configuration, use_host_addresses

    count = min(max(args.mics, 1), MAX_MICS)
    seconds = min(max(args.seconds, 1.0), MAX_SECONDS)
    use_host_addresses(["127.0.0.1"])
    config = rtc_configuration([])
    plane = AudioPlane(lambda: config, AudioSettings())

    async def uplink(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"sdp": await plane.open_uplink(body["pid"], ROOM, body["sdp"])})

    app = web.Application()
    app.router.add_post("/uplink", uplink)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    ctx = mp.get_context("spawn")
    out: Any = ctx.Queue()
    done = ctx.Event()
    proc = ctx.Process(target=mics_worker, args=(f"http://127.0.0.1:{port}", count,
                                                 not args.no_level_header, done, out,
                                                 args.client_nice))  # fmt: skip
    loop = asyncio.get_running_loop()
    load_before = os.getloadavg()[0]
    proc.start()
    try:
        await loop.run_in_executor(None, out.get, True, 60)
        await asyncio.sleep(args.warmup)

        def packets() -> tuple[int, int, int]:
            ups = plane.stats()["uplinks"].values()
            return (sum(u["packets"] for u in ups), sum(u["frames"] for u in ups),
                    sum(u.get("estimated", 0) for u in ups))  # fmt: skip

        p0, cpu0, wall0 = packets(), time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        p1, cpu1, wall1 = packets(), time.process_time(), time.monotonic()
        active = len(plane.active_speakers(ROOM))
    finally:
        done.set()
        await loop.run_in_executor(None, proc.join, 30)
        if proc.is_alive():
            proc.terminate()
        await plane.close()
        await runner.cleanup()
    elapsed = wall1 - wall0
    cpu = (cpu1 - cpu0) / elapsed
    received = p1[0] - p0[0]
    return {
        "mics": count, "seconds": round(elapsed, 2), "client_nice": args.client_nice,
        "level_header": not args.no_level_header,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "server_cpu_per_s": round(cpu, 4),
        "server_cpu_ms_per_s_per_mic": round(1000 * cpu / count, 2),
        "packets_per_mic_per_s": round(received / elapsed / count, 1),
        # Per packet, and so per microphone at a full 50 packets/s: a client the shared
        # machine starves sends fewer packets, and the figure above falls with them.
        "server_cpu_us_per_packet": round(1e6 * (cpu1 - cpu0) / received, 1) if received else None,
        "server_cpu_ms_per_s_per_mic_at_50pps": (
            round(50e3 * (cpu1 - cpu0) / received, 2) if received else None),
        # Levels read per packet, and how many of them were estimated from the size.
        "levels_per_packet": round((p1[1] - p0[1]) / received, 3) if received else None,
        "estimated_share": round((p1[2] - p0[2]) / received, 3) if received else None,
        "active_speakers": active,
    }  # fmt: skip


def listener_worker(
    base: str, ids: list[str], slots: int, events: Any, out: Any, nice: int
) -> None:
    # The clients share this machine's cores with the server they measure: at a lower
    # priority they cannot starve the server or the speaker (whose catch-up bursts
    # would then overflow slots).
    os.nice(nice)
    asyncio.run(_listeners(base, ids, slots, events, out))


# --- the server process -----------------------------------------------------------------
async def _serve(args: argparse.Namespace) -> dict[str, Any]:
    from aiohttp import web

    from server.audio.plane import AudioPlane, AudioSettings
    from server.rtc.ice import rtc_configuration, use_host_addresses

    listeners = min(max(args.listeners, 1), MAX_LISTENERS)
    seconds = min(max(args.seconds, 1.0), MAX_SECONDS)
    workers = min(max(args.workers, 1), 4, listeners)
    use_host_addresses(["127.0.0.1"])
    config = rtc_configuration([])
    lean = args.path == "lean"
    plane = AudioPlane(lambda: config, AudioSettings(slots=args.slots, lean_forwarding=lean))
    if lean and not plane._lean:
        raise SystemExit("bench: the lean path is not available on this aiortc")
    plane.set_speakers(ROOM, [SPEAKER])

    async def uplink(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"sdp": await plane.open_uplink(body["pid"], ROOM, body["sdp"])})

    async def listener(request: web.Request) -> web.Response:
        body = await request.json()
        sdp = await plane.open_listener(body["pid"], ROOM, body["sdp"])
        return web.json_response({"sdp": sdp})

    app = web.Application()
    app.router.add_post("/uplink", uplink)
    app.router.add_post("/listener", listener)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"

    ctx = mp.get_context("spawn")
    out: Any = ctx.Queue()
    start, stop, done = ctx.Event(), ctx.Event(), ctx.Event()
    ids = [f"l{i}" for i in range(listeners)]
    procs = [ctx.Process(target=speaker_worker, args=(base, done, out))]
    procs += [
        ctx.Process(target=listener_worker, args=(base, ids[w::workers], args.slots,
                                                  (start, stop, done), out, args.client_nice))
        for w in range(workers)
    ]  # fmt: skip
    loop = asyncio.get_running_loop()
    load_before = os.getloadavg()[0]
    rcvbuf_errors = _udp_rcvbuf_errors()
    t0 = time.monotonic()
    for p in procs:
        p.start()
    results: dict[str, Any] = {"listeners": [], "speaker": {}}
    try:
        for _ in procs:
            kind, _n = await loop.run_in_executor(None, out.get, True, 60 + listeners)
        connect_s = time.monotonic() - t0
        await asyncio.sleep(args.warmup)

        def forwarded() -> dict[str, tuple[int, int]]:
            return {
                p: (s["forwarded"], s["dropped"]) for p, s in plane.stats()["listeners"].items()
            }

        fwd0, cpu0, wall0 = forwarded(), time.process_time(), time.monotonic()
        packets0 = plane.stats()["uplinks"].get(SPEAKER, {}).get("packets", 0)
        # CPU time, not wall time: on a shared machine the wall clock counts other work.
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        if profiler is not None:
            profiler.enable()
        start.set()
        await asyncio.sleep(seconds)
        stop.set()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        cpu1, wall1, fwd1 = time.process_time(), time.monotonic(), forwarded()
        load_after = os.getloadavg()[0]
        packets1 = plane.stats()["uplinks"].get(SPEAKER, {}).get("packets", 0)
        await plane.close_uplink(SPEAKER)  # nothing more is pushed; let in-flight land
        await asyncio.sleep(1.0)
        final = forwarded()
        done.set()
        for _ in procs:
            kind, data = await loop.run_in_executor(None, out.get, True, 60)
            if kind == "listeners":
                results["listeners"].append(data)
            else:
                results["speaker"] = data
    finally:
        done.set()
        for p in procs:
            await loop.run_in_executor(None, p.join, 30)
            if p.is_alive():
                p.terminate()
        await plane.close()
        await runner.cleanup()
    elapsed = wall1 - wall0
    window = [n for r in results["listeners"] for n in r["window"].values()]
    received = sum(n for r in results["listeners"] for n in r["total"].values())
    expected = sum(r["expected"] for r in results["listeners"])
    got = sum(r["received"] for r in results["listeners"])
    pushed = sum(f for f, _d in final.values())
    dropped = sum(d for _f, d in final.values())
    pushed_window = sum(fwd1[p][0] - fwd0.get(p, (0, 0))[0] for p in fwd1)
    cpu = (cpu1 - cpu0) / elapsed
    return {
        "path": args.path, "listeners": listeners, "seconds": round(elapsed, 2),
        "workers": workers, "client_nice": args.client_nice,
        # The machine is shared: the 1-minute load average before connecting and at the end.
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "connected": len(final), "connect_seconds": round(connect_s, 1),
        "errors": [e for r in results["listeners"] for e in r["errors"]][:3],
        # None: the speaker's uplink ended within the window (an overloaded server
        # misses ICE consent checks, and aiortc then closes the peer).
        "speaker_packets_per_s": (
            round((packets1 - packets0) / elapsed, 1) if packets1 >= packets0 else None
        ),
        "server_cpu_per_s": round(cpu, 3),
        "server_cpu_per_listener_pct": round(100 * cpu / listeners, 3),
        "packets_per_listener_per_s": round(sum(window) / max(1, len(window)) / elapsed, 2),
        "min_packets_per_listener_per_s": round(min(window, default=0) / elapsed, 2),
        "pushed_per_s": round(pushed_window / elapsed, 1),
        # Sent by the server, never received: gaps in each stream's sequence numbers
        # (whole run, read to the end), so a client that lags is not counted as loss.
        "loss": round(1 - got / expected, 4) if expected else None,
        # Whole run: also counts the few packets pushed before a listener's DTLS was up.
        "loss_incl_startup": round(1 - received / pushed, 4) if pushed else None,
        # Read by the clients within the window itself: below 1 when they lag behind.
        "window_read_ratio": round(sum(window) / pushed_window, 4) if pushed_window else None,
        "slot_drops": dropped,
        # Machine-wide (other users' UDP included): datagrams dropped for a full buffer.
        "udp_rcvbuf_errors": _udp_rcvbuf_errors() - rcvbuf_errors,
        "max_streams_per_listener": max(
            (r.get("max_streams", 0) for r in results["listeners"]), default=0
        ),
    }  # fmt: skip


def _udp_rcvbuf_errors() -> int:
    try:
        with open("/proc/net/snmp") as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
        return int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, IndexError, ValueError):
        return 0


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    if args.mics:
        return asyncio.run(_serve_mics(args))
    return asyncio.run(_serve(args))


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--listeners", type=int, default=100, help="listener peers (max 600)")
    parser.add_argument(
        "--path",
        choices=("lean", "track"),
        default="lean",
        help="server forwarding: server/audio/lean.py or aiortc's senders",
    )
    parser.add_argument(
        "--client-nice",
        type=int,
        default=10,
        help="niceness of the listener processes (the speaker stays at 0)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time (max 60)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--workers", type=int, default=3, help="listener processes (1-4)")
    parser.add_argument("--slots", type=int, default=3, help="audio slots per listener")
    parser.add_argument("--profile", help="write a cProfile of the measured window here")
    parser.add_argument("--mics", type=int, default=0,
                        help="measure N microphones (max 16, no listeners) instead")
    parser.add_argument("--no-level-header", action="store_true",
                        help="with --mics: offers without the RFC 6464 audio-level extension")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = run_bench(args)
    return finish(result, args.json, failures(result))


def failures(result: dict[str, Any]) -> list[str]:
    """Why a run measured nothing that means anything (empty: it did)."""
    if "mics" in result:
        return [nothing("microphone packets", result["packets_per_mic_per_s"])]
    connected = short_of("listeners connected", result["connected"], result["listeners"])
    return [
        f"{connected}; first errors: {result['errors'][:2]}" if connected else "",
        nothing("speaker packets", result["speaker_packets_per_s"]),
        nothing("packets delivered to listeners", result["packets_per_listener_per_s"]),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
