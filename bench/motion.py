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

Several servers: ``--url`` repeated (or comma separated) targets running nodes of one
cluster, and ``--cluster N`` starts redis-server and N nodes itself (bench/cluster.py).
Clients are spread round-robin over the nodes (each joins and opens /motion on its own),
and the report adds per-node figures (CPU when the node's process is found: ``--pid``, or
by its listening port in /proc) and Redis's CPU. Every 4th client also measures, on its own
clock, how long a stage member's pose took from its uplink to the first frame carrying it,
across nodes (the members' yaw carries the send time, in ms modulo 36 s).

Light clients: all but every 16th client (the sample, on the ``websockets`` library, which
reads every frame whole and times the poses) open ``/motion`` with the hand-written framing
of bench/clients/ws_lite.py: the same socket.io join and WebSocket handshake, the same
uplinks at the same rate and moment (sent by one pacer per process and node), every frame
received and counted by its header, never decoded. The clients share the server's cores
here; cheap clients leave it what a deployment's would (``--full-clients``: all on the
library, as before; about a core more at 500).

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
from collections import deque
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from bench import server as bench_server
from bench.report import finish, nothing, print_result, short_of

ROOT = Path(__file__).resolve().parent.parent
MAX_CLIENTS = 1000
MAX_SECONDS = 120.0


def server_flags(tick_hz: float) -> tuple[str, ...]:
    # Positions only on the motion plane, as when every client uses it; joins fast; data
    # channels over loopback host candidates, as many as there may be clients.
    return ("--motion-hz", str(tick_hz), "--no-move-deltas",
            "--events-per-second", "100", "--events-burst", "200",
            "--ice-host-addresses", "127.0.0.1",
            "--motion-datachannel-max", str(MAX_CLIENTS + 12),
            # Every client is on 127.0.0.1 with two connections (socket.io and /motion):
            # the per-address TCP cap (256) would close half of 500 clients' sockets.
            "--tcp-connections-per-address", "0")


def start_server(data_dir: str, tick_hz: float) -> tuple[subprocess.Popen[bytes], str]:
    return bench_server.start_server(data_dir, *server_flags(tick_hz))


class Cluster:
    """redis-server and ``count`` nodes sharing ``data_dir`` (the first one leads)."""

    def __init__(self, data_dir: str, count: int, tick_hz: float) -> None:
        from bench.cluster import Node, RedisServer

        self.redis = RedisServer(bench_server.free_port()).start()
        self.nodes: list[Any] = []
        try:
            for i in range(count):
                # Flags after the harness's win: warnings only, as the single server runs,
                # and the default lease (the harness's 1.5 s is for fast failover tests;
                # under a bench's load a loop can stall that long and a node fail-stops).
                node = Node(chr(ord("a") + i), Path(data_dir), self.redis.url,
                            flags=(*server_flags(tick_hz), "--log-level", "warning",
                                   "--cluster-lease-seconds", "5"))
                self.nodes.append(node.start())
        except BaseException:
            self.stop()
            raise

    @property
    def urls(self) -> list[str]:
        return [str(node.url) for node in self.nodes]

    @property
    def pids(self) -> list[int]:
        return [int(node.proc.pid) for node in self.nodes]

    def stop(self) -> None:
        for node in self.nodes:
            if node.proc is not None and node.proc.poll() is not None:
                print(f"node {node.name} exited ({node.proc.returncode}):\n"
                      f"{node.log()[-3000:]}", file=sys.stderr)
        for node in reversed(self.nodes):  # edges first: the leader does not take over
            node.stop()
        self.redis.stop()


def listening_pid(url: str) -> int | None:
    """The process listening on ``url``'s 127.0.0.1 port (one of this user's), from /proc."""
    port = urlparse(url).port
    if port is None:
        return None
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return int(proc.name)
    return None


class ChannelLink:
    """The motion plane on a WebRTC data channel (aiortc), shaped like a websocket."""

    def __init__(self) -> None:
        from aiortc import RTCPeerConnection

        from server.rtc.ice import rtc_configuration

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
            [sys.executable, "-m", "server.cli.main", "invite", room, "--role", "member",
             "--name", f"委員{i + 1}", "--data-dir", data_dir],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
        ).stdout.strip()
        tokens.append(parse_qs(urlparse(out).query)["token"][0])
    return tokens


#: Stage members' yaw carries their uplink's send time: wall-clock ms modulo this.
PROBE_WRAP = 36_000
#: One client in this many is a full client (the ``websockets`` library, every frame read
#: whole) that also decodes its frames' posed entries to time the members' poses; the
#: others are light (:func:`light_client`).
PROBE_EVERY = 16
#: Frames over which a full client takes the earliest estimate of the tick's phase (the
#: page's PHASE_WINDOW, web_client/src/net/motion.js).
PHASE_WINDOW = 20
_POSED_PLAIN = 8  # slot, x, z, h before a posed entry's compact pose
_COMPACT_HEAD = 17  # state, roll, pitch, yaw, position, 7-byte weight mask


def probe_code() -> int:
    return int(time.time() * 1000) % PROBE_WRAP


def posed_yaws(frame: bytes) -> list[tuple[int, int, int]]:
    """(slot, roll, yaw) of a frame's posed entries, angles in hundredths of a degree
    (docs/protocol.md); the bench's members roll their head 10° per node index."""
    n_posed = int.from_bytes(frame[6:8], "little")
    at = 10
    out = []
    for _ in range(n_posed):
        slot = int.from_bytes(frame[at : at + 2], "little")
        pose = at + _POSED_PLAIN
        roll = int.from_bytes(frame[pose + 1 : pose + 3], "little", signed=True)
        yaw = int.from_bytes(frame[pose + 5 : pose + 7], "little", signed=True)
        mask = int.from_bytes(frame[pose + 10 : pose + 17], "little") & ((1 << 52) - 1)
        out.append((slot, roll, yaw))
        at = pose + _COMPACT_HEAD + (mask.bit_count() + 1) // 2
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Mover:
    """What one client sends each period: a citizen walks at random, a seated member
    sends its seat and a changing 69-byte pose record (talking, blinking, the head
    moving; the yaw carries the send time, see :func:`posed_yaws`, the roll the node)."""

    def __init__(self, index: int, node: int, me: dict[str, Any], period: float,
                 t0: float) -> None:
        self.index, self.node, self.period, self.t0 = index, node, period, t0
        self.rng = random.Random(index)
        self.x, self.z, self.h = me["x"], me["z"], me["h"]
        self.seated = me["seat"] is not None

    def uplink(self, now: float) -> bytes:
        from avatar import codec as pose_codec
        from avatar.pose import N_BLENDSHAPES, Pose, TrackingState
        from server.motion.codec import encode_uplink

        pose = None
        if self.seated:
            t, index = now - self.t0, self.index
            weights = [0.0] * N_BLENDSHAPES
            weights[24] = 0.5 + 0.5 * math.sin(t * 9 + index)  # jawOpen: talking
            weights[8] = weights[9] = 1.0 if (t * 0.3 + index) % 1 < 0.05 else 0.0
            weights[43] = weights[44] = 0.3
            pose = pose_codec.encode(Pose(
                int(t * 1000), TrackingState.TRACKED, roll=10.0 * self.node,
                pitch=5 * math.sin(t * 0.7), yaw=(probe_code() - 18000) / 100,
                weights=tuple(weights)))
        else:
            self.h += self.rng.uniform(-0.3, 0.3)
            self.x += -math.sin(self.h) * 1.2 * self.period
            self.z += -math.cos(self.h) * 1.2 * self.period
            if abs(self.x) > 26 or abs(self.z) > 26:
                self.h += math.pi
        return encode_uplink(self.x, self.z, self.h, pose)


class Pacer:
    """Sends the uplinks of one worker's light clients on one node, each period at the
    moment they all aim for (``lead`` before the node's next tick, as the page does), from
    one timer instead of one per client; and counts their frames over the measured window.

    The tick's phase comes from the frames' ``delay`` bytes: each frame read says its tick
    began at (arrival - delay) or earlier, so the earliest such estimate since the last send
    is the best one. Until a frame has shown the phase (or unaligned, ``lead`` None), the
    clients send once a period, spread over ten phases.

    One process writing ~170 uplinks in a row takes a few milliseconds (each loopback
    ``send()`` also runs the server side's TCP receive). The clients it stands for are
    phones that each send at the moment aimed for, so the burst is centred on that moment
    (it begins half a burst early, the burst's length followed from the last ones), not
    begun at it, which would make its second half late by construction. The two halves
    are apart at that moment, so the worker's full clients, whose own timers aim for it
    too, are not held up behind the whole burst. Each uplink's lateness is still measured
    against the moment aimed for (early ones negative).
    """

    def __init__(self, period: float, lead: float | None, start_at: float, stop_at: float,
                 late: list[float]) -> None:
        self.period, self.lead = period, lead
        self.start_at, self.stop_at = start_at, stop_at
        self.late = late
        self.members: list[Any] = []
        self.origin: float | None = None
        self._best = math.inf
        self.burst = 0.0  # how long the last bursts of sends took (s, smoothed)
        self.done = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.call_at(start_at, self._count, "start")
        loop.call_at(stop_at, self._count, "stop")

    def note(self, arrival: float, delay_ms: int) -> None:
        began = arrival - delay_ms / 1000
        if began < self._best:
            self._best = began

    def _count(self, when: str) -> None:
        for ws in self.members:
            ws.counted[when] = (ws.frames, ws.payload_bytes)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        period, lead = self.period, self.lead
        spread = 0
        try:
            while (now := loop.time()) < self.stop_at:
                if self._best < math.inf:
                    self.origin, self._best = self._best, math.inf
                if lead is not None and self.origin is not None:
                    ahead = now + lead - self.origin
                    target = self.origin + period * (math.floor(ahead / period) + 1) - lead
                    if target - now < period / 2:
                        target += period
                    await asyncio.sleep(max(0.0, target - self.burst / 2 - loop.time()))
                    if loop.time() >= self.stop_at:
                        break
                    half = len(self.members) // 2
                    took = self._send(self.members[:half], target)
                    # The worker's full clients aim for the same moment with timers of
                    # their own: they go at it, and the burst's second half after them
                    # (run whole, the burst held them up to half its length late).
                    await asyncio.sleep(max(0.0, target - loop.time()))
                    took += self._send(self.members[half:], target)
                    self.burst = 0.8 * self.burst + 0.2 * took
                else:
                    await asyncio.sleep(period / 10)
                    self._send(self.members[spread::10], None)
                    spread = (spread + 1) % 10
        finally:
            self.done.set()

    def _send(self, group: list[Any], aimed: float | None) -> float:
        """Send ``group``'s uplinks now; returns how long that took (s)."""
        clock = time.monotonic  # the event loop's clock
        now = clock()
        if aimed is None or not self.start_at <= aimed < self.stop_at:
            for ws in group:
                ws.send(ws.mover.uplink(now))
            return clock() - now
        # Each client's own lateness against the moment it aimed for, as one timer per
        # client measured it: its write's time, the batch's earlier writes included.
        late = self.late
        for ws in group:
            ws.send(ws.mover.uplink(now))
            late.append(round((clock() - aimed) * 1000, 2))
        return clock() - now


async def join(url: str, index: int, room: str, token: str | None,
               out: dict[str, Any]) -> tuple[Any, dict[str, Any], dict[str, Any]] | None:
    """One bench client's socket.io connection and join (``token``: an invitation link's,
    for a member); returns the client, the ack and its own participant, or None (the
    refusal kept in ``out["errors"]``, the client disconnected)."""
    import socketio

    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(url, transports=["websocket"], wait_timeout=30)
    payload: dict[str, Any] = {"name": f"c{index}", "room": room, "lang": "ja"}
    if token:
        payload["token"] = token
    ack = await sio.call("join", payload, timeout=30)
    if not ack.get("ok"):
        out["errors"].append(ack)
        await sio.disconnect()
        return None
    me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
    return sio, ack, me


async def light_client(url: str, index: int, room: str, token: str | None, period: float,
                       out: dict[str, Any], pacer: Pacer, node: int = 0) -> None:
    """A client as cheap as it can be while the server's work stays the same: the same
    socket.io join, a real ``/motion`` WebSocket (bench/clients/ws_lite.py: masked frames
    sent, frames counted by their headers and never decoded), its uplinks sent by the
    worker's :class:`Pacer` at the same rate and moment a full client sends them."""
    from bench.clients import ws_lite

    joined = await join(url, index, room, token, out)
    if joined is None:
        return
    sio, ack, me = joined
    try:
        motion = ack["motion"]
        ws = await ws_lite.connect(url.replace("http", "ws", 1) + motion["path"])
        try:
            ws.send(motion["token"].encode(), ws_lite.OP_TEXT)
            first = await asyncio.wait_for(ws.texts.get(), 30)
            if first != "ok":
                raise RuntimeError(f"/motion answered {first!r}, not ok")
            loop = asyncio.get_running_loop()
            ws.mover = Mover(index, node, me, period, loop.time())  # type: ignore[attr-defined]
            ws.counted = {}  # type: ignore[attr-defined]
            ws.on_delay = pacer.note
            pacer.members.append(ws)
            out["ready"].append(time.time())
            await pacer.done.wait()
        finally:
            ws.close()
        start = ws.counted.get("start", (0, 0))  # type: ignore[attr-defined]
        stop = ws.counted.get("stop", (ws.frames, ws.payload_bytes))  # type: ignore[attr-defined]
        out["frames"].append(stop[0] - start[0])
        out["bytes"].append(stop[1] - start[1])
        out["nodes"].append(node)
    finally:
        await sio.disconnect()


async def client(url: str, index: int, room: str, token: str | None, tick_hz: float,
                 start_at: float, stop_at: float, out: dict[str, Any],
                 align: bool = True, lead: float = 0.008,
                 transport: str = "websocket", node: int = 0, probe: bool = False) -> None:
    import websockets

    joined = await join(url, index, room, token, out)
    if joined is None:
        return
    sio, ack, me = joined
    motion = ack["motion"]
    rng = random.Random(index)
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
                websockets.connect(ws_url, max_size=2**20, compression=None,
                                   proxy=None))  # loopback: never https_proxy
            await ws.send(motion["token"])
            assert await ws.recv() == "ok"
        out["ready"].append(time.time())
        loop = asyncio.get_running_loop()

        # When the server's ticks begin, on this loop's clock: byte 1 of a frame is how
        # long after its tick began it was sent (docs/protocol.md, "Motion plane"); the
        # earliest of the last PHASE_WINDOW estimates, as the page takes it (a frame read
        # late gives a late estimate, never an early one).
        tick_origin: float | None = None
        estimates: deque[float] = deque(maxlen=PHASE_WINDOW)
        seen: dict[int, int] = {}

        async def receive() -> None:
            nonlocal frames, nbytes, tick_origin
            async for frame in ws:
                now = loop.time()
                estimate = now - frame[1] / 1000
                estimates.append(estimate)
                tick_origin = min(e + round((estimate - e) / period) * period
                                  for e in estimates)
                if start_at <= now < stop_at:
                    frames += 1
                    nbytes += len(frame)
                    if probe:
                        code = probe_code()
                        for slot, roll, yaw in posed_yaws(frame):
                            sent = yaw + 18000
                            if seen.get(slot, sent) != sent:
                                out["latency"].append(
                                    (round(roll / 1000), node, (code - sent) % PROBE_WRAP))
                            seen[slot] = sent

        receiver = asyncio.create_task(receive())
        t0 = loop.time()
        await asyncio.sleep(rng.uniform(0, period))
        n = 0
        last_sent = -1.0
        aimed: float | None = None  # when the uplink about to go out should have gone
        mover = Mover(index, node, me, period, t0)
        while loop.time() < stop_at:
            n += 1
            await ws.send(mover.uplink(loop.time()))
            last_sent = loop.time()
            if aimed is not None and start_at <= last_sent < stop_at:
                # This client's own lateness: how long after its aim the uplink left (its
                # timer firing late, the loop busy with other clients). Over the lead, it
                # arrives after the tick it aimed for began and waits a whole period.
                out["late"].append(round((last_sent - aimed) * 1000, 2))
            # Aim to arrive `lead` before the server's next tick, as the page does; until
            # a frame has shown the tick's phase, send once a period.
            if align and tick_origin is not None:
                ahead = last_sent + lead - tick_origin
                target = tick_origin + period * (math.floor(ahead / period) + 1) - lead
                if target - last_sent < period / 2:
                    target += period
                aimed = target
            else:
                target = last_sent + period
                aimed = None
            await asyncio.sleep(max(0.0, target - loop.time()))
        receiver.cancel()
        with suppress(asyncio.CancelledError):
            await receiver
    await sio.disconnect()
    out["frames"].append(frames)
    out["bytes"].append(nbytes)
    out["nodes"].append(node)


def worker(jobs: list[tuple[int, int, str, str, str | None, bool]], tick_hz: float,
           start_wall: float, stop_wall: float, queue: Any, lead: float | None,
           transport: str, nice: int, join_gap: float = 0.01,
           full_clients: bool = False) -> None:
    # The clients share this machine with the server they measure; a deployment's server
    # has its cores to itself. Niced, they take what the server leaves.
    os.nice(nice)
    if transport == "datachannel":
        from server.rtc.ice import use_host_addresses

        use_host_addresses(["127.0.0.1"])  # loopback host candidates only, no STUN

    async def run() -> dict[str, Any]:
        out: dict[str, Any] = {"frames": [], "bytes": [], "nodes": [], "latency": [],
                               "late": [], "errors": [], "full": 0, "ready": []}
        loop = asyncio.get_running_loop()
        offset = loop.time() - time.time()
        start_at, stop_at = start_wall + offset, stop_wall + offset
        tasks = []
        # The light clients' uplinks go out from one pacer per node (each node ticks at
        # its own phase); the sample of full clients keep their own timers.
        pacers: dict[int, Pacer] = {}
        for index, node, url, room, token, probe in jobs:
            if probe or transport != "websocket" or full_clients:
                tasks.append(asyncio.create_task(client(
                    url, index, room, token, tick_hz, start_at, stop_at, out,
                    align=lead is not None, lead=lead or 0.0, transport=transport, node=node,
                    probe=probe)))
                out["full"] += 1
            else:
                if node not in pacers:
                    pacers[node] = Pacer(1.0 / tick_hz, lead, start_at, stop_at, out["late"])
                    tasks.append(asyncio.create_task(pacers[node].run()))
                tasks.append(asyncio.create_task(light_client(
                    url, index, room, token, 1.0 / tick_hz, out, pacers[node], node)))
            await asyncio.sleep(join_gap)  # joins spread out, as people arrive
        results = await asyncio.gather(*tasks, return_exceptions=True)
        out["errors"].extend(repr(r) for r in results if isinstance(r, BaseException))
        return out

    queue.put(asyncio.run(run()))


def machine_busy() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine since boot (all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / tick, sum(fields[:8]) / tick


def percentiles(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"p50": None, "p99": None, "samples": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": at(0.5), "p99": at(0.99), "samples": len(ordered)}


def split_urls(values: list[str] | None) -> list[str]:
    return [u.strip().rstrip("/") for v in values or [] for u in v.split(",") if u.strip()]


def get_stats(url: str) -> dict[str, Any]:
    stats: dict[str, Any] = json.load(urllib.request.urlopen(url + "/api/motion/stats",
                                                             timeout=10))
    return stats


def relay_costs(people: int, posed: int, ticks: int = 200) -> dict[str, Any]:
    """In-process, no network: per tick, what the cluster relay adds for one room of
    ``people`` walkers (``posed`` of them with a new pose every tick): the leader encoding
    the state message, an edge decoding it and bringing its replica up to date, and the
    uplink batch of every person (encode on an edge, decode and apply on the leader)."""
    from avatar import codec as pose_codec
    from avatar.pose import Pose, TrackingState
    from rooms.interest import InterestConfig
    from server.cluster.motion_relay import (
        apply_state,
        decode_state,
        decode_uplinks,
        encode_state,
        encode_uplinks,
    )
    from server.motion.codec import encode_uplink
    from server.motion.plane import MotionPlane

    def plane() -> MotionPlane:
        made = MotionPlane(InterestConfig(), lambda room, pid, x, z, h: (x, z, h))
        made.add_room("plaza", people + 16)
        return made

    leader, edge = plane(), plane()
    rng = random.Random(1)
    pids = [f"p_{rng.getrandbits(40):010x}" for _ in range(people)]
    for i, pid in enumerate(pids):
        leader.join("plaza", pid, i + 1, rng.uniform(-25, 25), rng.uniform(-25, 25), 0.0,
                    on_stage=i < posed)
    timings: dict[str, list[float]] = {"encode": [], "decode_apply": [], "uplinks": []}
    size = batch = 0
    for t in range(ticks):
        ups = {}
        for i, pid in enumerate(pids):
            pose = pose_codec.encode(Pose(t * 50, TrackingState.TRACKED, yaw=t % 90,
                                          roll=i % 30)) if i < posed else None
            ups[("plaza", pid)] = encode_uplink(rng.uniform(-25, 25), rng.uniform(-25, 25),
                                                0.1 * t, pose)
        t0 = time.perf_counter()
        batch_data = encode_uplinks(ups)
        for room, pid, data in decode_uplinks(batch_data):
            leader.uplink(room, pid, data)
        t1 = time.perf_counter()
        state = encode_state(leader, ["plaza"])
        t2 = time.perf_counter()
        _, _, states = decode_state(state)  # (tick, leader time, rooms)
        for s in states:
            apply_state(edge, s, float(t), set())
        t3 = time.perf_counter()
        if t >= 10:  # the first ticks add every row
            timings["uplinks"].append(t1 - t0)
            timings["encode"].append(t2 - t1)
            timings["decode_apply"].append(t3 - t2)
        size, batch = len(state), len(batch_data)
    return {
        "people": people, "posed": posed, "state_bytes": size, "uplink_batch_bytes": batch,
        **{f"{k}_ms_p50": round(sorted(v)[len(v) // 2] * 1000, 3) for k, v in timings.items()},
    }


def uplink_costs(people: int, posed: int, ticks: int = 100, rounds: int = 3) -> dict[str, Any]:
    """In-process, no network: the CPU of applying one tick's uplinks of one plaza of
    ``people`` (``posed`` of them seated members with a new pose each), through the room's
    real rules (speed limit, bounds, stage, seats, the permission policy) as the server
    wires them: one uplink at a time (``MotionPlane.uplink``: decode, ``Room.move``, array
    writes; the path before issue 19's batch) against queued on arrival (``offer``) and
    applied in one batch at the tick (``apply_pending``). The process's CPU clock, the two
    alternating ``rounds`` times, so the comparison holds on a shared machine. What it
    leaves out: receiving the WebSocket message (aiohttp), the same for both paths."""
    from avatar import codec as pose_codec
    from avatar.pose import Pose, TrackingState
    from moderation import policy
    from rooms.appearance import AvatarStyle
    from rooms.interest import InterestConfig
    from rooms.layouts import default_layout
    from rooms.model import Role, RoomKind
    from rooms.room import Room, RoomInfo
    from server.motion.codec import encode_uplink
    from server.motion.plane import MotionPlane

    now = [0.0]
    room = Room(info=RoomInfo("plaza", RoomKind.PLAZA, "広場", "Plaza", people + 16),
                layout=default_layout(RoomKind.PLAZA), rng=random.Random(1))

    def move_one(_room: str, pid: str, x: float, z: float, h: float) -> tuple[float, ...]:
        p = room.participants[pid]
        room.move(pid, x, z, h, now[0], may_enter_stage=policy.may_enter_stage(p.role))
        return p.x, p.z, p.h

    def move_many(_room: str, pids: Any, x: Any, z: Any, h: Any) -> Any:
        return room.check_moves(pids, x, z, h, now[0], policy.may_enter_stage)

    plane = MotionPlane(InterestConfig(), move_one, clock=lambda: now[0],  # type: ignore[arg-type]
                        mover_many=move_many)
    plane.add_room("plaza", people + 16)
    pids = []
    for i in range(people):
        role = Role.MEMBER if i < posed else Role.CITIZEN
        p = room.join(f"p{i}", f"P{i}", role, AvatarStyle(), 0.0,
                      seated=policy.takes_seat(role))
        plane.join("plaza", p.id, p.slot, p.x, p.z, p.h, on_stage=p.seat is not None)
        pids.append(p.id)
    rng = random.Random(2)

    def uplinks(t: int) -> list[bytes]:
        out = []
        for i, pid in enumerate(pids):
            p = room.participants[pid]
            pose = pose_codec.encode(Pose(t * 50, TrackingState.TRACKED, yaw=t % 90,
                                          roll=i % 30)) if i < posed else None
            out.append(encode_uplink(p.x + rng.uniform(-0.2, 0.2), p.z + rng.uniform(-0.2, 0.2),
                                     rng.uniform(-3, 3), pose))
        return out

    cpu: dict[str, list[float]] = {"one_at_a_time": [], "batched": []}
    # Of the batch, the tick's part before its frames (applied to the plane, the moves
    # checked) and after them (the room keeping the moves), CPU per tick.
    split: dict[str, list[float]] = {"before_frames": [], "after_frames": []}
    clock = time.process_time
    for _ in range(rounds):
        for mode in cpu:
            work = [uplinks(t) for t in range(ticks)]  # made before the clock starts
            t0 = clock()
            before = after = 0.0
            for batch in work:
                now[0] += 0.05
                if mode == "batched":
                    for pid, data in zip(pids, batch, strict=True):
                        plane.offer("plaza", pid, data)
                    t1 = clock()
                    plane.apply_pending(commit=False)
                    t2 = clock()
                    plane.commit_moves()
                    before += t2 - t1
                    after += clock() - t2
                else:
                    for pid, data in zip(pids, batch, strict=True):
                        plane.uplink("plaza", pid, data)
            cpu[mode].append((clock() - t0) / (ticks * people))
            if mode == "batched":
                split["before_frames"].append(before / ticks)
                split["after_frames"].append(after / ticks)
    return {
        "people": people, "posed": posed, "ticks": ticks, "rounds": rounds,
        **{f"{mode}_us_per_uplink": [round(v * 1e6, 2) for v in values]
           for mode, values in cpu.items()},
        **{f"batch_{part}_ms_per_tick": [round(v * 1e3, 3) for v in values]
           for part, values in split.items()},
        "uplinks_rejected": plane.stats.uplinks_rejected,
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def fanout_costs(people: int, posed: int, ticks: int = 200) -> dict[str, Any]:
    """In-process, over real loopback WebSockets: the CPU of one tick of one room of
    ``people`` walkers (``posed`` of them with a new pose every tick), each with its
    ``/motion``-like WebSocket (aiohttp server side, as ``server/motion/endpoint.py`` opens
    it, and an aiohttp client that reads and drops every frame), measured with the
    process's CPU clock around :meth:`MotionPlane.tick` alone. Independent of what else
    the machine runs (the figure is CPU, not wall time), so a before/after comparison of
    the send path holds on a shared machine where the full bench cannot."""
    import aiohttp
    from aiohttp import web

    from avatar import codec as pose_codec
    from avatar.pose import Pose, TrackingState
    from rooms.interest import InterestConfig
    from server.motion.plane import MotionPlane
    from server.motion.transport import WebSocketTransport

    async def run() -> dict[str, Any]:
        plane = MotionPlane(InterestConfig(), lambda room, pid, x, z, h: (x, z, h))
        plane.add_room("plaza", people + 16)
        rng = random.Random(1)
        pids = [f"p{i}" for i in range(people)]
        where = [(rng.uniform(-25, 25), rng.uniform(-25, 25), rng.uniform(0, 6.3))
                 for _ in pids]
        tokens = {plane.join("plaza", pid, i + 1, *where[i], on_stage=i < posed): pid
                  for i, pid in enumerate(pids)}
        bound = asyncio.Event()

        async def handle(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(compress=False)
            await ws.prepare(request)
            token = (await ws.receive()).data
            plane.attach(token, WebSocketTransport(ws, request))
            if sum(len(r.transports) for r in plane.rooms.values()) == people:
                bound.set()
            async for _ in ws:
                pass
            return ws

        app = web.Application()
        app.router.add_get("/motion", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        port = bench_server.free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        received = 0

        async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:
            nonlocal received
            async for _ in ws:
                received += 1

        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        readers = []
        try:
            for token in tokens:
                ws = await http.ws_connect(f"ws://127.0.0.1:{port}/motion")
                await ws.send_str(token)
                readers.append(asyncio.create_task(drain(ws)))
            await asyncio.wait_for(bound.wait(), 30)
            cpu: list[float] = []
            for t in range(ticks):
                for i, pid in enumerate(pids):  # walking at 1.2 m/s, as the full bench
                    x, z, h = where[i]
                    h += rng.uniform(-0.3, 0.3)
                    x, z = x - math.sin(h) * 0.06, z - math.cos(h) * 0.06
                    if abs(x) > 26 or abs(z) > 26:
                        h += math.pi
                    where[i] = (x, z, h)
                    plane.place("plaza", pid, x, z, h)
                    if i < posed:
                        plane.set_pose("plaza", pid, pose_codec.encode(Pose(
                            t * 50, TrackingState.TRACKED, yaw=t % 90, roll=i % 30)))
                c0 = time.process_time()
                await plane.tick()
                cpu.append(time.process_time() - c0)
                await asyncio.sleep(0.05)  # the clients read; the sockets drain
            cpu = sorted(cpu[10:])  # the first ticks send everyone in full
            stats = plane.stats
            return {
                "people": people, "posed": posed, "ticks": ticks,
                "tick_cpu_ms_p50": round(cpu[len(cpu) // 2] * 1000, 3),
                "tick_cpu_ms_p90": round(cpu[int(len(cpu) * 0.9)] * 1000, 3),
                "frames_sent": stats.frames_sent, "frames_received": received,
                "frames_skipped_busy": stats.frames_skipped_busy,
                "bytes_per_frame": round(stats.bytes_sent / max(1, stats.frames_sent), 1),
            }
        finally:
            for task in readers:
                task.cancel()
            await http.close()
            await runner.cleanup()

    return asyncio.run(run())


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    clients = min(max(args.clients, 0), MAX_CLIENTS)
    stage = min(max(args.stage, 0), 12)
    seconds = min(max(args.seconds, 1.0), MAX_SECONDS)
    urls = split_urls(args.url)
    if urls and args.cluster:
        raise SystemExit("--cluster starts its own nodes: give --url or --cluster, not both")
    with tempfile.TemporaryDirectory() as tmp:
        # With --url, --data-dir names that server's data (for the stage's invitations).
        data_dir = args.data_dir or os.path.join(tmp, "data")
        proc = None
        cluster = None
        pids: list[int | None] = list(args.pid or [])
        if args.cluster:
            os.makedirs(data_dir, exist_ok=True)
            cluster = Cluster(data_dir, min(max(args.cluster, 1), 8), args.tick_hz)
            urls, pids = cluster.urls, list(cluster.pids)
        elif not urls:
            proc, url = start_server(data_dir, args.tick_hz)
            urls, pids = [url], [proc.pid]
        pids += [None] * (len(urls) - len(pids))
        pids = [pid if pid is not None else listening_pid(url)
                for pid, url in zip(pids, urls, strict=True)]
        redis_pid = args.redis_pid
        if cluster is not None and cluster.redis.proc is not None:
            redis_pid = cluster.redis.proc.pid
        procs: list[Any] = []
        try:
            room = args.room
            tokens = invite_tokens(data_dir, stage, room) if stage else []
            n = len(urls)
            jobs = [(i, i % n, urls[i % n], room, tokens[i] if i < stage else None,
                     (i // n) % PROBE_EVERY == 0) for i in range(clients + stage)]
            workers = max(1, min(args.workers, len(jobs)))
            lead = None if args.lead_ms < 0 else args.lead_ms / 1000
            # Each worker joins one client per join_gap (default 10 ms: 100/s per worker).
            join_gap = workers / args.join_rate if args.join_rate > 0 else 0.01
            # A join costs the server ~15-20 ms at 500 (the whole room's snapshot in its
            # acknowledgement): its CPU, not the clients' pace, decides when all have joined.
            join_time = max((join_gap + 0.002) * len(jobs) / workers,
                            0.02 * len(jobs)) + 8.0
            start_wall = time.time() + join_time + args.warmup
            stop_wall = start_wall + seconds
            queue: Any = mp.get_context("spawn").Queue()
            procs += [mp.get_context("spawn").Process(
                target=worker, args=(jobs[w::workers], args.tick_hz, start_wall,
                                     stop_wall, queue, lead, args.transport,
                                     args.client_nice, join_gap, args.full_clients))
                     for w in range(workers)]
            for p in procs:
                p.start()
            time.sleep(max(0.0, start_wall - time.time()))

            def cpus() -> list[float | None]:
                out: list[float | None] = []
                for pid in [*pids, redis_pid, *(p.pid for p in procs)]:
                    try:
                        out.append(cpu_seconds(pid) if pid else None)
                    except OSError:
                        out.append(None)
                return out

            cpu0, busy0, load0 = cpus(), machine_busy(), os.getloadavg()
            stats0 = [get_stats(url) for url in urls]
            time.sleep(max(0.0, stop_wall - time.time()))
            cpu1, busy1, load1 = cpus(), machine_busy(), os.getloadavg()
            stats1 = [get_stats(url) for url in urls]
            results = [queue.get(timeout=seconds + 120) for _ in procs]
            for p in procs:
                p.join(30)
        finally:
            for p in procs:  # after a failure (a node gone): not left waiting on the queue
                if p.is_alive():
                    p.terminate()
            if proc is not None:
                proc.terminate()
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
            if cluster is not None:
                cluster.stop()
    frames = [f for r in results for f in r["frames"]]
    nbytes = [b for r in results for b in r["bytes"]]
    nodes_of = [n for r in results for n in r["nodes"]]
    latency = [tuple(s) for r in results for s in r["latency"]]
    errors = [e for r in results for e in r["errors"]]
    late = [ms for r in results for ms in r["late"]]
    lead_ms = args.lead_ms if args.lead_ms >= 0 else None

    def rate(a: float | None, b: float | None) -> float | None:
        return round((b - a) / seconds, 3) if a is not None and b is not None else None

    per_node = []
    for n, url in enumerate(urls):
        s0, s1 = stats0[n], stats1[n]
        per_node.append({
            "url": url, "pid": pids[n], "clients": nodes_of.count(n),
            "cpu_per_s": rate(cpu0[n], cpu1[n]),
            # An edge ticks once per state message it gets from the leader.
            "ticks_per_s": round((s1["ticks"] - s0["ticks"]) / seconds, 2),
            "frames_sent_per_s": round((s1["frames_sent"] - s0["frames_sent"]) / seconds, 1),
            "bytes_sent_per_s": round((s1["bytes_sent"] - s0["bytes_sent"]) / seconds, 1),
            "uplinks_per_s": round((s1["uplinks"] - s0["uplinks"]) / seconds, 1),
            "frames_skipped_busy": s1["frames_skipped_busy"] - s0["frames_skipped_busy"],
            "uplinks_rejected": s1["uplinks_rejected"] - s0["uplinks_rejected"],
            # Replaced by a newer one of the same client before a tick applied them (a
            # server without the batched uplinks of issue 19 has no such counter: 0).
            "uplinks_overwritten": (s1.get("uplinks_overwritten", 0)
                                    - s0.get("uplinks_overwritten", 0)),
            # Poses this node's probing clients received, by the node their member is on.
            "pose_latency_ms_from": {
                f"node{m}": percentiles([ms for src, dst, ms in latency if (src, dst) == (m, n)])
                for m in range(len(urls))},
            "server": {k: v for k, v in s1.items() if "ms" in k},
        })  # fmt: skip
    node_cpus = [n["cpu_per_s"] for n in per_node]
    cpu = sum(c for c in node_cpus if c is not None) if None not in node_cpus else None
    delivered = sum(s1["frames_sent"] - s0["frames_sent"]
                    for s0, s1 in zip(stats0, stats1, strict=True))
    client_cpus = [rate(a, b) for a, b in zip(cpu0[len(urls) + 1 :], cpu1[len(urls) + 1 :],
                                              strict=True)]
    result: dict[str, Any] = {
        "clients": clients, "stage": stage, "seconds": seconds, "tick_hz": args.tick_hz,
        "client_nice": args.client_nice, "transport": args.transport,
        "lead_ms": args.lead_ms if args.lead_ms >= 0 else None,
        "connected": len(frames), "errors": errors[:5],
        # Clients on the websockets library reading every frame whole (the sample that
        # times the poses); the others count frames by their headers (bench/clients/ws_lite.py).
        "full_clients": sum(r["full"] for r in results),
        # Seconds between the last client's /motion opening and the measurement's start
        # (negative: joins, and their snapshots' CPU, ran into the measured time).
        "last_ready_before_start_s": round(start_wall - max(
            (t for r in results for t in r["ready"]), default=start_wall), 2),
        "server_cpu_per_s": round(cpu, 3) if cpu is not None else None,
        "frames_per_client_per_s": round(sum(frames) / max(1, len(frames)) / seconds, 2),
        # Every frame the server wrote, received: the clients' total against the server's.
        "frames_received_per_s": round(sum(frames) / seconds, 1),
        "frames_sent_per_s": round(delivered / seconds, 1),
        "bytes_per_client_per_s": round(sum(nbytes) / max(1, len(nbytes)) / seconds, 1),
        "max_bytes_per_client_per_s": round(max(nbytes, default=0) / seconds, 1),
        "deliveries_per_cpu_s": round(delivered / (cpu * seconds), 0) if cpu else None,
        "frames_skipped_busy": sum(n["frames_skipped_busy"] for n in per_node),
        "uplinks_rejected": sum(n["uplinks_rejected"] for n in per_node),
        "uplinks_overwritten": sum(n["uplinks_overwritten"] for n in per_node),
        "server": per_node[0]["server"] if len(urls) == 1 else None,
        # Client-side, every PROBE_EVERY-th client: a member's uplink sent to the first
        # frame carrying its pose received (one machine, one clock).
        "pose_latency_ms": percentiles([ms for _, _, ms in latency]),
        # Client-side, every aligned uplink: how late it left against the moment its
        # client aimed for (lead before a tick), and the share that left after that tick
        # had begun (later than the lead) -- each waits about a period more on the server
        # through no fault of the server's; above 1 %, the server-added p99 is a period.
        "uplink_late_ms": percentiles(late),
        "uplinks_after_their_tick_pct": (
            round(100 * sum(ms > lead_ms for ms in late) / len(late), 2)
            if late and lead_ms is not None else None),
        "ticks_per_s": per_node[0]["ticks_per_s"] if len(urls) == 1 else None,
        "redis_cpu_per_s": rate(cpu0[len(urls)], cpu1[len(urls)]),
        "clients_cpu_per_s": round(sum(c for c in client_cpus if c is not None), 3),
        "machine_busy_cores": round((busy1[0] - busy0[0]) / seconds, 2),
        "machine_cores": os.cpu_count(),
        "loadavg_1m_start_end": [round(load0[0], 2), round(load1[0], 2)],
    }  # fmt: skip
    server = result["server"] or {}
    p99 = server.get("arrival_to_send_ms_p99")
    # Issue 19's targets for the motion plane, read from the figures above.
    result["targets"] = {
        "server_added_p99_le_20ms": p99 is not None and p99 <= 20.0,
        "server_cpu_le_1_core": cpu is not None and cpu <= 1.0,
        "frames_per_client_ge_19": result["frames_per_client_per_s"] >= 19.0,
        "nothing_skipped": result["frames_skipped_busy"] == 0,
    }
    if len(urls) > 1 or cluster is not None:
        result["nodes"] = per_node
    return result


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500, help="citizens (max 1000)")
    parser.add_argument("--stage", type=int, default=12, help="tracked members (max 12)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time (max 120)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--tick-hz", type=float, default=20.0, help="motion ticks per second")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--room", default="plaza", help="room id")
    parser.add_argument("--join-rate", type=float, default=0.0,
                        help="joins per second in all (default: 100 per client process)")
    parser.add_argument("--client-nice", type=int, default=0,
                        help="niceness of the client processes (0-19)")
    parser.add_argument("--transport", choices=("websocket", "datachannel"),
                        default="websocket", help="how clients reach the motion plane")
    parser.add_argument("--full-clients", action="store_true",
                        help="every client on the websockets library, reading every frame "
                             "whole (as before the light clients; costs the machine about "
                             "a core more at 500)")
    parser.add_argument("--lead-ms", type=float, default=8.0,
                        help="send uplinks this long before the server's tick, as the page "
                             "does (negative: at a random phase, unaligned)")
    parser.add_argument("--url", action="append",
                        help="an already running server on 127.0.0.1; repeat it (or give "
                             "several, comma separated) for the nodes of one cluster: "
                             "clients are spread round-robin over them")
    parser.add_argument("--pid", type=int, action="append",
                        help="with --url: the process id of each node, in --url order, for "
                             "its CPU (default: the process listening on the URL's port)")
    parser.add_argument("--redis-pid", type=int, help="with --url: redis-server's process id")
    parser.add_argument("--cluster", type=int, default=0, metavar="N",
                        help="start redis-server and N cluster nodes (node a leads) instead "
                             "of one plain server")
    parser.add_argument("--relay-cost", type=int, default=0, metavar="PEOPLE",
                        help="instead: time the cluster relay's per-tick work in-process for "
                             "one room of PEOPLE (--stage of them posed)")
    parser.add_argument("--fanout-cost", type=int, default=0, metavar="PEOPLE",
                        help="instead: the CPU of one tick's select, assembly and send to "
                             "PEOPLE loopback WebSockets, in-process (--stage of them posed)")
    parser.add_argument("--uplink-cost", type=int, default=0, metavar="PEOPLE",
                        help="instead: the CPU per uplink of applying one plaza of PEOPLE's "
                             "uplinks one at a time and in one batch, in-process")
    parser.add_argument("--data-dir", help="with --url: that server's data folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.relay_cost:
        print_result(relay_costs(min(args.relay_cost, MAX_CLIENTS + 12), args.stage), args.json)
        return 0
    if args.uplink_cost:
        print_result(uplink_costs(min(args.uplink_cost, MAX_CLIENTS + 12), args.stage),
                     args.json)
        return 0
    if args.fanout_cost:
        print_result(fanout_costs(min(args.fanout_cost, MAX_CLIENTS + 12), args.stage),
                     args.json)
        return 0
    result = run_bench(args)
    return finish(result, args.json, failures(result))


def failures(result: dict[str, Any]) -> list[str]:
    """Why a run measured nothing that means anything (empty: it did)."""
    wanted = result["clients"] + result["stage"]
    connected = short_of("clients joined and received frames", result["connected"], wanted)
    return [
        f"{connected}; first errors: {result['errors'][:2]}" if connected else "",
        nothing("motion frames per client", result["frames_per_client_per_s"]),
        nothing("server CPU", result["server_cpu_per_s"]),
    ]


if __name__ == "__main__":
    sys.exit(main())
