"""Load and measure the public gallery plane (issue 19): N watch-only viewers of a meeting.

Starts one Hiroba node on 127.0.0.1 (or, with ``--nodes K``, redis-server and K cluster
nodes), joins the committee room's chair — a real aiortc peer publishing a 440 Hz Opus
tone, whose head turns on the stage through the motion plane — and connects N gallery
viewers (``/gallery/ws?room=...``, :mod:`bench.clients.gallery_viewer`) spread
round-robin over the nodes. The chair's process notes, for every RTP timestamp, the wall
clock time it sent the packet, and its pose's yaw carries the uplink's send time (as in
``bench motion``), so on this one machine's clock:

- speaker-to-viewer latency = a sample viewer's arrival time of an audio packet less the
  speaker's send time of that RTP timestamp (p50 / p95 / p99, late over 400 ms);
- audio lost = packets the speaker sent in the window that a sample viewer never got;
- A/V alignment = in one frame, the audio packets' send times less the stage pose's.

Most viewers only drain and count (bytes, frames, audio packets, frame sequence gaps); the
``--sample`` first ones (default 20) decode every frame with :mod:`server.gallery.codec`.
Server CPU is read from /proc for each node: first with the speaker and the stage alone
(the node's fixed cost), then with the viewers; per viewer = the difference over N.

    .venv/bin/hiroba bench gallery --viewers 2000 --seconds 20 --json
    .venv/bin/hiroba bench gallery --viewers 2000 --nodes 2 --seconds 20 --json
    .venv/bin/hiroba bench gallery --viewers 2000 --webrtc-listeners 200 --json

``--webrtc-listeners M`` then runs ``bench audio`` (bench/audio.py: M real WebRTC
listener peers of one speaker, lean path) in the same run and prints the ratio of a
gallery viewer's server CPU to a WebRTC listener's.

The viewers all come from 127.0.0.1, so the nodes are started with the per-address caps
lifted by settings (``--tcp-connections-per-address 0``, ``--gallery-per-address 0``) and
the gallery's per-node / per-room caps above N where the server has them. Exits 1 when a
viewer failed to connect or nothing was measured. Bounded: 10,000 viewers, 8 nodes, 120 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import multiprocessing as mp
import os
import queue
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from bench import server as bench_server
from bench.clients import gallery_viewer
from bench.report import finish, nothing, short_of

ROOT = Path(__file__).resolve().parent.parent
MAX_VIEWERS = 10_000
MAX_NODES = 8
MAX_SECONDS = 120.0
ROOM = "dx-committee"
#: An audio packet later than this is late (the issue's p95 target).
LATE_S = 0.4
PROBE_WRAP = gallery_viewer.PROBE_WRAP


# --- servers ----------------------------------------------------------------------------
def server_flags(viewers: int) -> tuple[str, ...]:
    """The flags every node gets: the per-address caps lifted for a bench whose viewers
    all come from 127.0.0.1 (settings, documented in docs/operations.md), and loopback
    ICE for the speaker's WebRTC uplink."""
    flags = ["--tcp-connections-per-address", "0", "--gallery-per-address", "0",
             "--ice-host-addresses", "127.0.0.1", "--log-level", "warning"]
    import dataclasses

    from server.config.settings import Settings

    known = {f.name for f in dataclasses.fields(Settings)}
    # The gallery's own caps (issue 19): above the run's viewers, when the server has them.
    for name in ("gallery_max_per_node", "gallery_max_per_room"):
        if name in known:
            flags += ["--" + name.replace("_", "-"), str(max(viewers + 10, 100))]
    return tuple(flags)


class Servers:
    """One plain node, or redis-server and ``count`` cluster nodes (the first leads)."""

    def __init__(self, data_dir: str, count: int, flags: tuple[str, ...]) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.redis: Any = None
        self.nodes: list[Any] = []
        if count <= 1:
            self.proc, url = bench_server.start_server(data_dir, *flags)
            self.urls, self.pids = [url], [self.proc.pid]
            return
        from bench.cluster import Node, RedisServer

        self.redis = RedisServer(bench_server.free_port()).start()
        try:
            for i in range(count):
                # The default lease, not the harness's 1.5 s: a loaded loop can stall that
                # long and a node would fail-stop (as bench/motion.py's cluster).
                node = Node(chr(ord("a") + i), Path(data_dir), self.redis.url,
                            flags=(*flags, "--cluster-lease-seconds", "5"))
                self.nodes.append(node.start())
        except BaseException:
            self.stop()
            raise
        self.urls = [str(n.url) for n in self.nodes]
        self.pids = [int(n.proc.pid) for n in self.nodes]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        for node in reversed(self.nodes):  # edges first: the leader does not take over
            node.stop()
        if self.redis is not None:
            self.redis.stop()


def prioritise(pid: int, nice: int) -> None:
    """Give a server process started here the niceness ``nice`` (below 0 needs root): on
    a machine shared with other work, a deployment's node has its cores to itself."""
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
        except OSError as exc:
            raise SystemExit(f"--server-nice {nice}: {exc}") from None


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gallery_metrics(url: str) -> dict[str, float]:
    """Every ``hiroba_gallery*`` sample of the node's /metrics (the plane's counters)."""
    try:
        text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("hiroba_gallery"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[name] = float(value)
    return out


def invite_chair(data_dir: str, room: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "server.cli.main", "invite", room, "--role", "chair",
         "--name", "委員長", "--data-dir", data_dir],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return ""
    return parse_qs(urlparse(done.stdout.strip()).query).get("token", [""])[0]


# --- the speaker ------------------------------------------------------------------------
def speaker_worker(inbox: Any, stop: Any, out: Any) -> None:
    """The speaker's process: started with the server, it loads aiortc meanwhile, then
    takes (url, room, token) from ``inbox`` (None: there is no speaker)."""
    import aiortc  # noqa: F401  (the slow imports, while the node starts)
    import socketio  # noqa: F401

    job = inbox.get()
    if job is None:
        return
    url, room, token = job
    try:
        asyncio.run(_speak(url, room, token, stop, out))
    except Exception as exc:  # reported, so that the bench says why nothing was heard
        out.put(("speaker", {"error": repr(exc), "sent": [], "slot": None}))


async def _speak(url: str, room: str, token: str, stop: Any, out: Any) -> None:
    import socketio
    import websockets
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from avatar import codec as pose_codec
    from avatar.pose import Pose, TrackingState
    from bench.clients.audio_peers import Tone
    from server.motion.codec import encode_uplink
    from server.rtc.ice import rtc_configuration, use_host_addresses

    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(url, transports=["websocket"], wait_timeout=30)
    ack = await sio.call("join", {"name": "委員長", "room": room, "lang": "ja",
                                  "token": token}, timeout=30)  # fmt: skip
    if not ack.get("ok"):
        raise RuntimeError(f"the chair's join was refused: {ack}")
    me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
    use_host_addresses(["127.0.0.1"])
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.addTrack(Tone(440.0))
    await pc.setLocalDescription(await pc.createOffer())
    answer = await sio.call("audio:publish", {"type": "offer", "sdp": pc.localDescription.sdp},
                            timeout=30)  # fmt: skip
    if not answer.get("ok"):
        raise RuntimeError(f"audio:publish refused: {answer}")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    # Every RTP packet's timestamp -> the wall clock time it left, noted at the DTLS
    # transport, just before SRTP and the socket.
    # The server's receiver (aiortc) hands on timestamps counted from the first packet it
    # got, so they are noted the same way here (figures() allows for a first packet lost).
    sent: dict[int, float] = {}
    first: list[int] = []
    dtls = pc.getSenders()[0].transport
    send_rtp = dtls._send_rtp

    async def noting(data: bytes) -> None:
        if len(data) >= 12 and not 192 <= data[1] <= 223:  # RTP, not RTCP
            ts = int.from_bytes(data[4:8], "big")
            if not first:
                first.append(ts)
            sent.setdefault((ts - first[0]) & 0xFFFFFFFF, time.time())
        await send_rtp(data)

    dtls._send_rtp = noting
    motion = ack["motion"]
    # (proxy=None: websockets honours https_proxy even for ws://, and a process that ran
    # MediaPipe points it at a refusing address, avatar/telemetry.py; this is loopback.)
    async with websockets.connect(url.replace("http", "ws", 1) + motion["path"],
                                  max_size=2**20, compression=None,
                                  proxy=None) as ws:  # fmt: skip
        await ws.send(motion["token"])
        if await ws.recv() != "ok":
            raise RuntimeError("the motion plane refused the chair")

        async def drain() -> None:
            async for _ in ws:
                pass

        reader = asyncio.create_task(drain())
        out.put(("ready", {"slot": me.get("slot")}))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        stopped = loop.run_in_executor(None, stop.wait)
        weights = [0.0] * 52
        while not stopped.done():
            t = loop.time() - t0
            weights[24] = 0.5 + 0.5 * (int(t * 8) % 2)  # the jaw opens and closes
            code = int(time.time() * 1000) % PROBE_WRAP
            pose = pose_codec.encode(Pose(int(t * 1000), TrackingState.TRACKED,
                                          yaw=(code - 18000) / 100, weights=tuple(weights)))
            await ws.send(encode_uplink(me["x"], me["z"], me["h"], pose))
            await asyncio.sleep(0.05)
        reader.cancel()
    out.put(("speaker", {"sent": list(sent.items()), "slot": me.get("slot"), "error": None}))
    await pc.close()
    await sio.disconnect()


# --- the run ----------------------------------------------------------------------------
def percentiles(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "samples": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 1),
            "samples": len(ordered)}  # fmt: skip


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    viewers = min(max(args.viewers, 1), MAX_VIEWERS)
    count = min(max(args.nodes, 1), MAX_NODES)
    seconds = min(max(args.seconds, 1.0), MAX_SECONDS)
    sample = min(max(args.sample, 0), viewers)
    ctx = mp.get_context("spawn")
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="hiroba-gallery-") as tmp:
        data_dir = os.path.join(tmp, "data")
        os.makedirs(data_dir)
        procs: list[Any] = []
        stop_speaker = ctx.Event()
        out: Any = ctx.Queue()
        # Every client process starts first and loads its modules while the nodes start;
        # each then waits on its inbox for what to do.
        speaker_inbox: Any = ctx.Queue()
        procs.append(ctx.Process(target=speaker_worker, args=(speaker_inbox, stop_speaker, out)))
        # Viewers: samples in one process at normal priority (their arrival times are the
        # figures), the drains over --workers processes at --client-nice.
        rest = viewers - sample
        workers = max(1, min(args.workers, rest)) if rest else 0
        groups = [(list(range(sample)), True, 0)] if sample else []
        groups += [(list(range(sample + w, viewers, workers)), False, args.client_nice)
                   for w in range(workers)]  # fmt: skip
        inboxes = [ctx.Queue() for _ in groups]
        procs += [ctx.Process(target=gallery_viewer.worker,
                              args=(args.room, is_sample, nice, inbox, out))
                  for (_g, is_sample, nice), inbox in zip(groups, inboxes, strict=True)]
        for p in procs:
            p.start()
        servers: Servers | None = None
        try:
            servers = Servers(data_dir, count, server_flags(viewers))
            urls, pids = servers.urls, servers.pids
            for pid in pids:  # (only the nodes this run started)
                prioritise(pid, args.server_nice)
            token = invite_chair(data_dir, args.room)
            speaker_error, slot = None, None
            if token:
                speaker_inbox.put((urls[0], args.room, token))
                kind, info = out.get(timeout=90)
                speaker_error = info.get("error") if kind == "speaker" else None
                slot = info.get("slot")
            else:
                speaker_inbox.put(None)
                speaker_error = f"no chair's invitation to room {args.room!r}"
            # The node's fixed cost: the speaker's uplink and the stage, nobody watching.
            time.sleep(args.warmup)
            base0 = [cpu_seconds(p) for p in pids]
            time.sleep(args.baseline_seconds)
            base1 = [cpu_seconds(p) for p in pids]
            targets = [(urlparse(urls[i % count]).hostname or "127.0.0.1",
                        int(urlparse(urls[i % count]).port or 80), i % count)
                       for i in range(viewers)]  # fmt: skip
            t_connect = time.monotonic()
            for (indices, _s, _n), inbox in zip(groups, inboxes, strict=True):
                inbox.put([targets[i] for i in indices])
            late_speaker: list[Any] = []

            def take(wanted: str, timeout: float) -> Any:
                # (A speaker that fails mid-run says so on the same queue.)
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        kind, data = out.get(timeout=1.0)
                    except queue.Empty:
                        crashed = [p.exitcode for p in procs[1:]
                                   if p.exitcode not in (None, 0)]  # fmt: skip
                        if crashed or time.monotonic() > deadline:
                            raise RuntimeError(f"viewer processes ended {crashed} or timed "
                                               f"out waiting for {wanted!r}") from None
                        continue
                    if kind == wanted:
                        return data
                    late_speaker.append(data)

            ready = sum(take("ready", 120 + viewers / 20) for _ in groups)
            connect_s = time.monotonic() - t_connect
            # Nobody connected: nothing to wait for (the run fails below, saying so).
            start = time.time() + (args.warmup if ready else 0.0)
            stop = start + (seconds if ready else 0.0)
            for inbox in inboxes:
                inbox.put((start, stop, 1.0))
            time.sleep(max(0.0, start - time.time()))
            clients = [p.pid for p in procs]
            cpu0, l_start = [cpu_seconds(p) for p in pids], os.getloadavg()
            c0 = [cpu_seconds(p) for p in clients]
            m0 = [gallery_metrics(u) for u in urls]
            time.sleep(max(0.0, stop - time.time()))
            cpu1, l_stop = [cpu_seconds(p) for p in pids], os.getloadavg()
            c1 = [cpu_seconds(p) for p in clients]
            m1 = [gallery_metrics(u) for u in urls]
            results = [take("viewers", 120) for _ in groups]
            stop_speaker.set()
            sent: list[tuple[int, float]] = []
            if speaker_error is None:
                info = late_speaker[0] if late_speaker else take("speaker", 60)
                sent, speaker_error = info["sent"], info.get("error")
            for p in procs:
                p.join(30)
        finally:
            stop_speaker.set()
            with contextlib.suppress(Exception):
                speaker_inbox.put(None)  # (a speaker still waiting for its job)
            for p in procs:
                if p.is_alive():
                    p.terminate()
            if servers is not None:
                servers.stop()
    result = figures(viewers, count, seconds, sample, urls, pids, results, sent, slot,
                     (start, stop), (base0, base1, args.baseline_seconds), (cpu0, cpu1),
                     (m0, m1))  # fmt: skip
    result.update({
        "speaker_error": speaker_error, "connect_seconds": round(connect_s, 1),
        # The speaker's process, then the viewers' (sample first): what the load cost.
        "clients_cpu_per_s": [round((b - a) / seconds, 3) if a is not None and b is not None
                              else None for a, b in zip(c0, c1, strict=True)],
        "viewers_ready": ready, "client_workers": workers, "client_nice": args.client_nice,
        "server_nice": args.server_nice,
        "server_flags": list(server_flags(viewers)),
        "loadavg_1m_before_start_end": [round(load0[0], 2), round(l_start[0], 2),
                                        round(l_stop[0], 2)],
        "machine_cores": os.cpu_count(),
    })  # fmt: skip
    if args.webrtc_listeners:
        result["webrtc"] = webrtc_comparison(args, result)
    return result


def figures(viewers: int, count: int, seconds: float, sample: int, urls: list[str],
            pids: list[int], results: list[dict[str, Any]], sent_pairs: list[tuple[int, float]],
            slot: int | None, window: tuple[float, float], base: tuple[Any, Any, float],
            cpu: tuple[Any, Any], metrics: tuple[Any, Any]) -> dict[str, Any]:  # fmt: skip
    start, stop = window
    rows = [r for res in results for r in res["rows"]]
    good = [r for r in rows if r["ok"]]
    failures = [f for res in results for f in res["failures"]][:5]
    sent = dict(sent_pairs)
    # The speaker counts timestamps from its first packet sent, the server from its first
    # received: if the first few were lost on the way, shift by the packets lost.
    heard_all = {ts for res in results for s in res["samples"] for ts, _a, _g in s["heard"]}
    shift = max(range(0, 960 * 50, 960), key=lambda k: len(
        heard_all & {(ts - k) & 0xFFFFFFFF for ts in sent}))
    sent = {(ts - shift) & 0xFFFFFFFF: t for ts, t in sent.items()}

    def per_s(key: str, of: list[dict[str, Any]]) -> float:
        return round(sum(r[key] for r in of) / max(1, len(of)) / seconds, 2)

    # Latency and loss from the sample viewers: packets the speaker sent in the window
    # (less the last second, still on its way when the window closed).
    latency: list[float] = []
    by_node: dict[int, tuple[list[float], list[float]]] = {}  # node -> (latency, |skew|)
    ages = [float(g) for res in results for s in res["samples"] for _ts, _a, g in s["heard"]]
    late = lost = expected = gaps = 0
    skews: list[float] = []
    frame_skews: list[float] = []
    in_window = {ts for ts, t in sent.items() if start <= t <= stop - 1.0}
    for res in results:
        for s in res["samples"]:
            heard = {}
            for ts, arrival, _age in s["heard"]:
                heard.setdefault(ts, arrival)
            for ts, arrival in heard.items():
                t = sent.get(ts)
                if t is not None and start <= t <= stop:
                    latency.append(1000 * (arrival - t))
                    by_node.setdefault(s["node"], ([], []))[0].append(1000 * (arrival - t))
                    late += arrival - t > LATE_S
            expected += len(in_window)
            lost += len(in_window - heard.keys())
            stamps = sorted(ts for ts in heard if ts in in_window)
            gaps += sum((b - a) // 960 - 1 for a, b in itertools.pairwise(stamps)
                        if b - a > 960)  # fmt: skip
            for pose_code, tss in s["paired"]:
                for ts in tss:
                    t = sent.get(ts)
                    if t is not None and start <= t <= stop:
                        code = int(t * 1000) % PROBE_WRAP
                        raw = ((code - pose_code + PROBE_WRAP // 2) % PROBE_WRAP
                               - PROBE_WRAP // 2)  # fmt: skip
                        frame_skews.append(raw)
                        # As the page shows them: the poses held back by the hello's lag.
                        skews.append(raw + s.get("audio_lag_ms", 0))
                        by_node.setdefault(s["node"], ([], []))[1].append(abs(skews[-1]))
    nodes = []
    for n, url in enumerate(urls):
        mine = [r for r in good if r["node"] == n]
        c = (cpu[1][n] - cpu[0][n]) / seconds if None not in (cpu[0][n], cpu[1][n]) else None
        b = (base[1][n] - base[0][n]) / base[2] if None not in (base[0][n], base[1][n]) else None
        delta = {k: round(v - metrics[0][n].get(k, 0.0), 1) for k, v in metrics[1][n].items()
                 if "total" in k}  # fmt: skip
        gauges = {k: v for k, v in metrics[1][n].items() if "total" not in k}
        nodes.append({
            "url": url, "pid": pids[n], "viewers": len(mine),
            "cpu_per_s": round(c, 3) if c is not None else None,
            "cpu_per_s_no_viewers": round(b, 3) if b is not None else None,
            # The plane's own frames a second (every frame_ms, unless its loop lags).
            "server_frames_per_s": round(delta.get("hiroba_gallery_frames_total", 0.0)
                                         / seconds, 2),
            "cpu_ms_per_s_per_viewer": (round(1000 * (c - b) / len(mine), 4)
                                        if c is not None and b is not None and mine else None),
            "viewers_missing_frames": sum(1 for r in mine if r["missed"]),
            # The sample viewers on this node (the speaker is on the first node).
            "latency_ms": percentiles(by_node.get(n, ([], []))[0]),
            "av_skew_ms": percentiles(by_node.get(n, ([], []))[1]),
            "metrics_window": delta, "metrics_now": gauges,
        })  # fmt: skip
    total_cpu = sum(n["cpu_per_s"] for n in nodes if n["cpu_per_s"] is not None)
    total_base = sum(n["cpu_per_s_no_viewers"] for n in nodes
                     if n["cpu_per_s_no_viewers"] is not None)  # fmt: skip
    skipped = sum(v for n in nodes for k, v in n["metrics_window"].items() if "skip" in k)
    return {
        "viewers": viewers, "nodes": count, "seconds": seconds, "sample_viewers": sample,
        "connected": len(good), "failed_to_connect": len(rows) - len(good),
        "connect_failures": failures,
        "server_cpu_per_s": round(total_cpu, 3),
        "server_cpu_per_s_no_viewers": round(total_base, 3),
        # Marginal: what the viewers added to the nodes, over the viewers.
        "server_cpu_ms_per_s_per_viewer": (round(1000 * (total_cpu - total_base) / len(good), 4)
                                           if good else None),
        "server_cpu_ms_per_s_per_viewer_incl_fixed": (round(1000 * total_cpu / len(good), 4)
                                                      if good else None),
        "bytes_per_viewer_per_s": per_s("bytes", good),
        "frames_per_viewer_per_s": per_s("frames", good),
        "min_frames_per_viewer_per_s": round(min((r["frames"] for r in good), default=0)
                                             / seconds, 2),
        "audio_packets_per_viewer_per_s": per_s("audio", good),
        # Frames a viewer never got (gaps in the frame sequence numbers): the server
        # skipped it while its socket was full.
        "viewers_fell_behind": sum(1 for r in good if r["missed"]),
        "frames_missed": sum(r["missed"] for r in good),
        "frames_skipped_server": skipped,
        "closed_during_run": sum(1 for r in good if r["closed"] is not None),
        "decode_errors": sum(r["decode_errors"] for r in rows),
        "speaker_slot": slot,
        "speaker_packets_in_window": len(in_window),
        "latency_ms": percentiles(latency),
        # How long the packets waited on the server for their frame (the frames' age_ms).
        "audio_age_on_server_ms": percentiles(ages),
        "audio_late": late, "audio_lost": lost, "audio_expected": expected,
        "audio_rtp_gaps": gaps,
        # Send time of a frame's audio less that of its stage pose (ms), as the page
        # plays them: one delay for both, the poses held back by the hello's audio_lag_ms
        # more; so this is how far voice and mouth part on the page.
        "av_skew_ms": percentiles([abs(s) for s in skews]),
        "av_skew_signed_median_ms": sorted(skews)[len(skews) // 2] if skews else None,
        # The same within the frames, before the page's hold-back (the server's lag).
        "av_skew_in_frames_signed_median_ms": (sorted(frame_skews)[len(frame_skews) // 2]
                                               if frame_skews else None),
        "nodes_detail": nodes,
    }  # fmt: skip


def webrtc_comparison(args: argparse.Namespace, gallery: dict[str, Any]) -> dict[str, Any]:
    """bench/audio.py's WebRTC listeners of one speaker, in this run: CPU per listener."""
    from bench import audio

    # bench audio's server is this process: the same priority as the gallery's nodes.
    prioritise(os.getpid(), args.server_nice)
    options = audio.build_parser().parse_args(
        ["--listeners", str(args.webrtc_listeners), "--seconds", str(min(args.seconds, 20)),
         "--workers", "2"])  # fmt: skip
    result = audio.run_bench(options)
    # Per listener that connected (on a loaded machine a few may miss ICE in time).
    per_listener = 1000 * result["server_cpu_per_s"] / max(1, result["connected"])
    viewer = gallery.get("server_cpu_ms_per_s_per_viewer")
    viewer_all = gallery.get("server_cpu_ms_per_s_per_viewer_incl_fixed")
    return {
        "listeners": result["listeners"], "connected": result["connected"],
        "server_cpu_per_s": result["server_cpu_per_s"],
        "server_cpu_ms_per_s_per_listener": round(per_listener, 4),
        "packets_per_listener_per_s": result["packets_per_listener_per_s"],
        "loss": result["loss"], "load_average": result["load_average"],
        "gallery_viewer_over_listener": (round(viewer / per_listener, 4)
                                         if viewer is not None and per_listener else None),
        "gallery_viewer_incl_fixed_over_listener": (
            round(viewer_all / per_listener, 4) if viewer_all is not None and per_listener
            else None),
    }  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--viewers", type=int, default=200, help="gallery viewers (max 10000)")
    parser.add_argument("--nodes", type=int, default=1,
                        help="cluster nodes (2-8: redis-server and that many nodes)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time (max 120)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--baseline-seconds", type=float, default=3.0,
                        help="server CPU measured this long with the speaker and no viewer")
    parser.add_argument("--sample", type=int, default=20,
                        help="viewers that decode every frame and time the audio")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes of the draining viewers")
    parser.add_argument("--client-nice", type=int, default=10,
                        help="niceness of the draining viewers' processes (the sample and "
                             "the speaker stay at 0)")
    parser.add_argument("--server-nice", type=int, default=0,
                        help="niceness of the nodes (and of bench audio's server with "
                             "--webrtc-listeners); below 0 needs root: on a shared machine "
                             "it stands for a node with its cores to itself")
    parser.add_argument("--room", default=ROOM, help="the meeting's room id")
    parser.add_argument("--webrtc-listeners", type=int, default=0, metavar="M",
                        help="then measure M WebRTC listeners of one speaker (bench audio) "
                             "and print the per-viewer / per-listener CPU ratio")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def failures(result: dict[str, Any]) -> list[str]:
    """Why a run measured nothing that means anything (empty: it did)."""
    connected = short_of("viewers connected", result["connected"], result["viewers"])
    found = [
        f"{connected}; first failures: {result['connect_failures'][:2]}" if connected else "",
        nothing("gallery frames per viewer", result["frames_per_viewer_per_s"]),
        nothing("server CPU", result["server_cpu_per_s"]),
    ]
    if result["sample_viewers"]:
        found.append(nothing("speaker-to-viewer latency", result["latency_ms"]["samples"]))
    if result.get("speaker_error"):
        found.append(f"the speaker failed: {result['speaker_error']}")
    web = result.get("webrtc")
    if web is not None:
        found.append(nothing("WebRTC listeners connected", web["connected"]))
    return found


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = run_bench(args)
    return finish(result, args.json, failures(result))


if __name__ == "__main__":
    sys.exit(main())
