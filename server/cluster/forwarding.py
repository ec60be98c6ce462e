"""Socket.io events across nodes: an edge passes its sockets' events to the leader.

Every node terminates its own clients' sockets. On the leader an event runs through the
ordinary handlers; on an edge it goes to the leader as an :class:`EventCall` on
``hiroba:ctl:<leader>`` and the leader's :class:`Reply` becomes the client's
acknowledgement. Connects and disconnects are announced the same way (with the request
headers the staff login needs), so that the leader's hub holds every socket of the cluster.
The audio events are the exception: their peers are the node's own, and only the grant
(may this socket publish, in which room, under which id) is asked of the leader.

Each node remembers its sockets' last successful join (with the resume token and device
of its ack): when the leader changes, it joins them all again with the new leader, and
the people keep their ids and roles without their pages noticing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moderation.rate_limit import TokenBucket
from rooms.errors import HirobaError, Reason
from server.cluster.bus import RedisBus, channel
from server.cluster.lease import Lease
from server.cluster.messages import (
    AudioCall,
    Connect,
    Disconnect,
    EventCall,
    Message,
    Reply,
    ResumeIssued,
    encode,
)
from server.config.settings import Settings
from server.sockets import events
from server.sockets.hub import Hub, Session

if TYPE_CHECKING:
    from server.audio.api import AudioApi

log = logging.getLogger(__name__)

#: Request headers a node passes on with a connection (the staff login is a cookie).
ENVIRON_KEYS = ("HTTP_COOKIE", "REMOTE_ADDR", "HTTP_ORIGIN", "HTTP_HOST", "HTTP_USER_AGENT")
#: Events an edge runs itself: the audio peers are the node's own (the leader only grants).
LOCAL_EVENTS = frozenset({events.AUDIO_PUBLISH, events.AUDIO_LISTEN, events.AUDIO_CLOSE})
#: How long an edge waits for the leader to answer an event.
CALL_TIMEOUT = 8.0
#: A socket's rejoin with a new leader that is not serving yet is tried again this often,
#: this far apart (10 s: a loaded machine's start-up, well within the pages' patience).
REJOIN_ATTEMPTS = 20
REJOIN_PAUSE = 0.5

#: Runs a socket.io event through this process's own handlers: (event, namespace, *args).
Trigger = Callable[..., Awaitable[Any]]
#: Starts a coroutine this node keeps track of (and cancels when it stops).
Spawn = Callable[[Awaitable[Any]], None]


def unavailable() -> dict[str, Any]:
    """The acknowledgement while no leader can answer."""
    return HirobaError(
        Reason.UNAVAILABLE, "the meeting server is changing over; try again in a moment"
    ).to_ack()


@dataclass(frozen=True)
class RememberedJoin:
    """A socket's last successful join (with its ack's resume token and device), to join
    it again with a new leader, and the participant id it got."""

    payload: dict[str, Any]
    pid: str


class EventForwarding:
    """Both sides of the forwarding: the edge's calls and the leader's serving of them."""

    def __init__(
        self,
        settings: Settings,
        hub: Hub,
        bus: RedisBus,
        lease: Lease,
        trigger: Trigger,
        disconnect: Callable[[str], Awaitable[None]],
        audio: AudioApi | None,
        spawn: Spawn,
        withheld_in: Callable[[str], list[str]] = lambda _room: [],
    ) -> None:
        """``trigger``: the socket.io server's own handlers; ``disconnect``: closes a
        socket of this node; ``audio``: its audio side (a socket's peers stay here);
        ``withheld_in(room)``: leader, who is held out of the room's closed session (an
        audio grant carries it to the edge)."""
        self.settings = settings
        self.name = settings.node_name
        self.hub = hub
        self.bus = bus
        self.lease = lease
        self.trigger = trigger
        self.disconnect = disconnect
        self.audio = audio
        self._spawn = spawn
        self._withheld_in = withheld_in
        #: Leader: the node of every socket connected elsewhere, and its request headers.
        self.remote: dict[str, str] = {}
        self.remote_environ: dict[str, dict[str, Any]] = {}
        #: This node's own sockets: request headers, and the last join that succeeded.
        self.local: dict[str, dict[str, Any]] = {}
        self.joins: dict[str, RememberedJoin] = {}
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._next_call = 0
        self._buckets: dict[str, TokenBucket] = {}
        self.forwarded = 0
        self.served = 0
        #: Set while this node may run events as the leader. Cleared while it is being
        #: promoted: a join that ran before the meetings were loaded from the store would
        #: be wiped by that load (the person "not in" the room afterwards).
        self.ready = asyncio.Event()
        self.ready.set()

    # --- events of this node's sockets ----------------------------------------------
    async def dispatch(self, event: str, args: tuple[Any, ...]) -> Any:
        """An event of a socket on this node (ClusterServer calls this on every node)."""
        sid = args[0]
        if event == "connect":
            result = await self.trigger(event, "/", *args)
            if result is not False:
                environ = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
                kept = {k: environ[k] for k in ENVIRON_KEYS if isinstance(environ.get(k), str)}
                self.local[sid] = kept
                if not self.lease.is_leader:
                    await self._send_leader(Connect(self.name, sid, kept))
            return result
        if event == "disconnect":
            self.local.pop(sid, None)
            self.joins.pop(sid, None)
            self._buckets.pop(sid, None)
            session = self.hub.sessions.get(sid)
            pid = session.pid if session is not None else None
            result = await self.trigger(event, "/", *args)
            if not self.lease.is_leader:
                if pid is not None and self.audio is not None:
                    await self.audio.drop(pid, "all")  # this node's peers of the socket
                await self._send_leader(Disconnect(self.name, sid))
            return result
        if self.lease.is_leader or event in LOCAL_EVENTS:
            if event not in LOCAL_EVENTS:
                await self.ready.wait()
            ack = await self.trigger(event, "/", *args)
        elif not await self._edge_allows(sid):
            return HirobaError(Reason.RATE_LIMITED, "too many messages").to_ack()
        else:
            ack = await self._call(lambda call: EventCall(call, self.name, sid, event,
                                                          list(args[1:])))
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

    async def _call(self, make: Callable[[int], EventCall | AudioCall]) -> Any:
        """Send the call ``make(call id)`` to the leader and wait for its reply."""
        leader = self.lease.leader
        if leader is None:
            return unavailable()
        self._next_call += 1
        call_id = self._next_call
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = future
        self.forwarded += 1
        try:
            if not await self.bus.publish(channel("ctl", leader), encode(make(call_id))):
                return unavailable()
            return await asyncio.wait_for(future, CALL_TIMEOUT)
        except TimeoutError:
            return unavailable()
        finally:
            self._calls.pop(call_id, None)

    async def audio_grant(self, session: Session, op: str) -> dict[str, Any]:
        """Edge: ask the leader to grant audio operation ``op`` to ``session``'s socket."""
        ack = await self._call(lambda call: AudioCall(call, self.name, session.sid, op))
        return ack if isinstance(ack, dict) else unavailable()

    async def _send_leader(self, message: Message) -> None:
        leader = self.lease.leader
        if leader is not None and leader != self.name:
            await self.bus.publish(channel("ctl", leader), encode(message))

    async def rejoin_all(self) -> None:
        """Tell the (new) leader about every socket here and join each again with its
        resume token: the people keep their ids and roles, their pages notice nothing."""
        for sid, environ in list(self.local.items()):
            if not self.lease.is_leader:
                await self._send_leader(Connect(self.name, sid, environ))
        for sid in list(self.joins):
            await self._rejoin(sid)
        if self.audio is not None and not self.lease.is_leader:
            await self.audio.regrant()

    async def _rejoin(self, sid: str) -> None:
        leader = self.lease.leader
        for attempt in range(REJOIN_ATTEMPTS):
            remembered = self.joins.get(sid)
            if remembered is None or sid not in self.local or self.lease.leader != leader:
                return  # gone meanwhile, or another change of leader rejoins it
            body = remembered.payload
            if self.lease.is_leader:
                ack = await self.trigger(events.JOIN, "/", sid, body)
            else:
                ack = await self._call(self._join_call(sid, body))
            if isinstance(ack, dict) and ack.get("ok") is True:
                self._remember_join(sid, (body,), ack)
                return
            # A new leader answers before its handlers are bound (it takes the lease at
            # the start of its own start-up) or while it loads the meetings: no ack, or
            # `unavailable`. Ask again; a join it refuses (a ban, a bad token) stays refused.
            reason = ack.get("reason") if isinstance(ack, dict) else None
            if reason not in (None, Reason.UNAVAILABLE.value) or attempt + 1 == REJOIN_ATTEMPTS:
                log.warning("could not rejoin socket %s: %s", sid, reason or ack)
                return
            await asyncio.sleep(REJOIN_PAUSE)

    def _join_call(self, sid: str, body: dict[str, Any]) -> Callable[[int], EventCall]:
        return lambda call: EventCall(call, self.name, sid, events.JOIN, [body])

    def our_pids(self) -> set[str]:
        """The participant ids of this node's joined sockets."""
        return {self.joins[sid].pid for sid in self.local if sid in self.joins}

    # --- messages from other nodes -----------------------------------------------------
    async def on_reply(self, message: Reply) -> None:
        future = self._calls.get(message.call)
        if future is not None and not future.done():
            future.set_result(message.ack)

    async def on_resume(self, message: ResumeIssued) -> None:
        self._keep_resume(message.sid, message.resume)

    async def on_connect(self, message: Connect) -> None:
        if not self.lease.is_leader:
            return
        self.remote[message.sid] = message.sender
        self.remote_environ[message.sid] = dict(message.env)
        if message.sid not in self.hub.sessions:
            await self.trigger("connect", "/", message.sid, self.remote_environ[message.sid],
                               None)

    async def on_disconnect(self, message: Disconnect) -> None:
        if self.lease.is_leader:
            await self.remote_disconnect(message.sid, "client")

    async def on_event(self, message: EventCall) -> None:
        if not self.lease.is_leader:
            await self._reply(message, unavailable())
        else:
            self._spawn(self._serve(message))

    async def on_audio_call(self, message: AudioCall) -> None:
        if not self.lease.is_leader:
            await self._reply(message, unavailable())
        else:
            self._spawn(self._serve_audio(message))

    async def _serve(self, message: EventCall) -> None:
        await self.ready.wait()
        sid = message.sid
        if sid not in self.hub.sessions:  # its connect was lost (a Redis outage)
            self.remote[sid] = message.sender
            await self.trigger("connect", "/", sid, self.remote_environ.get(sid, {}), None)
        self.served += 1
        ack = await self.trigger(message.event, "/", sid, *message.args)
        await self._reply(message, ack)

    async def _serve_audio(self, message: AudioCall) -> None:
        await self.ready.wait()
        session = self.hub.sessions.get(message.sid)
        try:
            if session is None or self.audio is None:
                raise HirobaError(Reason.NOT_JOINED, "join a room first")
            ack = await self.audio.serve_grant(session, message.op)
            # Who is held out of a closed session there, for the edge's plane: its
            # listener must not get one packet before the next change is announced.
            ack["withheld"] = self._withheld_in(str(ack["room"]))
        except HirobaError as exc:
            ack = exc.to_ack()
        await self._reply(message, ack)

    async def _reply(self, message: EventCall | AudioCall, ack: Any) -> None:
        await self.bus.publish(channel("ctl", message.sender), encode(Reply(message.call, ack)))

    async def remote_disconnect(self, sid: str, reason: str) -> None:
        """Leader: a socket of another node is gone (its node said so, or stopped)."""
        self.remote.pop(sid, None)
        self.remote_environ.pop(sid, None)
        if sid in self.hub.sessions:
            await self.trigger("disconnect", "/", sid, reason)

    def remote_nodes(self) -> set[str]:
        """Leader: the nodes whose sockets it serves."""
        return set(self.remote.values())

    async def node_lost(self, node: str) -> None:
        """Leader: ``node`` stopped answering; its people leave (they will rejoin)."""
        for sid in [s for s, n in self.remote.items() if n == node]:
            await self.remote_disconnect(sid, "node lost")

    def resume_issued(self, sid: str, token: str) -> None:
        """MeetingService: the leader gave a socket a resume token outside a join ack (an
        admission from the lobby). The node holding the socket keeps it for its next rejoin,
        so that an admitted person is not sent back to the lobby by a failover."""
        if sid in self.local:
            self._keep_resume(sid, token)
            return
        node = self.remote.get(sid)
        if node is not None:
            self._spawn(self.bus.publish(channel("ctl", node), encode(ResumeIssued(sid, token))))

    def _keep_resume(self, sid: str, token: str) -> None:
        remembered = self.joins.get(sid)
        if remembered is not None:
            remembered.payload["resume"] = token

    def node_of(self, sid: str) -> str | None:
        """Leader: the node holding socket ``sid`` if it is another's."""
        return self.remote.get(sid)
