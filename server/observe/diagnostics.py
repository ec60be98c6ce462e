"""``GET /api/debug/leaks``: what is alive in the process, for load and churn tests.

Proof that people who come and go leave nothing behind (issue 7, ``bench/churn.py``,
``tests/integration/test_churn.py``) needs counts the metrics do not carry: the hub's
sessions, the meetings' seats, the motion plane's rows and tokens, the audio plane's peers,
python-socketio's per-socket state, the event loop's tasks and, after a full garbage
collection, how many objects of the types a leak would leave (sessions, participants,
``RTCPeerConnection``, WebSockets...). Each component is read through its public
``counts()``, never its private containers (tests/integration/test_diagnostics_counts.py).

Off unless the ``debug_endpoints`` setting is on (the route is not even registered), and
then answered to loopback peers only, never through a proxy. Counts and type names only:
no participant id, name or address. ``?gc=1`` adds the object counts: a full collection
and a walk over every object hold the interpreter for tens of milliseconds to a few
hundred (the heap's size), so it is for tests and benchmarks, not for scraping.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from server.common.networks import allowed, parse_networks, through_untrusted_proxy
from server.config.settings import Settings
from server.observe.metrics import process_collectors, process_families
from server.sockets.hub import socketio_counts

if TYPE_CHECKING:
    import socketio

    from server.audio.api import AudioApi
    from server.meetings.service import MeetingService
    from server.motion.service import MotionService
    from server.sockets.hub import Hub
    from server.tracking.api import FaceTracking

DEBUG_LEAKS_PATH = "/api/debug/leaks"
LOOPBACK = parse_networks(("127.0.0.0/8", "::1/128"))

#: Types counted after a collection (module.qualname): what one visitor creates on the
#: server and must not outlive them.
WATCHED_TYPES = (
    "server.sockets.hub.Session",
    "server.meetings.seats.Seat",
    "rooms.model.Participant",
    "moderation.roster.Person",
    "server.motion.transport.WebSocketTransport",
    "server.motion.transport.DataChannelTransport",
    "server.audio.plane._Uplink",
    "server.audio.plane._Listener",
    "server.audio.forward.ForwardedAudioTrack",
    "aiortc.rtcpeerconnection.RTCPeerConnection",
    "aiortc.rtcdtlstransport.RTCDtlsTransport",
    "aiortc.rtcicetransport.RTCIceTransport",
    "aiortc.rtcsctptransport.RTCSctpTransport",
    "aiortc.rtcdatachannel.RTCDataChannel",
    "aioice.ice.Connection",
    "aiohttp.web_ws.WebSocketResponse",
    "aiohttp.web_protocol.RequestHandler",
    "engineio.async_socket.AsyncSocket",
    "_asyncio.Task",
)


@dataclass(frozen=True)
class LeakSources:
    """The live objects of one process whose contents a leak would grow."""

    hub: Hub
    sio: socketio.AsyncServer
    meetings: MeetingService
    motion: MotionService
    audio: AudioApi
    tracking: FaceTracking


def task_counts() -> dict[str, Any]:
    """Tasks of the running loop, in all and by coroutine (to name a leaking one)."""
    names: Counter[str] = Counter()
    tasks = asyncio.all_tasks()
    for task in tasks:
        coro = task.get_coro()
        names[getattr(coro, "__qualname__", type(coro).__name__)] += 1
    return {"tasks": len(tasks), "by_coroutine": dict(names.most_common())}


def object_counts() -> dict[str, Any]:
    """A full collection, then the live objects of :data:`WATCHED_TYPES` (blocking)."""
    started = time.perf_counter()
    collected = gc.collect()
    wanted = set(WATCHED_TYPES)
    counts = dict.fromkeys(WATCHED_TYPES, 0)
    everything = gc.get_objects()
    # Counted by type first (at C speed), named after: one name per type, not per object.
    for kind, n in Counter(map(type, everything)).items():
        name = f"{kind.__module__}.{kind.__qualname__}"
        if name in wanted:
            counts[name] += n
    return {
        "collected": collected,
        "tracked": len(everything),
        "uncollectable": len(gc.garbage),
        "seconds": round(time.perf_counter() - started, 3),
        "counts": counts,
    }


def live_counts(sources: LeakSources) -> dict[str, Any]:
    """Per-person state of every part of the server (cheap: sizes of containers), each
    read through its owner's public ``counts()``, in the shape of ``/api/debug/leaks``."""
    hub = sources.hub.counts()
    meetings = sources.meetings.counts()
    sio = socketio_counts(sources.sio)
    motion = sources.motion.counts()
    audio = sources.audio.counts()
    tracking = sources.tracking.counts()
    process = {f.name: f.samples[0].value
               for f in process_families(process_collectors()) if f.samples}
    return {
        "process": {
            "rss_bytes": process.get("process_resident_memory_bytes"),
            "open_fds": process.get("process_open_fds"),
            "threads": threading.active_count(),
            # Python's own heap, whatever the allocator keeps of its high-water mark.
            "allocated_blocks": sys.getallocatedblocks(),
            "pid": os.getpid(),
        },
        "asyncio": task_counts(),
        "hub": {
            "sessions": hub.sessions,
            "participants": hub.participants,
            "by_room": dict(hub.by_room),
        },
        "meetings": {
            "seats": meetings.seats,
            "people": meetings.people,
            "lobby": meetings.lobby,
            "floor_queue": meetings.floor_queue,
        },
        "socketio": {
            "engineio_sockets": sio.engineio_sockets,
            "environ": sio.environ,
            "rooms": sio.rooms,
            "memberships": sio.memberships,
        },
        "motion": {
            "rows": motion.plane.rows,
            "pids": motion.plane.pids,
            "transports": motion.plane.transports,
            "tokens": motion.plane.tokens,
            "token_index": motion.plane.token_index,
            "datachannel_peers": motion.channels.peers,
            # Every clean-up the motion side has running: leavers' and the data channels'.
            "tasks": motion.closing + motion.channels.tasks,
            "latency_samples": motion.plane.latency_samples,
        },
        "audio": {
            "uplinks": audio.plane.uplinks,
            "listeners": audio.plane.listeners,
            "publishing": audio.publishing,
            "listening": audio.listening,
            "slot_counts": audio.slot_counts,
            "positions": audio.plane.positions,
            "routes": audio.plane.routes,
            "tasks": audio.tasks,
        },
        "tracking": {"sessions": tracking.sessions},
        # Not per-person state: the audio caps and what they refused (issue 14, finding 9).
        "audio_limits": dataclasses.asdict(sources.audio.limits()),
    }


def leaks_handler(sources: LeakSources) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The ``GET /api/debug/leaks`` handler (loopback peers only)."""

    async def handle(request: web.Request) -> web.Response:
        if through_untrusted_proxy(request):
            raise web.HTTPForbidden(text="debug endpoints are not served through a proxy")
        if not allowed(request.remote, LOOPBACK):
            raise web.HTTPForbidden(text="debug endpoints are served to loopback only")
        # The collection first, so that the memory and task figures are taken after it.
        objects = object_counts() if request.query.get("gc") == "1" else None
        body = live_counts(sources)
        if objects is not None:
            body["objects"] = objects
        return web.json_response(body)

    return handle


def add_diagnostics_route(app: web.Application, settings: Settings, sources: LeakSources) -> None:
    """Register ``GET /api/debug/leaks`` if the ``debug_endpoints`` setting is on."""
    if settings.debug_endpoints:
        app.router.add_get(DEBUG_LEAKS_PATH, leaks_handler(sources))
