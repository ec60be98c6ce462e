"""One Hiroba node of a cluster joined by Redis (docs/cluster.md).

One node at a time is the **leader**: it holds a lease in Redis and runs every room's
meeting, audio and recording, exactly as a single process does. The others are **edges**:
they terminate clients' sockets and /motion connections, pass every socket.io event to the
leader and return its acknowledgement, and fan the motion plane out to their own clients
from the leader's per-tick state (server/cluster/motion_relay.py). Broadcasts, room
membership and disconnects reach clients on any node through python-socketio's
``AsyncRedisManager``. So floor, queue, agenda, bans and recordings have one owner.

Control messages between nodes are JSON on ``hiroba:ctl:<node>``; motion is binary on
``hiroba:motion:state`` (leader to all) and ``hiroba:motion:uplinks`` (all to leader).

Faults: an edge that stops is noticed by its heartbeat key expiring; the leader then
disconnects its people, who rejoin through another node with their resume token. A leader
that stops loses its lease; an edge takes it, loads the meetings from the database and
every node joins its connected people again under their resume tokens. A leader that finds
its lease held by another stops itself (fail-stop) rather than run a meeting twice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moderation.rate_limit import TokenBucket
from moderation.tokens import encode, signed_claims
from rooms.errors import HirobaError, Reason
from rooms.model import RoomKind
from rooms.room import RoomInfo
from server.cluster.audio_relay import BATCH_SECONDS, Packet, decode_packets, encode_packets
from server.cluster.bus import RedisBus, channel
from server.cluster.http_forward import HttpForwarder
from server.cluster.motion_relay import (
    apply_state,
    decode_state,
    decode_uplinks,
    encode_state,
    encode_uplinks,
)
from server.common.periodic import Periodic
from server.config.settings import Settings
from server.motion import codec as motion_codec
from server.motion.plane import MotionPlane
from server.sockets import events
from server.sockets.hub import Hub, Session

if TYPE_CHECKING:
    from server.audio.api import AudioApi

log = logging.getLogger(__name__)

LEADER_KEY = channel("leader")
#: The rooms (as the leader's database has them), for edges without a database.
ROOMS_KEY = channel("rooms")
#: Renew the lease if this node holds it, or take it if nobody does (after Redis lost it).
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
#: Request headers a node passes on with a connection (the staff login is a cookie).
ENVIRON_KEYS = ("HTTP_COOKIE", "REMOTE_ADDR", "HTTP_ORIGIN", "HTTP_HOST", "HTTP_USER_AGENT")
#: Events an edge runs itself: the audio peers are the node's own (the leader only grants).
LOCAL_EVENTS = frozenset({events.AUDIO_PUBLISH, events.AUDIO_LISTEN, events.AUDIO_CLOSE})
#: How long an edge waits for the leader to answer an event.
CALL_TIMEOUT = 8.0
#: An uplink batch leaves this long before the leader's next tick is due (by the wall-clock
#: start the leader's state carries): the leader is busiest just before its tick, with its
#: own clients' uplinks, and the batch must be through by then.
UPLINK_LEAD = 0.008
#: This node's frames tell its clients the tick began this much earlier than it did, so
#: they send their uplinks that much before the batch leaves. Measured with bench.motion
#: (200 + 12 clients, two nodes): timing by this node's own arrival put the edge's people
#: two ticks late, by the leader's tick one tick late; with both, as early as the leader's.
EDGE_EARLY = 0.005

Trigger = Callable[..., Awaitable[Any]]


def _pack(value: object) -> object:
    """JSON-safe form of a socket.io payload (binary attachments as base64)."""
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, list | tuple):
        return [_pack(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _pack(v) for k, v in value.items()}
    return value


def _unpack(value: object) -> object:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(str(value["__b64__"]))
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


async def _no_disconnect(sid: str) -> None:
    return None


def _own_url(settings: Settings) -> str:
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"{'https' if settings.tls else 'http'}://{host}:{settings.port}"


def _unavailable() -> dict[str, Any]:
    return HirobaError(
        Reason.UNAVAILABLE, "the meeting server is changing over; try again in a moment"
    ).to_ack()


@dataclass(frozen=True)
class RememberedJoin:
    """A socket's last successful join (with its ack's resume token and device), to join
    it again with a new leader, and the participant id it got."""

    payload: dict[str, Any]
    pid: str


class MotionTokens:
    """Motion tokens any node can check: room and participant id, signed (with a key of
    their own, derived from the secret, so that no other kind of token passes)."""

    def __init__(self, secret: bytes) -> None:
        self.key = hashlib.sha256(b"hiroba-motion-token\0" + secret).digest()

    def make(self, room: str, pid: str) -> str:
        return encode(self.key, {"typ": "motion", "room": room, "pid": pid})

    def resolve(self, token: str) -> tuple[str, str] | None:
        try:
            data = signed_claims(self.key, token, motion_codec.MAX_TOKEN_LENGTH)
            if data["typ"] == "motion":
                return str(data["room"]), str(data["pid"])
        except (HirobaError, KeyError, TypeError):
            pass
        return None


class ClusterNode:
    """This process's part in the cluster: lease, event forwarding, motion relay."""

    def __init__(
        self,
        settings: Settings,
        hub: Hub,
        plane: MotionPlane,
        trigger: Trigger,
    ) -> None:
        assert settings.redis_url is not None
        if settings.cluster_role not in ("any", "edge"):
            raise HirobaError(Reason.BAD_FIELD, "cluster_role must be any or edge")
        self.settings = settings
        #: Never leads and has no database (cluster_role = edge): any machine.
        self.edge_only = settings.cluster_role == "edge"
        self.name = settings.node_name
        self.hub = hub
        self.plane = plane
        #: Runs a socket.io event through this process's own handlers.
        self.trigger = trigger
        #: Starts what only the leader runs (meetings, recordings, the motion tick).
        self.promote_services: Callable[[], Awaitable[None]] | None = None
        self.secret = b""
        self.url = settings.node_url or _own_url(settings)
        self.http = HttpForwarder(lambda: self.secret, self.leader_url, lambda: self.is_leader,
                                  local_disk=not self.edge_only)
        self._leader_url: tuple[str, str, float] | None = None
        self.bus = RedisBus(settings.redis_url, self._receive)
        self.bus.on_connected = self._connected
        self.leader: str | None = None
        self._last_leader: str | None = None
        self.is_leader = False
        self.lease_ms = int(settings.cluster_lease_seconds * 1000)
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._next_call = 0
        #: Leader: the node of every socket connected elsewhere, and its request headers.
        self.remote: dict[str, str] = {}
        self.remote_environ: dict[str, dict[str, Any]] = {}
        #: This node's own sockets: request headers, and the last join that succeeded
        #: (with the resume token and device from its acknowledgement).
        self.local: dict[str, dict[str, Any]] = {}
        self.joins: dict[str, RememberedJoin] = {}
        self._uplinks: dict[tuple[str, str], bytes] = {}
        self._flush: asyncio.TimerHandle | None = None
        self._held: dict[str, set[str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lease_task: asyncio.Task[None] | None = None
        self._vacant_since: float | None = None
        self._missing: dict[str, float] = {}
        self._state_in_flight = False
        self._buckets: dict[str, TokenBucket] = {}
        #: Disconnects a socket of this node (the app sets the socket.io server's).
        self.disconnect: Callable[[str], Awaitable[None]] = _no_disconnect
        #: The audio side (set by the app): peers stay on the socket's node.
        self.audio: AudioApi | None = None
        self._packets: list[Packet] = []
        self._audio_flush = Periodic("audio-relay", 1 / BATCH_SECONDS, self._flush_packets)
        self.stats = {"events_forwarded": 0, "events_served": 0, "states_applied": 0,
                      "uplink_batches": 0, "leader_changes": 0}  # fmt: skip

    # --- start and stop -----------------------------------------------------------
    async def start(self, secret: bytes) -> None:
        """Join the cluster; returns once this node knows whether it leads."""
        self.secret = secret
        tokens = MotionTokens(secret)
        self.plane.token_maker = tokens.make
        self.plane.token_resolver = self._resolve_token
        self._tokens = tokens
        await self.bus.start({channel("ctl", self.name), channel("motion", "state"),
                              channel("audio", "packets"), channel("audio", "ctl")})
        for _ in range(50):  # until Redis answers (a node may start before it)
            try:
                await self._lease_step(initial=True)
                break
            except Exception as exc:
                log.warning("waiting for Redis at start: %s", type(exc).__name__)
                await asyncio.sleep(0.2)
        else:
            raise HirobaError(Reason.UNAVAILABLE, "cannot reach Redis at redis_url")
        if not self.is_leader:
            self.plane.relay = self._relay_uplink
        self._bind_audio()
        self._audio_flush.start()
        self._lease_task = asyncio.get_running_loop().create_task(
            self._lease_loop(), name="cluster-lease"
        )
        log.info("cluster node %s started; leader is %s", self.name, self.leader)

    def _bind_audio(self) -> None:
        audio = self.audio
        if audio is None:
            return
        audio.plane.relay = self._relay_packet
        leading = self.is_leader
        audio.grant = None if leading else self._audio_grant
        audio.emit_active = leading
        audio.speakers_changed = self._publish_speakers if leading else None
        audio.remote_gone = self._audio_gone if leading else None
        audio.positions_of = None if leading else self._replica_positions

    def _replica_positions(self, room_id: str) -> dict[str, tuple[float, float]]:
        room = self.plane.rooms.get(room_id)
        if room is None:
            return {}
        xz = room.table.xz
        return {pid: (float(xz[row, 0]), float(xz[row, 1])) for row, pid in room.pids.items()}

    async def stop(self) -> None:
        await self._audio_flush.stop()
        if self._lease_task is not None:
            self._lease_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lease_task
        with contextlib.suppress(Exception):
            await self.bus.command("DEL", channel("node", self.name))
            if self.is_leader:
                await self.bus.command("EVAL", "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                                       "return redis.call('DEL', KEYS[1]) end return 0",
                                       1, LEADER_KEY, self.name)
        for task in list(self._tasks):
            task.cancel()
        await self.http.close()
        await self.bus.close()

    async def leader_url(self) -> str | None:
        """The leader's HTTP address (from its heartbeat), for the HTTP API's calls."""
        leader = self.leader
        if leader is None:
            return None
        cached = self._leader_url
        if cached is not None and cached[0] == leader and time.monotonic() - cached[2] < 2:
            return cached[1]
        try:
            url = await self.bus.command("GET", channel("node", leader))
        except Exception:
            return None
        if not isinstance(url, bytes):
            return None
        self._leader_url = (leader, url.decode(), time.monotonic())
        return url.decode()

    def _resolve_token(self, token: str) -> tuple[str, str] | None:
        found = self._tokens.resolve(token)
        if found is not None and not self.is_leader:
            self._held.setdefault(found[0], set()).add(found[1])
        return found

    # --- the lease ----------------------------------------------------------------
    async def _lease_loop(self) -> None:
        period = self.settings.cluster_lease_seconds / 3
        while True:
            await asyncio.sleep(period)
            try:
                await self._lease_step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cluster lease: %s", type(exc).__name__)

    async def _lease_step(self, initial: bool = False) -> None:
        await self.bus.command("SET", channel("node", self.name), self.url, "PX", self.lease_ms)
        if self.is_leader:
            held = await self.bus.command("EVAL", _RENEW, 1, LEADER_KEY, self.name, self.lease_ms)
            if held != 1:
                log.critical("node %s lost the leader lease to another node; stopping", self.name)
                os.kill(os.getpid(), signal.SIGTERM)
                return
            await self._sweep_nodes()
            return
        holder = await self.bus.command("GET", LEADER_KEY)
        current = holder.decode() if isinstance(holder, bytes) else holder
        if current is None:
            self.leader = None  # events are answered `unavailable` at once meanwhile
        if current is None and self.edge_only:
            return  # waits for a node with the database to lead
        if current is None:
            now = time.monotonic()
            # After a Redis restart the old leader takes the key back on its next renewal;
            # others wait longer than that before taking it.
            if not initial and (self._vacant_since is None or now - self._vacant_since < 0.5 *
                                self.settings.cluster_lease_seconds):
                self._vacant_since = self._vacant_since or now
                return
            taken = await self.bus.command("SET", LEADER_KEY, self.name, "NX", "PX",
                                           self.lease_ms)
            if taken:
                self._vacant_since = None
                await self._become_leader(initial)
                return
            holder = await self.bus.command("GET", LEADER_KEY)  # another node was quicker
            current = holder.decode() if isinstance(holder, bytes) else holder
            if current is None:
                return
        self._vacant_since = None
        if current != self.leader:
            previous, self.leader = self._last_leader, str(current)
            self._last_leader = self.leader
            if previous is not None and previous != current:
                self.stats["leader_changes"] += 1
                log.warning("cluster leader changed from %s to %s", previous, current)
                self._spawn(self._rejoin_all())

    async def room_infos(self) -> list[RoomInfo]:
        """Edge without a database: the rooms, as the leader published them."""
        for _ in range(150):
            with contextlib.suppress(Exception):
                raw = await self.bus.command("GET", ROOMS_KEY)
                if isinstance(raw, bytes):
                    return [RoomInfo(id=str(r["id"]), kind=RoomKind(r["kind"]),
                                     name_ja=str(r["name_ja"]), name_en=str(r["name_en"]),
                                     capacity=int(r["capacity"])) for r in json.loads(raw)]
            await asyncio.sleep(0.2)
        raise HirobaError(Reason.UNAVAILABLE, "no leader has published the rooms yet")

    async def _publish_rooms(self) -> None:
        rooms = [{"id": r.info.id, "kind": r.info.kind.value, "name_ja": r.info.name_ja,
                  "name_en": r.info.name_en, "capacity": r.info.capacity}
                 for r in self.hub.rooms.values()]  # fmt: skip
        await self.bus.command("SET", ROOMS_KEY, json.dumps(rooms, ensure_ascii=False))

    async def _become_leader(self, initial: bool) -> None:
        previous = self._last_leader
        self.leader, self.is_leader = self.name, True
        self._last_leader = self.name
        with contextlib.suppress(Exception):
            await self._publish_rooms()
        self.plane.relay = None
        await self.bus.unsubscribe(channel("motion", "state"))
        await self.bus.subscribe(channel("motion", "uplinks"))
        if initial:
            return
        self.stats["leader_changes"] += 1
        log.warning("node %s takes over as leader from %s", self.name, previous)
        # The replica held other nodes' people: they come back through their joins.
        ours = {self.joins[sid].pid for sid in self.local if sid in self.joins}
        for room in self.plane.rooms.values():
            for pid in list(room.pids.values()):
                if pid not in ours:
                    transport = room.remove(pid)
                    if transport is not None:
                        self._spawn(transport.close())
        self._bind_audio()
        if self.promote_services is not None:
            await self.promote_services()
        await self._rejoin_all()

    async def _sweep_nodes(self) -> None:
        """Leader: people of nodes whose heartbeat expired leave (they will rejoin)."""
        now = time.monotonic()
        for node in set(self.remote.values()):
            alive = await self.bus.command("EXISTS", channel("node", node))
            if alive:
                self._missing.pop(node, None)
                continue
            # Missing for a whole lease, not once: after a Redis restart every node's key
            # is gone until its next heartbeat.
            since = self._missing.setdefault(node, now)
            if now - since < self.settings.cluster_lease_seconds:
                continue
            self._missing.pop(node, None)
            log.warning("node %s stopped answering; its people leave", node)
            for sid in [s for s, n in self.remote.items() if n == node]:
                await self._remote_disconnect(sid, "node lost")

    async def _connected(self) -> None:
        """After Redis came back: take the lease again at once if it was ours."""
        if self.is_leader:
            with contextlib.suppress(Exception):
                await self._lease_step()

    # --- socket.io events ----------------------------------------------------------
    async def dispatch(self, event: str, args: tuple[Any, ...]) -> Any:
        """An event of a socket on this node (ClusterServer calls this on every node)."""
        sid = args[0]
        if event == "connect":
            result = await self.trigger(event, "/", *args)
            if result is not False:
                environ = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
                kept = {k: environ[k] for k in ENVIRON_KEYS if isinstance(environ.get(k), str)}
                self.local[sid] = kept
                if not self.is_leader:
                    await self._send_leader({"k": "connect", "sid": sid, "env": kept})
            return result
        if event == "disconnect":
            self.local.pop(sid, None)
            self.joins.pop(sid, None)
            self._buckets.pop(sid, None)
            session = self.hub.sessions.get(sid)
            pid = session.pid if session is not None else None
            result = await self.trigger(event, "/", *args)
            if not self.is_leader:
                if pid is not None and self.audio is not None:
                    await self.audio.drop(pid, "all")  # this node's peers of the socket
                await self._send_leader({"k": "disconnect", "sid": sid})
            return result
        if self.is_leader or event in LOCAL_EVENTS:
            ack = await self.trigger(event, "/", *args)
        elif not await self._edge_allows(sid):
            return HirobaError(Reason.RATE_LIMITED, "too many messages").to_ack()
        else:
            ack = await self._call(event, sid, list(args[1:]))
        if event == events.JOIN:
            self._remember_join(sid, args[1:], ack)
        return ack

    async def _edge_allows(self, sid: str) -> bool:
        """A coarse limit before an event costs the leader a round trip: twice what the
        leader's own limits allow (they stay the exact ones); a socket that keeps
        exceeding it is disconnected here, as the leader would."""
        bucket = self._buckets.get(sid)
        if bucket is None:
            s = self.settings
            bucket = self._buckets[sid] = TokenBucket(
                rate=2 * (s.events_per_second + s.tick_hz * 1.5),
                burst=2 * (s.events_burst + s.tick_hz * 2),
            )
        now = time.monotonic()
        if bucket.allow(now):
            return True
        session = self.hub.sessions.get(sid)
        if session is not None and session.over_the_limit(now):
            log.warning("disconnecting socket %s for flooding", sid)
            await self.disconnect(sid)
        return False

    def _remember_join(self, sid: str, payload: tuple[Any, ...], ack: Any) -> None:
        if not (payload and isinstance(payload[0], dict) and isinstance(ack, dict)):
            return
        if ack.get("ok") is True and isinstance(ack.get("resume"), str):
            kept = dict(payload[0])
            kept["resume"] = ack["resume"]
            if isinstance(ack.get("device"), str):
                kept["device"] = ack["device"]
            self.joins[sid] = RememberedJoin(kept, str(ack.get("self")))

    async def _call(self, event: str, sid: str, args: list[Any], kind: str = "event") -> Any:
        leader = self.leader
        if leader is None:
            return _unavailable()
        self._next_call += 1
        call_id = self._next_call
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = future
        self.stats["events_forwarded"] += 1
        message = {"k": kind, "id": call_id, "from": self.name, "sid": sid, "event": event,
                   "args": _pack(args)}  # fmt: skip
        try:
            if not await self.bus.publish(channel("ctl", leader), json.dumps(message).encode()):
                return _unavailable()
            return await asyncio.wait_for(future, CALL_TIMEOUT)
        except TimeoutError:
            return _unavailable()
        finally:
            self._calls.pop(call_id, None)

    async def _send_leader(self, message: dict[str, Any]) -> None:
        if self.leader is not None and self.leader != self.name:
            message["from"] = self.name
            await self.bus.publish(channel("ctl", self.leader), json.dumps(message).encode())

    async def _rejoin_all(self) -> None:
        """Tell the (new) leader about every socket here and join each again with its
        resume token: the people keep their ids and roles, their pages notice nothing."""
        for sid, environ in list(self.local.items()):
            if not self.is_leader:
                await self._send_leader({"k": "connect", "sid": sid, "env": environ})
        for sid, remembered in list(self.joins.items()):
            if sid not in self.local:
                continue
            body = remembered.payload
            if self.is_leader:
                ack = await self.trigger(events.JOIN, "/", sid, body)
            else:
                ack = await self._call(events.JOIN, sid, [body])
            if isinstance(ack, dict) and ack.get("ok") is True:
                self._remember_join(sid, (body,), ack)
            else:
                log.warning("could not rejoin socket %s: %s", sid,
                            ack.get("reason") if isinstance(ack, dict) else ack)
        if self.audio is not None and not self.is_leader:
            await self.audio.regrant()

    # --- messages from other nodes ---------------------------------------------------
    async def _receive(self, name: str, data: bytes) -> None:
        if name == channel("motion", "state"):
            if not self.is_leader:
                await self._apply_state(data)
            return
        if name == channel("motion", "uplinks"):
            if self.is_leader:
                self._apply_uplinks(data)
            return
        if name == channel("audio", "packets"):
            self._apply_packets(data)
            return
        if name == channel("audio", "ctl"):
            if not self.is_leader and self.audio is not None:
                body = json.loads(data)
                self.audio.apply_speakers(str(body["room"]), [str(i) for i in body["ids"]])
            return
        message = json.loads(data)
        kind = message.get("k")
        if kind == "reply":
            future = self._calls.get(int(message["id"]))
            if future is not None and not future.done():
                future.set_result(_unpack(message.get("ack")))
            return
        if kind == "resume":
            self._keep_resume(str(message["sid"]), str(message["resume"]))
            return
        if kind == "audio_close":
            if self.audio is not None:
                self._spawn(self.audio.drop(str(message["pid"]), str(message["what"])))
            return
        if not self.is_leader:
            if kind in ("event", "audio"):
                await self._reply(message, _unavailable())
            return
        sid = str(message["sid"])
        if kind == "connect":
            self.remote[sid] = str(message["from"])
            self.remote_environ[sid] = dict(message.get("env") or {})
            if sid not in self.hub.sessions:
                await self.trigger("connect", "/", sid, self.remote_environ[sid], None)
        elif kind == "disconnect":
            await self._remote_disconnect(sid, "client")
        elif kind == "event":
            self._spawn(self._serve(message))
        elif kind == "audio":
            self._spawn(self._serve_audio(message))

    async def _serve(self, message: dict[str, Any]) -> None:
        sid = str(message["sid"])
        if sid not in self.hub.sessions:  # its connect was lost (a Redis outage)
            self.remote[sid] = str(message["from"])
            await self.trigger("connect", "/", sid, self.remote_environ.get(sid, {}), None)
        self.stats["events_served"] += 1
        args = _unpack(message.get("args") or [])
        ack = await self.trigger(str(message["event"]), "/", sid,
                                 *(args if isinstance(args, list) else []))
        await self._reply(message, ack)

    async def _serve_audio(self, message: dict[str, Any]) -> None:
        sid = str(message["sid"])
        session = self.hub.sessions.get(sid)
        args = message.get("args") or []
        try:
            if session is None or self.audio is None:
                raise HirobaError(Reason.NOT_JOINED, "join a room first")
            ack = await self.audio.serve_grant(session, str(args[0]))
        except HirobaError as exc:
            ack = exc.to_ack()
        await self._reply(message, ack)

    async def _reply(self, message: dict[str, Any], ack: Any) -> None:
        reply = {"k": "reply", "id": message["id"], "ack": _pack(ack)}
        try:
            data = json.dumps(reply).encode()
        except (TypeError, ValueError):
            data = json.dumps({"k": "reply", "id": message["id"], "ack": None}).encode()
        await self.bus.publish(channel("ctl", str(message["from"])), data)

    async def _remote_disconnect(self, sid: str, reason: str) -> None:
        self.remote.pop(sid, None)
        self.remote_environ.pop(sid, None)
        if sid in self.hub.sessions:
            await self.trigger("disconnect", "/", sid, reason)

    # --- motion ---------------------------------------------------------------------
    def publish_state(self, plane: MotionPlane) -> None:
        """Leader, at the start of every tick: the rooms people on other nodes are in."""
        rooms = {
            s.room
            for sid in self.remote
            if (s := self.hub.sessions.get(sid)) is not None and s.room is not None
        }
        # One state in flight at most: while Redis is away, ticks are dropped, not queued.
        if rooms and self.bus.connected and not self._state_in_flight:
            self._state_in_flight = True
            self._spawn(self._publish_state(encode_state(plane, rooms, time.time())))

    async def _publish_state(self, data: bytes) -> None:
        try:
            await self.bus.publish(channel("motion", "state"), data)
        finally:
            self._state_in_flight = False

    async def _apply_state(self, data: bytes) -> None:
        tick, at, states = decode_state(data)
        now = self.plane.clock()
        for state in states:
            held = self._held.setdefault(state.room, set())
            for transport in apply_state(self.plane, state, now, held):
                self._spawn(transport.close())
        self.stats["states_applied"] += 1
        period = 1.0 / self.settings.motion_hz
        # How long ago the leader's tick began, by the wall clocks (synchronised machines;
        # a skew beyond a tick counts as none). Frames carry it, so this node's clients
        # aim their uplinks at the leader's next tick, and the batch leaves just before it.
        lag = time.time() - at
        if not 0.0 <= lag < period:
            lag = 0.0
        if self._flush is None:
            delay = max(0.0, period - lag - UPLINK_LEAD)
            self._flush = asyncio.get_running_loop().call_later(delay, self._flush_uplinks)
        self.plane.tick_number = tick - 1
        await self.plane.tick(lag + EDGE_EARLY)

    def _relay_uplink(self, room: str, pid: str, data: bytes) -> None:
        self._uplinks[(room, pid)] = data

    def _flush_uplinks(self) -> None:
        self._flush = None
        if not self._uplinks:
            return
        batch, self._uplinks = self._uplinks, {}
        self.stats["uplink_batches"] += 1
        self._spawn(self.bus.publish(channel("motion", "uplinks"), encode_uplinks(batch)))

    def _apply_uplinks(self, data: bytes) -> None:
        for room, pid, uplink in decode_uplinks(data):
            try:
                self.plane.uplink(room, pid, uplink)
            except (HirobaError, KeyError):
                continue  # left meanwhile, or refused by the room's rules

    # --- audio ----------------------------------------------------------------------------
    async def _audio_grant(self, session: Session, op: str) -> dict[str, Any]:
        ack = await self._call("audio", session.sid, [op], kind="audio")
        return ack if isinstance(ack, dict) else _unavailable()

    def _publish_speakers(self, room: str, ids: list[str]) -> None:
        body = json.dumps({"room": room, "ids": ids}).encode()
        self._spawn(self.bus.publish(channel("audio", "ctl"), body))

    def resume_issued(self, sid: str, token: str) -> None:
        """MeetingService: the leader gave a socket a resume token outside a join ack (an
        admission from the lobby). The node holding the socket keeps it for its next rejoin,
        so that an admitted person is not sent back to the lobby by a failover."""
        if sid in self.local:
            self._keep_resume(sid, token)
            return
        node = self.remote.get(sid)
        if node is not None:
            body = json.dumps({"k": "resume", "sid": sid, "resume": token}).encode()
            self._spawn(self.bus.publish(channel("ctl", node), body))

    def _keep_resume(self, sid: str, token: str) -> None:
        remembered = self.joins.get(sid)
        if remembered is not None:
            remembered.payload["resume"] = token

    def _audio_gone(self, pid: str, sid: str, what: str) -> None:
        node = self.remote.get(sid)
        if node is not None:
            body = json.dumps({"k": "audio_close", "pid": pid, "what": what}).encode()
            self._spawn(self.bus.publish(channel("ctl", node), body))

    def _relay_packet(
        self, room: str, pid: str, payload: bytes, ts: int, level: float, loud: bool
    ) -> None:
        self._packets.append((room, pid, payload, ts, level, loud))

    async def _flush_packets(self) -> None:
        if not self._packets:
            return
        batch, self._packets = self._packets, []
        if self.bus.connected:
            await self.bus.publish(channel("audio", "packets"), encode_packets(self.name, batch))

    def _apply_packets(self, data: bytes) -> None:
        if self.audio is None:
            return
        node, packets = decode_packets(data)
        if node == self.name:
            return
        plane = self.audio.plane
        for room, pid, payload, ts, level, loud in packets:
            plane.remote_packet(room, pid, payload, ts, level, loud)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
