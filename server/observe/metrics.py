"""``GET /metrics``: the process's state in the Prometheus text format (version 0.0.4).

Hiroba's own figures are written by hand: they already live in the hub and the planes, and
rendering them is a few string joins per scrape. One function per source turns it into
:class:`Family` values; :func:`render` writes them out. The standard ``process_*`` and
``python_*`` figures (CPU seconds, memory, open and maximum file descriptors, start time,
garbage collection) come from ``prometheus_client``'s own collectors, turned into the same
:class:`Family` values, so that dashboards made for any Python service work unchanged.

Durations are histograms (:mod:`server.common.histogram`), not summaries: bucket counts of several
nodes add up, quantiles computed in each process do not.

Labels carry room ids, roles and tracking modes only — never a participant's id, name or
address — so a scrape can be stored anywhere without becoming personal data.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

from moderation.credentials import DeviceMinter
from rooms.model import Role, TrackingMode
from server.audio.plane import AudioPlane
from server.captions.service import LiveCaptions
from server.common.histogram import Histogram
from server.common.networks import allowed, parse_networks, through_untrusted_proxy
from server.gallery.plane import GalleryPlane
from server.http.connections import ConnectionGuard
from server.http.rate_limits import RateLimiter
from server.motion.plane import MotionPlane, MotionStats
from server.recording.minutes_cache import MinutesCache
from server.sockets.hub import Hub, HubCounts
from server.staff.auth import AccountBackoff
from server.tracking.pipeline import CameraTracking

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRICS_PATH = "/metrics"

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Sample:
    """One line: ``name+suffix{labels} value``."""

    value: float
    labels: Labels = ()
    suffix: str = ""


@dataclass(frozen=True, slots=True)
class Family:
    """A metric with its HELP and TYPE (``counter``, ``gauge``, ``histogram`` ...)."""

    name: str
    kind: str
    help: str
    samples: list[Sample] = field(default_factory=list)


def escape_label(value: str) -> str:
    """A label value as the text format wants it: backslash, quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """HELP text escapes backslash and newline only (quotes stay as they are)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """Integers without a decimal point; NaN and infinities as Prometheus spells them."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def render(families: Iterable[Family]) -> str:
    """The exposition text of ``families``, ending with a newline."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for s in family.samples:
            labels = ""
            if s.labels:
                inner = ",".join(f'{k}="{escape_label(v)}"' for k, v in s.labels)
                labels = "{" + inner + "}"
            lines.append(f"{family.name}{s.suffix}{labels} {format_value(s.value)}")
    return "\n".join(lines) + "\n"


def histogram_family(name: str, text: str, histogram: Histogram) -> Family:
    """A ``histogram`` family: cumulative ``_bucket{le}`` samples up to ``le="+Inf"``, then
    ``_sum`` and ``_count``."""
    samples = [Sample(n, (("le", format_value(bound)),), "_bucket")
               for bound, n in histogram.cumulative()]  # fmt: skip
    samples.append(Sample(histogram.sum, suffix="_sum"))
    samples.append(Sample(histogram.count, suffix="_count"))
    return Family(name, "histogram", text, samples)


# --- one function per source -----------------------------------------------------------
def hub_families(counts: HubCounts) -> list[Family]:
    """Rooms, participants by room, role and tracking mode, sockets, recordings."""
    # Every combination is written, zeros included, so that series do not vanish and
    # reappear as people come and go (an absent series is not the same as 0 in queries).
    participants = Family(
        "hiroba_participants", "gauge", "Participants in a room by role and tracking mode."
    )
    recording = Family(
        "hiroba_recording_active", "gauge", "1 while the room is being recorded, else 0."
    )
    for room_id in sorted(counts.by_room):
        for role in Role:
            for mode in TrackingMode:
                n = counts.by_kind.get((room_id, role, mode), 0)
                labels = (("room", room_id), ("role", role.value), ("tracking", mode.value))
                participants.samples.append(Sample(n, labels))
        active = 1 if room_id in counts.recording else 0
        recording.samples.append(Sample(active, (("room", room_id),)))
    return [
        Family("hiroba_rooms", "gauge", "Rooms served by this process.",
               [Sample(len(counts.by_room))]),
        participants,
        Family("hiroba_sockets", "gauge", "Connected socket.io sessions, joined or not.",
               [Sample(counts.sessions)]),
        recording,
    ]  # fmt: skip


def motion_families(stats: MotionStats) -> list[Family]:
    """The motion plane's tick and frame counters."""
    tick = histogram_family(
        "hiroba_motion_tick_seconds", "Duration of a motion tick.", stats.tick_histogram
    )

    def counter(name: str, text: str, value: int) -> Family:
        return Family(name, "counter", text, [Sample(value)])

    return [
        counter("hiroba_motion_ticks_total", "Motion ticks run.", stats.ticks),
        tick,
        counter("hiroba_motion_frames_sent_total", "Motion frames written to clients.",
                stats.frames_sent),
        counter("hiroba_motion_frames_skipped_total",
                "Motion frames not sent because the client was still busy with earlier ones.",
                stats.frames_skipped_busy),
        counter("hiroba_motion_bytes_sent_total", "Bytes of motion frames written.",
                stats.bytes_sent),
        counter("hiroba_motion_uplinks_total", "Motion uplinks received.", stats.uplinks),
        counter("hiroba_motion_uplinks_rejected_total", "Motion uplinks rejected as malformed.",
                stats.uplinks_rejected),
    ]  # fmt: skip


def audio_families(plane: AudioPlane) -> list[Family]:
    """Open microphones and listeners, and packets forwarded or dropped since start."""
    uplinks, listeners, forwarded, dropped = plane.totals()
    refused = plane.refusals()
    return [
        Family("hiroba_audio_uplinks", "gauge", "Open microphone (uplink) peers.",
               [Sample(uplinks)]),
        Family("hiroba_audio_listeners", "gauge", "Open listener peers.", [Sample(listeners)]),
        Family("hiroba_audio_packets_forwarded_total", "counter",
               "Opus packets forwarded to listeners.", [Sample(forwarded)]),
        Family("hiroba_audio_packets_dropped_total", "counter",
               "Opus packets dropped for listeners that could not keep up.", [Sample(dropped)]),
        Family("hiroba_audio_offers_refused_total", "counter",
               "Audio offers refused for a cap: audio_full (the node's), address_limit "
               "(one client address's).",
               [Sample(refused.get(reason, 0), (("reason", reason),))
                for reason in ("audio_full", "address_limit")]),
    ]  # fmt: skip


def login_families(backoff: AccountBackoff) -> list[Family]:
    """Staff accounts' login back-offs begun, and attempts refused during one, since start:
    a rise means someone is guessing passwords (the log names the account)."""
    return [
        Family("hiroba_staff_login_backoffs_total", "counter",
               "Staff accounts backed off after repeated wrong passwords.",
               [Sample(backoff.bursts)]),
        Family("hiroba_staff_login_backoff_refused_total", "counter",
               "Staff login attempts refused because the account was backed off.",
               [Sample(backoff.refused)]),
    ]  # fmt: skip


def edge_families(limiter: RateLimiter, guard: ConnectionGuard,
                  minutes: MinutesCache) -> list[Family]:
    """What the HTTP edge refused and what the minutes cost, since start (docs/security.md,
    issue 14 findings 5 and 8): a rise in refusals is one address asking too much, or a
    proxy missing from trusted_proxies."""
    return [
        Family("hiroba_http_rate_limited_total", "counter",
               "HTTP requests answered 429 for their address's budget, by route class.",
               [Sample(n, (("class", kind),)) for kind, n in sorted(limiter.refused.items())]),
        Family("hiroba_tcp_connections_refused_total", "counter",
               "TCP connections closed on accept: their address held its share.",
               [Sample(guard.counts.refused)]),
        Family("hiroba_tcp_header_timeouts_total", "counter",
               "TCP connections closed for not sending request headers in time.",
               [Sample(guard.counts.timed_out)]),
        Family("hiroba_minutes_builds_total", "counter",
               "Minutes documents built from a recording's files.",
               [Sample(minutes.builds)]),
        Family("hiroba_minutes_cache_hits_total", "counter",
               "Minutes requests answered from memory.", [Sample(minutes.hits)]),
    ]  # fmt: skip


def caption_families(captions: LiveCaptions) -> list[Family]:
    """Automatic captions (issue 17): lines posted, and what was dropped rather than
    delayed (docs/security.md: a flood of audio cannot grow a queue)."""
    s = captions.stats()
    return [
        Family("hiroba_auto_captions_total", "counter",
               "Automatic caption lines posted.", [Sample(s["captions"])]),
        Family("hiroba_auto_captions_dropped_total", "counter",
               "Speech not captioned: packets when the worker's pipe was full or it was "
               "starting, phrases when it was behind (oldest first) or they waited too long.",
               [Sample(s["packets_dropped"], (("what", "packets"),)),
                Sample(s["phrases_dropped"], (("what", "phrases"),)),
                Sample(s["phrases_stale"], (("what", "stale"),))]),
        Family("hiroba_auto_captions_worker_restarts_total", "counter",
               "Times the captions worker process ended and was started again.",
               [Sample(s["restarts"])]),
        Family("hiroba_auto_captions_worker_cpu_seconds_total", "counter",
               "CPU seconds the captions worker spent recognising phrases.",
               [Sample(s["worker_cpu_seconds"])]),
        Family("hiroba_auto_captions_audio_seconds_total", "counter",
               "Seconds of speech the captions worker recognised.", [Sample(s["audio_seconds"])]),
    ]  # fmt: skip


def gallery_families(gallery: GalleryPlane) -> list[Family]:
    """The public gallery plane (issue 19): viewers per room now and their peak, frames
    built, writes, bytes, frames skipped for a busy viewer and viewers cut off."""
    s = gallery.stats
    rooms = sorted(gallery.rooms.values(), key=lambda g: g.id)
    return [
        Family("hiroba_gallery_viewers", "gauge", "Gallery-plane viewers connected now.",
               [Sample(len(g.viewers), (("room", g.id),)) for g in rooms]),
        Family("hiroba_gallery_viewers_peak", "gauge",
               "Most gallery-plane viewers of a room at once on this node since start.",
               [Sample(g.peak, (("room", g.id),)) for g in rooms]),
        Family("hiroba_gallery_frames_total", "counter",
               "Gallery frames built (one per room per frame period).", [Sample(s.frames)]),
        Family("hiroba_gallery_writes_total", "counter",
               "Gallery frames written to a viewer.", [Sample(s.writes)]),
        Family("hiroba_gallery_bytes_total", "counter",
               "Bytes of gallery frames written to viewers.", [Sample(s.bytes)]),
        Family("hiroba_gallery_skipped_total", "counter",
               "Gallery frames not written to a viewer whose connection was still busy.",
               [Sample(s.skipped)]),
        Family("hiroba_gallery_cut_off_total", "counter",
               "Gallery viewers disconnected after not reading for too long.",
               [Sample(s.cut_off)]),
    ]  # fmt: skip


def device_families(minter: DeviceMinter) -> list[Family]:
    """Device identities issued (per room) and refused for their address's allowance, since
    start: a steep rise in one room is a surge of new browsers, or someone rotating
    identities (the log says when a room passes ``device_surge_per_minute``)."""
    return [
        Family("hiroba_device_identities_minted_total", "counter",
               "New signed device identities issued, by room.",
               [Sample(n, (("room", room),))
                for room, n in sorted(minter.per_room.totals.items())]),
        Family("hiroba_device_identities_refused_total", "counter",
               "Joins refused a new device identity: their address had its allowance.",
               [Sample(minter.refused)]),
    ]  # fmt: skip


def tracking_families(camera: CameraTracking) -> list[Family]:
    """Server-side tracking sessions and the tracker's latency."""
    latency = histogram_family(
        "hiroba_tracker_seconds",
        "Server-side tracking, camera frame arrival to pose, every session since start.",
        camera.latency,
    )
    return [
        Family("hiroba_tracking_sessions", "gauge", "Open server-side face-tracking sessions.",
               [Sample(camera.counts().sessions)]),
        latency,
    ]  # fmt: skip


def process_collectors(proc: str = "/proc") -> CollectorRegistry:
    """prometheus_client's standard collectors, in a registry of their own (not the
    library's global one, which a second app in the same process would collide with):
    ``process_*`` from ``proc`` (Linux procfs; nothing elsewhere), ``python_info`` and
    ``python_gc_*``."""
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(proc=proc, registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def process_families(registry: CollectorRegistry) -> list[Family]:
    """The collectors' figures as :class:`Family` values. procfs is generated in memory by
    the kernel: reading it does not wait on a disk."""
    families: list[Family] = []
    for metric in registry.collect():
        # prometheus_client names a counter without its _total (its samples carry it);
        # the 0.0.4 text format names the family by the sample. _created is left out:
        # 0.0.4 has no place for it.
        name = metric.name + "_total" if metric.type == "counter" else metric.name
        kind = metric.type if metric.type in ("counter", "gauge", "histogram") else "untyped"
        samples = [
            Sample(s.value, tuple(sorted(s.labels.items())), s.name[len(name):])
            for s in metric.samples
            if s.name.startswith(name) and not s.name.endswith("_created")
        ]
        families.append(Family(name, kind, metric.documentation, samples))
    return families


@dataclass(frozen=True)
class MetricsSources:
    """Where the figures come from: the live objects of one process."""

    hub: Hub
    motion: MotionPlane
    audio: AudioPlane
    camera: CameraTracking
    login: AccountBackoff | None = None
    devices: DeviceMinter | None = None
    edge: tuple[RateLimiter, ConnectionGuard, MinutesCache] | None = None
    captions: LiveCaptions | None = None
    gallery: GalleryPlane | None = None
    process: CollectorRegistry = field(default_factory=process_collectors)

    def families(self) -> list[Family]:
        return [
            *hub_families(self.hub.counts()),
            *motion_families(self.motion.stats),
            *audio_families(self.audio),
            *tracking_families(self.camera),
            *(login_families(self.login) if self.login is not None else []),
            *(device_families(self.devices) if self.devices is not None else []),
            *(edge_families(*self.edge) if self.edge is not None else []),
            *(caption_families(self.captions) if self.captions is not None else []),
            *(gallery_families(self.gallery) if self.gallery is not None else []),
            *process_families(self.process),
        ]


# --- access ------------------------------------------------------------------------------
def metrics_handler(
    allow: Sequence[str], sources: MetricsSources
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The ``GET /metrics`` handler, serving peers inside ``allow`` (CIDR strings) only."""
    networks = parse_networks(allow)

    async def handle(request: web.Request) -> web.Response:
        if through_untrusted_proxy(request):
            raise web.HTTPForbidden(
                text="metrics are not served through a proxy: scrape the server directly"
            )
        if not allowed(request.remote, networks):
            raise web.HTTPForbidden(text="metrics are served to the metrics_allow networks only")
        body = render(sources.families())
        return web.Response(body=body.encode(), headers={"Content-Type": CONTENT_TYPE})

    return handle


def add_metrics_route(app: web.Application, allow: Sequence[str], sources: MetricsSources) -> None:
    """Register ``GET /metrics`` on ``app``."""
    app.router.add_get(METRICS_PATH, metrics_handler(allow, sources))
