"""One Hiroba node of a cluster joined by Redis (docs/cluster.md): its parts, composed.

One node at a time is the **leader**: it holds a lease in Redis and runs every room's
meeting, audio and recording, exactly as a single process does. The others are **edges**:
they terminate clients' sockets and /motion connections, pass every socket.io event to the
leader and return its acknowledgement, and fan the motion plane out to their own clients
from the leader's per-tick state. Broadcasts, room membership and disconnects reach
clients on any node through python-socketio's ``AsyncRedisManager``. So floor, queue,
agenda, bans and recordings have one owner.

The parts: the lease (lease.py: who leads), the event forwarding (forwarding.py: socket
events; http_forward.py: HTTP calls), the relays (motion_relay.py, audio_relay.py) and
the rooms for edges without a database (room_list.py). This module joins them to one
Redis bus and routes what arrives: binary batches by channel, control messages
(messages.py) by their type through one table. A message that does not decode is dropped
with a log line.

Faults: an edge that stops is noticed by its heartbeat key expiring; the leader then
disconnects its people, who rejoin through another node with their resume token. A leader
that stops loses its lease; an edge takes it, loads the meetings from the database and
every node joins its connected people again under their resume tokens. A leader that finds
its lease held by another stops itself (fail-stop) rather than run a meeting twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from rooms.errors import HirobaError, Reason, ValidationError
from rooms.room import RoomInfo
from server.cluster.audio_relay import CONTROL_CHANNEL, PACKETS_CHANNEL, AudioRelay
from server.cluster.bus import RedisBus, channel
from server.cluster.forwarding import EventForwarding, Trigger
from server.cluster.http_forward import HttpForwarder
from server.cluster.lease import Lease
from server.cluster.messages import (
    MAX_GALLERY_PUBLIC,
    AudioCall,
    AudioClose,
    Connect,
    Disconnect,
    EventCall,
    GalleryAsk,
    GalleryCount,
    GalleryPresence,
    GalleryPromote,
    GalleryPublic,
    GallerySummary,
    Message,
    Reply,
    ResumeIssued,
    Speakers,
    Withheld,
    decode,
    encode,
)
from server.cluster.motion_relay import STATE_CHANNEL, UPLINKS_CHANNEL, MotionRelay
from server.cluster.room_list import publish_rooms, read_rooms
from server.config.settings import Settings
from server.motion.plane import MotionPlane
from server.sockets.hub import Hub

if TYPE_CHECKING:
    from server.audio.api import AudioApi

log = logging.getLogger(__name__)

#: Starts what only the leader runs (meetings, recordings, the motion tick), with the
#: cluster's secret, when this node takes over from a leader that stopped.
Promote = Callable[[bytes], Awaitable[None]]


#: How often a node reports its gallery viewers to the leader, and the leader sends the
#: rooms' changed gallery snapshots at most (seconds): see server/gallery/relay.py.
GALLERY_SUMMARY_SECONDS = 2.0
GALLERY_SNAPSHOT_SECONDS = 1.0

#: (room, viewer, arrived): a gallery viewer of another node counted, or no longer.
GalleryChange = tuple[str, str, bool]


class GalleryPort(Protocol):
    """What the node asks of this process's public gallery (server/gallery/relay.py)."""

    def summary(self) -> tuple[dict[str, tuple[str, ...]],
                               dict[str, tuple[dict[str, object], ...]]]: ...  # fmt: skip

    def relayed(self, room: str, message: dict[str, Any]) -> None: ...

    def told_count(self, room: str, viewers: int, peak: int) -> None: ...

    def deliver(self, room: str, viewer: str, message: dict[str, Any]) -> bool: ...

    def on_presence(self, node: str, room: str, viewer: str, arrived: bool) -> bool: ...

    def on_summary(self, node: str, rooms: dict[str, tuple[str, ...]],
                   requests: dict[str, tuple[dict[str, object], ...]],
                   ) -> list[GalleryChange]: ...  # fmt: skip

    def drop_node(self, node: str) -> list[GalleryChange]: ...

    def lead(self) -> None: ...

    def silent_nodes(self) -> list[str]: ...

    def nodes(self) -> set[str]: ...

    def snapshot(self, room: str) -> dict[str, Any] | None: ...

    def dirty_snapshots(self) -> list[tuple[str, dict[str, Any]]]: ...


def _own_url(settings: Settings) -> str:
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"{'https' if settings.tls else 'http'}://{host}:{settings.port}"


class ClusterNode:
    """This process's part in the cluster: the lease, the forwarding and the relays."""

    def __init__(
        self,
        settings: Settings,
        hub: Hub,
        plane: MotionPlane,
        trigger: Trigger,
        disconnect: Callable[[str], Awaitable[None]],
        audio: AudioApi | None,
        promote: Promote,
    ) -> None:
        """``trigger``: runs a socket.io event through this process's own handlers;
        ``disconnect``: closes a socket of this node; ``audio``: the audio side (its peers
        stay on the socket's node); ``promote``: see :data:`Promote`."""
        if settings.redis_url is None:
            raise HirobaError(Reason.BAD_FIELD, "cluster mode needs redis_url")
        if settings.cluster_role not in ("any", "edge"):
            raise HirobaError(Reason.BAD_FIELD, "cluster_role must be any or edge")
        self.name = settings.node_name
        #: Never leads and has no database (cluster_role = edge): any machine.
        self.edge_only = settings.cluster_role == "edge"
        self.url = settings.node_url or _own_url(settings)
        self.hub = hub
        self.secret = b""
        self._promote = promote
        self._tasks: set[asyncio.Task[Any]] = set()
        self.bus = RedisBus(settings.redis_url, self._receive, self._reconnected)
        self.lease = Lease(settings, self.bus, self.url, self._promoted, self._leader_changed,
                           self._remote_nodes, self._node_lost)
        self.forwarding = EventForwarding(settings, hub, self.bus, self.lease, trigger,
                                          disconnect, audio, self._spawn,
                                          lambda room: self.audio.withheld_in(room))
        self.motion = MotionRelay(plane, hub, self.bus, settings.motion_hz,
                                  self._is_leader, self._remote_sockets, self._spawn)
        self.audio = AudioRelay(self.name, audio, plane, self.bus, self._is_leader,
                                self.forwarding.audio_grant, self.forwarding.node_of,
                                self._spawn)
        self.http = HttpForwarder(lambda: self.secret, self.lease.leader_url, self._is_leader,
                                  local_disk=not self.edge_only)
        #: What each control message does here, by its type.
        self._handlers: dict[type[Message], Callable[[Any], Awaitable[None]]] = {
            Connect: self.forwarding.on_connect,
            Disconnect: self.forwarding.on_disconnect,
            EventCall: self.forwarding.on_event,
            AudioCall: self.forwarding.on_audio_call,
            Reply: self.forwarding.on_reply,
            ResumeIssued: self.forwarding.on_resume,
            AudioClose: self.audio.on_close,
            Speakers: self.audio.on_speakers,
            Withheld: self.audio.on_withheld,
            GalleryPresence: self._on_gallery_presence,
            GalleryCount: self._on_gallery_count,
            GalleryPublic: self._on_gallery_public,
            GalleryAsk: self._on_gallery_ask,
            GallerySummary: self._on_gallery_summary,
            GalleryPromote: self._on_gallery_promote,
        }
        #: Leader: where the gallery viewers of every node are counted (the meetings'
        #: ``gallery_presence``; set by server/app.py) ...
        self.gallery_counted: Callable[[str, str, bool], None] = lambda _r, _v, _a: None
        #: This process's public gallery (set by server/app.py; None: no gallery).
        self.gallery: GalleryPort | None = None
        #: A node: whether its last summary named viewers (then one more, empty, is sent).
        self._gallery_reported = False
        #: A node: a hand or request changed since its last summary.
        self._gallery_asked = False

    @property
    def is_leader(self) -> bool:
        return self.lease.is_leader

    @property
    def leader(self) -> str | None:
        """The leader's name; None while none is known."""
        return self.lease.leader

    def counts(self) -> dict[str, int]:
        """What crossed this node: forwarded and served events, motion states and
        uplink batches, changes of leader seen."""
        return {"events_forwarded": self.forwarding.forwarded,
                "events_served": self.forwarding.served,
                "states_applied": self.motion.states_applied,
                "uplink_batches": self.motion.uplink_batches,
                "leader_changes": self.lease.changes}  # fmt: skip

    # --- start and stop -----------------------------------------------------------
    async def start(self, secret: bytes) -> None:
        """Join the cluster; returns once this node knows whether it leads."""
        self.secret = secret
        self.motion.start(secret)
        await self.bus.start({channel("ctl", self.name), STATE_CHANNEL, PACKETS_CHANNEL,
                              CONTROL_CHANNEL})
        await self.lease.start()
        if not self.is_leader:
            self.motion.follow()
        self.audio.start()
        self._spawn(self._gallery_loop())
        log.info("cluster node %s started; leader is %s", self.name, self.leader)

    async def stop(self) -> None:
        await self.audio.stop()
        await self.lease.stop()
        for task in list(self._tasks):
            task.cancel()
        await self.http.close()
        await self.bus.close()

    async def ping(self) -> None:
        """Ask Redis for a PING on this node's command connection: returns once it
        answers; raises ``RedisError``, ``OSError`` or ``TimeoutError`` when it cannot
        (the readiness probe's ``redis`` check)."""
        await self.bus.command("PING")

    async def room_infos(self) -> list[RoomInfo]:
        """Edge without a database: the rooms, as the leader published them."""
        return await read_rooms(self.bus)

    # --- what the socket.io server and the services call -------------------------------
    async def dispatch(self, event: str, args: tuple[Any, ...]) -> Any:
        """An event of a socket on this node (ClusterServer calls this on every node)."""
        return await self.forwarding.dispatch(event, args)

    def environ_of(self, sid: str) -> dict[str, Any] | None:
        """Leader: the request headers of another node's socket."""
        return self.forwarding.remote_environ.get(sid)

    def publish_state(self, plane: MotionPlane) -> None:
        """Motion tick listener: the leader's state for the other nodes."""
        self.motion.publish_state(plane)

    def withheld_changed(self, room: str, pids: frozenset[str]) -> None:
        """Closed sessions' listener (秘密会): the leader tells every node who is held out
        of ``room`` (their audio; the motion state carries it for the frames)."""
        self.audio.withheld_changed(room, pids)

    def gallery_presence(self, room: str, viewer: str, arrived: bool) -> None:
        """The gallery plane's presence listener: a viewer here came or went. Counted by
        the leader's meetings: here on the leader, told to it from any other node."""
        if self.is_leader:
            self.gallery_counted(room, viewer, arrived)
        elif self.bus.connected:
            self._spawn(self.bus.publish(CONTROL_CHANNEL, encode(
                GalleryPresence(self.name, room, viewer, arrived))))

    async def _on_gallery_presence(self, message: GalleryPresence) -> None:
        # (Counted once: its node's summary may have told it already.)
        if (self.is_leader and self.gallery is not None and message.sender != self.name
                and self.gallery.on_presence(message.sender, message.room, message.viewer,
                                             message.arrived)):
            self.gallery_counted(message.room, message.viewer, message.arrived)

    async def _on_gallery_summary(self, message: GallerySummary) -> None:
        if not self.is_leader or self.gallery is None or message.sender == self.name:
            return
        changes = self.gallery.on_summary(message.sender, message.rooms, message.requests)
        self._gallery_changes(changes)
        # Viewers the leader had not heard of (it took over, or a message was lost): their
        # node's hellos and messages need this leader's word on the room.
        for room in sorted({room for room, _v, arrived in changes if arrived}):
            self._gallery_snapshot(room)

    def _gallery_changes(self, changes: list[GalleryChange]) -> None:
        for room, viewer, arrived in changes:
            self.gallery_counted(room, viewer, arrived)

    async def _on_gallery_ask(self, message: GalleryAsk) -> None:
        if self.is_leader and message.sender != self.name:
            self._gallery_snapshot(message.room)

    def _gallery_snapshot(self, room: str) -> None:
        snapshot = None if self.gallery is None else self.gallery.snapshot(room)
        if snapshot is not None:
            self.gallery_public(room, snapshot)

    def gallery_public(self, room: str, message: dict[str, Any]) -> None:
        """The leader's gallery: a public message of ``room`` (or its snapshot) for the
        other nodes' viewers, once for all of them."""
        if not self.is_leader or not self.bus.connected:
            return
        data = encode(GalleryPublic(room, message))
        if len(data) > MAX_GALLERY_PUBLIC:
            log.warning("a gallery message of %s is too large for the bus (%d bytes)", room,
                        len(data))
            return
        self._spawn(self.bus.publish(CONTROL_CHANNEL, data))

    async def _on_gallery_public(self, message: GalleryPublic) -> None:
        if not self.is_leader and self.gallery is not None:
            self.gallery.relayed(message.room, message.message)

    def gallery_ask(self, room: str) -> None:
        """A node's gallery: its first viewer of ``room`` came; the leader's snapshot."""
        if not self.is_leader and self.bus.connected:
            self._spawn(self.bus.publish(CONTROL_CHANNEL, encode(GalleryAsk(self.name, room))))

    def gallery_deliver(self, node: str, room: str, viewer: str,
                        message: dict[str, Any]) -> None:  # fmt: skip
        """The leader's gallery: staff promoted ``viewer``, held by ``node``; that node
        writes the promotion on its socket."""
        if message.get("t") != "promoted":
            return
        self._spawn(self.bus.publish(channel("ctl", node), encode(GalleryPromote(
            room, viewer, str(message["token"]), str(message["url"])))))

    async def _on_gallery_promote(self, message: GalleryPromote) -> None:
        if self.gallery is not None and not self.gallery.deliver(
                message.room, message.viewer,
                {"t": "promoted", "token": message.token, "url": message.url}):
            log.info("a promoted gallery viewer of %s had gone", message.room)

    async def _gallery_loop(self) -> None:
        """The leader: the rooms' changed snapshots, at most once a second, and the nodes
        whose summaries stopped dropped. Any other node: its summary every
        :data:`GALLERY_SUMMARY_SECONDS` while it has (or just had) viewers."""
        last_summary = 0.0
        while True:
            await asyncio.sleep(GALLERY_SNAPSHOT_SECONDS)
            gallery = self.gallery
            if gallery is None:
                continue
            try:
                if self.is_leader:
                    for room, snapshot in gallery.dirty_snapshots():
                        self.gallery_public(room, snapshot)
                    for node in gallery.silent_nodes():
                        gone = gallery.drop_node(node)
                        log.warning("node %s sent no gallery summary; its %d viewers leave",
                                    node, len(gone))
                        self._gallery_changes(gone)
                    continue
                now = time.monotonic()
                if now - last_summary < GALLERY_SUMMARY_SECONDS - 0.01 and not self._gallery_asked:
                    continue
                last_summary, self._gallery_asked = now, False
                rooms, requests = gallery.summary()
                if (rooms or self._gallery_reported) and self.bus.connected:
                    self._gallery_reported = bool(rooms)
                    await self.bus.publish(CONTROL_CHANNEL, encode(
                        GallerySummary(self.name, rooms, requests)))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the gallery's cluster step failed")

    def gallery_requests_changed(self, _room: str) -> None:
        """A node's gallery: a viewer raised or lowered a hand, or asked to speak: the
        leader's staff list hears of it within a second (one summary for every change
        meanwhile), not at the next regular summary."""
        self._gallery_asked = True

    def gallery_count(self, room: str, viewers: int, peak: int) -> None:
        """The gallery plane's count listener: the leader tells every node a room's count
        on all of them (each tells its own viewers); another node's own count is not news."""
        if self.is_leader and self.bus.connected:
            self._spawn(self.bus.publish(CONTROL_CHANNEL,
                                         encode(GalleryCount(room, viewers, peak))))

    async def _on_gallery_count(self, message: GalleryCount) -> None:
        if not self.is_leader and self.gallery is not None:
            self.gallery.told_count(message.room, message.viewers, message.peak)

    def resume_issued(self, sid: str, token: str) -> None:
        """Meetings' resume listener: see :meth:`EventForwarding.resume_issued`."""
        self.forwarding.resume_issued(sid, token)

    # --- the lease's news ---------------------------------------------------------------
    async def _promoted(self, initial: bool) -> None:
        with contextlib.suppress(Exception):
            await publish_rooms(self.bus, self.hub)
        await self.motion.lead(None if initial else self.forwarding.our_pids())
        if initial:
            return
        if self.gallery is not None:
            self.gallery.lead()
        self.audio.bind()
        self.forwarding.ready.clear()  # other nodes' rejoins wait for the loaded meetings
        try:
            await self._promote(self.secret)
        finally:
            self.forwarding.ready.set()
        await self.forwarding.rejoin_all()

    def _leader_changed(self) -> None:
        self._spawn(self.forwarding.rejoin_all())

    def _remote_nodes(self) -> set[str]:
        # (Nodes with gallery viewers too: a node that dies takes them out of the count.)
        gallery = set() if self.gallery is None else self.gallery.nodes()
        return self.forwarding.remote_nodes() | gallery

    async def _node_lost(self, node: str) -> None:
        if self.gallery is not None:
            self._gallery_changes(self.gallery.drop_node(node))
        await self.forwarding.node_lost(node)

    def _remote_sockets(self) -> list[str]:
        return list(self.forwarding.remote)

    def _is_leader(self) -> bool:
        return self.lease.is_leader

    async def _reconnected(self) -> None:
        await self.lease.reclaim()

    # --- messages from other nodes ---------------------------------------------------
    async def _receive(self, name: str, data: bytes) -> None:
        try:
            if name == STATE_CHANNEL:
                await self.motion.apply_state(data)
            elif name == UPLINKS_CHANNEL:
                self.motion.apply_uplinks(data)
            elif name == PACKETS_CHANNEL:
                self.audio.apply_packets(data)
            else:
                message = decode(data)
                await self._handlers[type(message)](message)
        except ValidationError as exc:
            # Another version's node or a stray publisher: nothing to answer, nothing to
            # stop for. The listener goes on with the next message.
            log.warning("dropped a malformed cluster message on %s: %s (%s)", name,
                        exc.reason.value, exc.message)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
