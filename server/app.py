"""The application factory: wires settings, store, hub, sockets, ticker and routes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import socketio
from aiohttp import web

from rooms.model import Participant
from rooms.room import Room
from server.audio.api import AudioApi
from server.cluster.node import ClusterNode
from server.cluster.sio_server import ClusterServer
from server.config.secret import load_or_create_secret, read_secret
from server.config.settings import Settings
from server.http.forwarded import forwarded_client_middleware
from server.http.routes import CLIENT_KEY, HUB_KEY, add_routes, error_middleware
from server.http.security import (
    content_security_policy,
    import_map,
    polling_body_limit_middleware,
    security_headers_middleware,
)
from server.http.static_files import client_files
from server.meetings.api import MeetingApi
from server.meetings.seed import seed_meetings
from server.meetings.service import MeetingService
from server.motion.endpoint import motion_handler
from server.motion.service import MOTION_PATH, MotionService
from server.observe.diagnostics import LeakSources, add_diagnostics_route
from server.observe.metrics import MetricsSources, add_metrics_route
from server.observe.readiness import add_readiness_route, readiness_checks
from server.plaza.api import SocketApi
from server.plaza.ticker import Ticker
from server.recording.routes import add_recording_routes
from server.recording.service import RecordingService
from server.rtc.browser_ice import load_browser_ice
from server.sockets.hub import Hub
from server.sockets.packets import GuardedPacket
from server.staff.api import MEETINGS_KEY, add_staff_routes
from server.storage.seed import seed_demo
from server.storage.store import SQLiteStore, Store
from server.tracking.api import FaceTracking
from server.tracking.model_fetch import model_path
from server.tracking.model_route import add_model_route
from server.tracking.pipeline import PipelineFactory

log = logging.getLogger(__name__)

STORE_KEY = web.AppKey("store", Store)
SIO_KEY = web.AppKey("sio", socketio.AsyncServer)
TRACKING_KEY = web.AppKey("tracking", FaceTracking)
AUDIO_KEY = web.AppKey("audio", AudioApi)
RECORDINGS_KEY = web.AppKey("recordings", RecordingService)
CLUSTER_KEY = web.AppKey("cluster", ClusterNode)


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
) -> ClusterNode | None:
    """With a Redis URL, this node joins a cluster: its ClusterNode, wired to the services
    it forwards for and promotes; None when the process serves alone."""
    cluster: ClusterNode | None = None
    if isinstance(sio, ClusterServer):
        async def promote(secret: bytes) -> None:
            # This node takes over as the cluster's leader (the last one stopped).
            await meetings.load(secret)
            await recordings.open()
            meetings.start()
            motion.start()

        node = cluster = ClusterNode(settings, hub, motion.plane, trigger=sio.trigger_here,
                                     disconnect=sio.disconnect, audio=audio, promote=promote)
        # The one assignment left: the node runs events through this server's handlers,
        # so the server can only learn of the node after both exist.
        sio.route_events_through(node)
        motion.plane.capacity_of = lambda r: hub.rooms[r].info.capacity if r in hub.rooms else 64
        motion.plane.tick_listeners.append(node.publish_state)
        meetings.resume_listeners.append(node.resume_issued)
        app[CLUSTER_KEY] = node
        app.middlewares.append(node.http.middleware)
    return cluster


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
    app = web.Application(
        middlewares=[
            # First, so that every later middleware and handler sees the browser's address.
            forwarded_client_middleware(settings.trusted_proxies),
            security_headers_middleware(
                content_security_policy(client.inline_script), tls=settings.tls
            ),
            error_middleware,
            polling_body_limit_middleware("/socket.io/", settings.max_message_bytes),
        ],
        client_max_size=64 * 1024,
    )
    hub = Hub(settings)
    store = SQLiteStore(settings.database_path)
    sio_options: dict[str, Any] = {
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
        sio: socketio.AsyncServer = ClusterServer(client_manager=manager, **sio_options)
    else:
        sio = socketio.AsyncServer(**sio_options)
    sio.attach(app)
    ticker = Ticker(sio, hub)
    motion = MotionService(settings, hub)
    tracking = FaceTracking(settings, sio, hub, motion.plane, pipeline_factory)
    app[TRACKING_KEY] = tracking
    app[HUB_KEY] = hub
    app[STORE_KEY] = store
    app[SIO_KEY] = sio
    app[CLIENT_KEY] = client
    add_routes(app)
    add_model_route(app, model_path(settings))
    meetings = MeetingService(settings, hub, sio, store)
    app[MEETINGS_KEY] = meetings
    audio = AudioApi(settings, sio, hub, meetings)
    app[AUDIO_KEY] = audio
    recordings = RecordingService(settings, hub, sio, meetings, store)
    app[RECORDINGS_KEY] = recordings
    cluster = _wire_cluster(app, settings, sio, hub, motion, meetings, audio, recordings)
    audio.plane.on_packet = recordings.on_packet
    motion.plane.tick_listeners.append(recordings.on_motion)
    app.router.add_get(
        MOTION_PATH,
        motion_handler(
            motion.plane, settings.motion_hz, motion_origin_check(settings.allowed_origins)
        ),
    )
    app.router.add_get("/api/motion/stats", motion.stats)
    add_metrics_route(
        app,
        settings.metrics_allow,
        MetricsSources(hub, motion.plane, audio.plane, tracking.camera, meetings.auth.backoff),
    )
    add_diagnostics_route(app, settings, LeakSources(hub, sio, meetings, motion, audio, tracking))
    # An edge has no database to check; the others are ready only with theirs open.
    add_readiness_route(app, readiness_checks(
        None if cluster is not None and cluster.edge_only else store, client, cluster))
    add_staff_routes(app)
    add_recording_routes(app, recordings.index, hub, meetings)

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
            secret = await loop.run_in_executor(None, load_or_create_secret, settings.secret_path)
            if cluster is not None:
                await cluster.start(secret)
        leading = cluster is None or cluster.is_leader
        if cluster is None or not cluster.edge_only:
            await meetings.load(secret, recover=leading)
        if leading:
            await recordings.open()  # closes what a crash left open, before anyone joins
        api = SocketApi(sio, hub, meetings, motion)
        MeetingApi(lambda event, handler: sio.on(event, api.guard(handler)), meetings)
        recordings.bind(lambda event, handler: sio.on(event, api.guard(handler)))
        api.join_extras.append(recordings.join_extra)
        browser_ice = await loop.run_in_executor(
            None, load_browser_ice, settings.turn_urls, settings.turn_secret_file,
            settings.turn_ttl_seconds,
        )

        def ice_extra(_room: Room, person: Participant) -> dict[str, object]:
            # Every join, rejoin and admission: fresh TURN credentials for this person.
            return {"ice": {"iceServers": browser_ice.servers(person.id, time.time())}}

        api.join_extras.append(ice_extra)
        if leading:
            meetings.start()
        tracking.bind(api)
        tracking.start()
        motion.bind(api)
        audio.bind(api)
        audio.start()
        ticker.start()
        if leading:
            motion.start()  # an edge ticks when the leader's state arrives
        log.info("serving %d rooms", len(hub.rooms))

    async def shutdown(app: web.Application) -> None:
        await tracking.stop()  # peer connections and tracker threads first
        await audio.stop()
        await recordings.close()  # files closed and indexed while the store is open
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
    return app
