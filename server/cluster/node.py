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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from rooms.errors import HirobaError, Reason, ValidationError
from rooms.room import RoomInfo
from server.cluster.audio_relay import CONTROL_CHANNEL, PACKETS_CHANNEL, AudioRelay
from server.cluster.bus import RedisBus, channel
from server.cluster.forwarding import EventForwarding, Trigger
from server.cluster.http_forward import HttpForwarder
from server.cluster.lease import Lease
from server.cluster.messages import (
    AudioCall,
    AudioClose,
    Connect,
    Disconnect,
    EventCall,
    Message,
    Reply,
    ResumeIssued,
    Speakers,
    Withheld,
    decode,
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
        }

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
        return self.forwarding.remote_nodes()

    async def _node_lost(self, node: str) -> None:
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
