"""The application factory: wires settings, store, hub, sockets, ticker and routes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import socketio
from aiohttp import web

from rooms.model import Participant, RoomKind
from rooms.room import Room
from server.audio.api import AudioApi
from server.avatars.routes import AvatarsHttp
from server.avatars.store import AvatarStore
from server.captions.service import LiveCaptions
from server.cluster.node import ClusterNode
from server.cluster.sio_server import ClusterServer
from server.config.secret import load_or_create_secret, read_secret
from server.config.settings import Settings
from server.console.routes import MEETINGS_KEY, add_staff_routes
from server.gallery.endpoint import GALLERY_WS_PATH, gallery_handler
from server.gallery.plane import GalleryLimits, GalleryPlane
from server.gallery.relay import GalleryRelay
from server.gallery.staff import add_gallery_routes
from server.gallery.state import GalleryState
from server.http.connections import CONNECTION_GUARD_KEY, ConnectionGuard
from server.http.forwarded import forwarded_client_middleware
from server.http.rate_limits import HEAVY, MEDIA, RateLimiter, rate_limit_middleware
from server.http.routes import CLIENT_KEY, HUB_KEY, add_routes, error_middleware
from server.http.security import (
    content_security_policy,
    import_map,
    polling_body_limit_middleware,
    security_headers_middleware,
)
from server.http.static_files import client_files
from server.identity.api import IdentityApi
from server.meetings.api import MeetingApi
from server.meetings.closed import GALLERY_PLANE
from server.meetings.seed import seed_meetings
from server.meetings.service import MeetingService
from server.motion.endpoint import motion_handler
from server.motion.service import MOTION_PATH, MotionService
from server.observe.diagnostics import LeakSources, add_diagnostics_route
from server.observe.metrics import MetricsSources, add_metrics_route
from server.observe.readiness import add_readiness_route, readiness_checks
from server.plaza.api import JoinExtra, SocketApi
from server.plaza.ticker import Ticker
from server.recording.archive_search import ArchiveSearch
from server.recording.correction_routes import add_correction_routes
from server.recording.routes import add_recording_routes
from server.recording.service import RecordingService
from server.recording.staff_routes import add_staff_record_routes
from server.recording.transcript_routes import add_transcript_routes
from server.rtc.browser_ice import BrowserIce, load_browser_ice
from server.sockets.hub import Hub
from server.sockets.packets import GuardedPacket
from server.sockets.registry import registrar
from server.storage.seed import seed_demo
from server.storage.store import SQLiteStore, Store
from server.tracking.api import FaceTracking
from server.tracking.model_fetch import model_path
from server.tracking.model_route import add_model_route
from server.tracking.pipeline import PipelineFactory
from server.transcription.edit_store import EditStore

log = logging.getLogger(__name__)

STORE_KEY = web.AppKey("store", Store)
SIO_KEY = web.AppKey("sio", socketio.AsyncServer)
TRACKING_KEY = web.AppKey("tracking", FaceTracking)
AUDIO_KEY = web.AppKey("audio", AudioApi)
IDENTITY_KEY = web.AppKey("identity", IdentityApi)
RECORDINGS_KEY = web.AppKey("recordings", RecordingService)
CAPTIONS_KEY = web.AppKey("captions", LiveCaptions)
RATE_LIMITS_KEY = web.AppKey("rate_limits", RateLimiter)
CLUSTER_KEY = web.AppKey("cluster", ClusterNode)
GALLERY_KEY = web.AppKey("gallery", GalleryPlane)


def origin_check(extra: tuple[str, ...]) -> Callable[[str | None, dict[str, Any]], bool]:
    """Sockets may be opened from the page's own origin and from configured ones only."""
    allowed = frozenset(extra)

    def check(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None:
            return True  # not a browser: no ambient credentials to abuse
        # engineio's aiohttp driver reports 'http' even over TLS, and takes
        # X-Forwarded-Proto from anyone: ask the request itself (a trusted proxy's scheme
        # is already in it, see server/http/forwarded.py).
        request = environ.get("aiohttp.request")
        if request is not None:
            scheme = "https" if request.secure else "http"
        else:
            scheme = environ.get("wsgi.url_scheme", "http")
        own = f"{scheme}://{environ.get('HTTP_HOST', '')}"
        return origin == own or origin in allowed

    return check


def motion_origin_check(extra: tuple[str, ...]) -> Callable[[str | None, str], bool]:
    """The motion WebSocket follows the same origin rule as socket.io."""
    allowed = frozenset(extra)

    def check(origin: str | None, own: str) -> bool:
        return origin is None or origin == own or origin in allowed

    return check


def _wire_cluster(
    app: web.Application,
    settings: Settings,
    sio: socketio.AsyncServer,
    hub: Hub,
    motion: MotionService,
    meetings: MeetingService,
    audio: AudioApi,
    recordings: RecordingService,
    avatars: AvatarStore,
    gallery: GalleryPlane,
    gallery_state: GalleryState,
) -> ClusterNode | None:
    """With a Redis URL, this node joins a cluster: its ClusterNode, wired to the services
    it forwards for and promotes; None when the process serves alone."""
    cluster: ClusterNode | None = None
    if isinstance(sio, ClusterServer):
        async def promote(secret: bytes) -> None:
            # This node takes over as the cluster's leader (the last one stopped).
            await meetings.load(secret)
            await avatars.load()  # approvals the old leader made since this node started
            await recordings.open()
            meetings.start()
            motion.start()

        node = cluster = ClusterNode(settings, hub, motion.plane, trigger=sio.trigger_here,
                                     disconnect=sio.disconnect, audio=audio, promote=promote)
        # The one assignment left: the node runs events through this server's handlers,
        # so the server can only learn of the node after both exist.
        sio.route_events_through(node)
        motion.plane.add_tick_listener(node.publish_state)  # the node needs the plane
        # Every node's public gallery draws the meeting rooms' stages from its own plane:
        # their state goes to every node, not only where their people's sockets are.
        node.motion.watched = lambda: [r.id for r in hub.rooms.values()
                                       if r.kind is not RoomKind.PLAZA]
        meetings.resume_listeners.append(node.resume_issued)
        meetings.closed.listeners.append(node.withheld_changed)  # edges hold out too
        # Gallery viewers of every node are counted in the leader's committee gallery.
        # The leader's plane counts the other nodes' viewers too, and every node tells its
        # own viewers the leader's count.
        node.gallery_counted = meetings.gallery_presence
        gallery.count_listeners.append(node.gallery_count)
        gallery.presence_listeners[:] = [node.gallery_presence]
        # The meeting's public state reaches the other nodes' viewers through the leader's
        # GalleryState; their hands reach its staff, its promotions their sockets.
        node.gallery = GalleryRelay(gallery, gallery_state)
        gallery_state.follower = lambda: not node.is_leader
        gallery_state.publish = node.gallery_public
        gallery_state.ask = node.gallery_ask
        gallery.deliver_elsewhere = node.gallery_deliver
        gallery.request_listeners.append(node.gallery_requests_changed)
        app[CLUSTER_KEY] = node
        app.middlewares.append(node.http.middleware)
    return cluster


@dataclass(frozen=True)
class Components:
    """The long-lived parts of one server process."""

    hub: Hub
    store: SQLiteStore
    meetings: MeetingService
    recordings: RecordingService
    motion: MotionService
    tracking: FaceTracking
    audio: AudioApi
    ticker: Ticker
    #: Identity-check video (本人確認): members' cameras to the chair and staff only.
    identity: IdentityApi
    #: Live automatic captions (issue 17): the speakers' packets to a worker process.
    captions: LiveCaptions
    #: Uploaded VRM avatars (issue 18): files, rows, and which model each person wears.
    avatars: AvatarStore
    #: The public gallery plane (issue 19): watch-only viewers over one WebSocket each.
    gallery: GalleryPlane
    gallery_state: GalleryState


def build_components(
    settings: Settings, sio: socketio.AsyncServer, pipeline_factory: PipelineFactory | None
) -> Components:
    """Every component, each given what it needs at construction, in dependency order."""
    hub = Hub(settings)
    store = SQLiteStore(settings.database_path)
    # Whoever joins as an invited member or staff wears their approved VRM model.
    avatars = AvatarStore(store, settings.data_dir / "avatars")
    meetings = MeetingService(settings, hub, sio, store, avatar_of=avatars.model_of)
    # The recorder reads the motion plane every tick and hears every forwarded Opus packet:
    # built before both planes, so that each is given its feed at construction.
    recordings = RecordingService(settings, hub, sio, meetings, store)
    motion = MotionService(settings, hub, tick_listeners=(recordings.on_motion,))
    tracking = FaceTracking(settings, sio, hub, motion.plane, pipeline_factory)
    # Every forwarded Opus packet goes to the recorder and to the automatic captions
    # (each takes its rooms' speakers only, cheaply, on the loop).
    captions = LiveCaptions(settings, hub, meetings)
    meetings.change_listeners.append(captions.on_change)
    # The public gallery: the motion plane's stage and the floor's Opus packets, fanned out
    # once per frame to every viewer (the floor as the audio plane routes it: on a cluster
    # edge the leader's word).
    gallery = GalleryPlane(
        GalleryLimits(frame_ms=settings.gallery_frame_ms, busy_bytes=settings.gallery_busy_bytes,
                      max_per_room=settings.gallery_max_per_room,
                      max_per_node=settings.gallery_max_per_node,
                      per_address=settings.gallery_viewers_per_address,
                      cut_seconds=settings.gallery_cut_seconds),
        motion.plane,
        speakers_of=lambda room: audio.plane.floor_speakers(room),
        # (Read from the audio plane's held-out set: a cluster edge has it from the
        # leader's word, and no meetings.)
        closed_of=lambda room: GALLERY_PLANE in audio.plane.held_out(room))
    gallery_state = GalleryState(gallery, hub, settings.gallery_frame_ms,
                                 audio_lag_ms=settings.gallery_audio_lag_ms)
    meetings.change_listeners.append(gallery_state.changed)
    meetings.event_listeners.append(gallery_state.on_events)
    # (A cluster node counts them at its leader instead: _wire_cluster.)
    gallery.presence_listeners.append(meetings.gallery_presence)

    def on_packet(room: str, speaker: str, payload: bytes, timestamp: int) -> None:
        recordings.on_packet(room, speaker, payload, timestamp)
        captions.on_packet(room, speaker, payload, timestamp)
        gallery.on_packet(room, speaker, payload, timestamp)

    audio = AudioApi(settings, sio, hub, meetings, on_packet=on_packet)
    # A closed session (秘密会): those held out hear no speaker and get no motion frame.
    meetings.closed.listeners += [audio.plane.set_withheld, motion.plane.set_withheld,
                                  gallery_state.closed_changed]
    return Components(hub, store, meetings, recordings, motion, tracking, audio,
                      Ticker(sio, hub), IdentityApi(settings, sio, hub, meetings), captions,
                      avatars, gallery, gallery_state)


def socket_server(settings: Settings) -> socketio.AsyncServer:
    """The socket.io server: one process's, or a cluster node's with a Redis URL."""
    options: dict[str, Any] = {
        "async_mode": "aiohttp",
        "cors_allowed_origins": origin_check(settings.allowed_origins),
        "max_http_buffer_size": settings.max_message_bytes,
        # Undecodable or over-deep packets end their socket instead of raising inside
        # python-socketio (server/sockets/packets.py).
        "serializer": GuardedPacket,
        "ping_interval": 20,
        "ping_timeout": 20,
        "logger": False,
        "engineio_logger": False,
    }
    if settings.redis_url:
        # Broadcasts, room membership and disconnects reach sockets on every node.
        manager = socketio.AsyncRedisManager(settings.redis_url, channel="hiroba:sio")
        return ClusterServer(client_manager=manager, **options)
    return socketio.AsyncServer(**options)


def bind_sockets(
    sio: socketio.AsyncServer, parts: Components, join_extras: Sequence[JoinExtra]
) -> None:
    """Every socket-facing component registers its events the one way, ``bind(register)``
    (server/sockets/registry.py)."""
    api = SocketApi(sio, parts.hub, parts.meetings, parts.motion, join_extras)
    # Every event of a staff seat first has its login checked (issue 14, finding 4).
    register = parts.meetings.vetted(registrar(sio, parts.hub))
    for part in (api, MeetingApi(parts.meetings), parts.recordings, parts.tracking,
                 parts.motion, parts.audio, parts.identity):
        part.bind(register)


def turn_credentials(browser_ice: BrowserIce) -> JoinExtra:
    """The join ack's ``ice`` part."""

    def ice_extra(_room: Room, person: Participant) -> dict[str, object]:
        # Every join, rejoin and admission: fresh TURN credentials for this person.
        return {"ice": {"iceServers": browser_ice.servers(person.id, time.time())}}

    return ice_extra


def add_all_routes(
    app: web.Application, settings: Settings, sio: socketio.AsyncServer, parts: Components,
    cluster: ClusterNode | None,
) -> None:
    """The HTTP routes, in the order aiohttp matches them, and the keys handlers read."""
    hub, motion, audio, tracking, meetings = (
        parts.hub, parts.motion, parts.audio, parts.tracking, parts.meetings)
    client = app[CLIENT_KEY]
    app[HUB_KEY], app[STORE_KEY], app[SIO_KEY] = hub, parts.store, sio
    app[TRACKING_KEY], app[MEETINGS_KEY], app[AUDIO_KEY] = tracking, meetings, audio
    app[RECORDINGS_KEY] = parts.recordings
    app[IDENTITY_KEY] = parts.identity
    app[CAPTIONS_KEY] = parts.captions
    app[GALLERY_KEY] = parts.gallery
    add_routes(app)
    add_model_route(app, model_path(settings))
    app.router.add_get(
        MOTION_PATH,
        motion_handler(
            motion.plane, settings.motion_hz, motion_origin_check(settings.allowed_origins)
        ),
    )
    app.router.add_get("/api/motion/stats", motion.stats)
    app.router.add_get(GALLERY_WS_PATH, gallery_handler(
        parts.gallery, parts.gallery_state, hub, settings.ipv6_limit_prefix,
        motion_origin_check(settings.allowed_origins)))
    add_gallery_routes(app, parts.gallery)
    add_metrics_route(
        app,
        settings.metrics_allow,
        MetricsSources(hub, motion.plane, audio.plane, tracking.camera, meetings.auth.backoff,
                       devices=meetings.devices,
                       edge=(app[RATE_LIMITS_KEY], app[CONNECTION_GUARD_KEY],
                             parts.recordings.minutes),
                       captions=parts.captions, gallery=parts.gallery),
    )
    add_diagnostics_route(app, settings, LeakSources(hub, sio, meetings, motion, audio, tracking))
    # An edge has no database to check; the others are ready only with theirs open.
    add_readiness_route(app, readiness_checks(
        None if cluster is not None and cluster.edge_only else parts.store, client, cluster))
    add_staff_routes(app)
    recordings_api = add_recording_routes(app, parts.recordings.index, hub, meetings,
                                          parts.recordings.minutes,
                                          parts.recordings.transcripts)
    # Transcription jobs of stopped recordings (issue 17): state, and staff run one again.
    add_transcript_routes(app, recordings_api, parts.recordings.transcripts,
                          parts.recordings.jobs, meetings)
    # Transcript correction and the archive search (issue 17): the search rows follow
    # every transcript change (a job, an edit) and every publication.
    transcripts = parts.recordings.transcripts
    search = ArchiveSearch(parts.recordings.index, transcripts, settings.zone,
                           settings.database_path)
    app.on_cleanup.append(lambda _app: search.close())
    transcripts.on_change.append(search.changed)
    recordings_api.on_publish.append(search.changed)
    add_correction_routes(app, parts.recordings.index, meetings,
                          EditStore(parts.store, transcripts.changed), search)
    # A closed session's staff-only records (秘密会): /api/staff-records, staff only.
    add_staff_record_routes(app, parts.recordings.root, meetings)
    # VRM avatars (issue 18): staff uploads and approval, the public approved files.
    AvatarsHttp(settings, parts.avatars, meetings).add_routes(app)


#: How long one shutdown step may take before the rest go on without it.
SHUTDOWN_STEP_SECONDS = 3.0


async def _bounded(what: str, step: Awaitable[None]) -> None:
    try:
        await asyncio.wait_for(step, SHUTDOWN_STEP_SECONDS)
    except TimeoutError:
        log.warning("stopping %s took over %.0f s; going on without it", what,
                    SHUTDOWN_STEP_SECONDS)


def add_lifecycle(
    app: web.Application, settings: Settings, sio: socketio.AsyncServer, parts: Components,
    cluster: ClusterNode | None,
) -> None:
    """Startup (store, rooms, secret, meetings, sockets, tickers), shutdown (peers, files,
    sockets) and cleanup (tickers, cluster, store)."""
    hub, store, meetings, recordings = parts.hub, parts.store, parts.meetings, parts.recordings
    motion, tracking, audio, ticker = parts.motion, parts.tracking, parts.audio, parts.ticker

    async def startup(app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        if cluster is not None and cluster.edge_only:
            # No database here: the rooms come from the leader, the secret is a copy.
            secret = await loop.run_in_executor(None, read_secret, settings.secret_path)
            await cluster.start(secret)
            for info in await cluster.room_infos():
                hub.add_room(info, [])
        else:
            await store.open()
            if settings.seed_demo:
                await seed_demo(store)
                await seed_meetings(store)
            for info in await store.list_rooms():
                hub.add_room(info, await store.list_notices(info.id))
            await parts.avatars.load()
            secret = await loop.run_in_executor(None, load_or_create_secret, settings.secret_path)
            if cluster is not None:
                await cluster.start(secret)
        leading = cluster is None or cluster.is_leader
        if cluster is None or not cluster.edge_only:
            await meetings.load(secret, recover=leading)
        if leading:
            await recordings.open()  # closes what a crash left open, before anyone joins
        browser_ice = await loop.run_in_executor(
            None, load_browser_ice, settings.turn_urls, settings.turn_secret_file,
            settings.turn_ttl_seconds,
        )
        bind_sockets(sio, parts, (recordings.join_extra, turn_credentials(browser_ice),
                                  audio.join_extra))
        if leading:
            meetings.start()
            await parts.captions.start()  # the worker itself waits for a first phrase
        tracking.start()
        audio.start()
        parts.identity.start()
        ticker.start()
        parts.gallery.start()  # every node fans out to its own viewers
        if leading:
            motion.start()  # an edge ticks when the leader's state arrives
        log.info("serving %d rooms", len(hub.rooms))

    async def shutdown(app: web.Application) -> None:
        # Peer connections and tracker threads first, each bounded: a stopping server
        # hands its people to another node or a restart, and must not wait on a peer.
        await _bounded("face tracking", tracking.stop())
        await _bounded("audio", audio.stop())
        await _bounded("identity video", parts.identity.stop())
        await _bounded("automatic captions", parts.captions.stop())
        await recordings.close()  # files closed and indexed while the store is open
        await parts.gallery.stop()  # its viewers' connections end now, not at the timeout
        # Close every socket so that clients reconnect elsewhere at once instead of
        # waiting for the graceful-shutdown timeout.
        for sid in list(hub.sessions):
            if sio.manager.is_connected(sid, "/"):  # a cluster leader keeps others' sockets
                await sio.disconnect(sid)

    async def cleanup(app: web.Application) -> None:
        await ticker.stop()
        await motion.stop()
        await meetings.stop()
        if CLUSTER_KEY in app:
            await app[CLUSTER_KEY].stop()
        await store.close()

    app.on_startup.append(startup)
    app.on_shutdown.append(shutdown)
    app.on_cleanup.append(cleanup)


def create_app(
    settings: Settings, pipeline_factory: PipelineFactory | None = None
) -> web.Application:
    """Build the aiohttp application; the store opens and the ticker starts on startup.

    ``pipeline_factory`` replaces MediaPipe in server-side tracking (tests).
    """
    # The built client, or its sources in dev mode; refuses to start when it is missing
    # (a server that says ok but serves no page helps nobody).
    client = client_files(settings.client_dev, settings.client_dir, settings.web_root,
                          import_map())
    limiter = RateLimiter({HEAVY: settings.http_heavy_per_minute,
                           MEDIA: settings.http_media_per_minute}, settings.ipv6_limit_prefix)
    app = web.Application(
        middlewares=[
            # First, so that every later middleware and handler sees the browser's address.
            forwarded_client_middleware(settings.trusted_proxies),
            security_headers_middleware(
                content_security_policy(client.inline_script), tls=settings.tls
            ),
            error_middleware,
            polling_body_limit_middleware("/socket.io/", settings.max_message_bytes),
            # After the forwarded address is known; before the expensive handlers.
            rate_limit_middleware(limiter),
        ],
        client_max_size=64 * 1024,
    )
    app[CLIENT_KEY] = client
    app[RATE_LIMITS_KEY] = limiter
    app[CONNECTION_GUARD_KEY] = ConnectionGuard(
        header_timeout=settings.http_header_timeout,
        per_address=settings.tcp_connections_per_address,
        trusted_proxies=settings.trusted_proxies, ipv6_prefix=settings.ipv6_limit_prefix)
    sio = socket_server(settings)
    sio.attach(app)
    parts = build_components(settings, sio, pipeline_factory)
    cluster = _wire_cluster(app, settings, sio, parts.hub, parts.motion, parts.meetings,
                            parts.audio, parts.recordings, parts.avatars, parts.gallery,
                            parts.gallery_state)
    add_all_routes(app, settings, sio, parts, cluster)
    add_lifecycle(app, settings, sio, parts, cluster)
    return app
