"""The audio plane wired to the app: socket events, floor changes, plaza positions.

:class:`server.audio.plane.AudioPlane` does the media work; this module only feeds it:

- ``audio:publish`` / ``audio:listen`` / ``audio:close`` (docs/protocol.md, "Audio"),
  behind the socket API's rate limits and error acks. Who may publish is the policy's
  ``audio.publish`` row (moderation/policy.py): anyone but observers and captioners in the
  plaza, only the audible (floor holder, chairs, staff) elsewhere, nobody muted.
- A staff seat's audio events, like all its events, first have its login checked
  (``MeetingService.vetted``; on a cluster leader, :meth:`AudioApi.serve_grant`): a
  disabled account's ``audio:publish`` is refused ``session_expired``.
- Every committed meeting change re-reads the room's speakers (``Hub.speakers``) and
  closes the microphone of anyone the policy no longer lets speak (floor ended, muted):
  their browser stops sending at once, and is told with ``audio:closed``.
- Plaza positions go to proximity routing ``audio_positions_hz`` times a second.
- ``audio:slots`` (to one listener) and ``audio:active`` (to the room) are sent in the
  order the plane reported them, by one sender task.
- Offers spend the socket's offer budget (``offers_per_second``), not the control
  events', before anything of them is read; a node holds at most ``audio_max_uplinks``
  microphones and ``audio_max_listeners`` listener peers, one client address (IPv6: its
  ``ipv6_limit_prefix`` network) ``audio_uplinks_per_address`` / ``audio_listeners_per_address``
  of them (loopback uncounted, as for sockets: a proxy on this host). Those who may walk
  onto the stage (members, the chair, staff) are counted but never refused: a crowd in the
  plaza must not silence a meeting. Refusals (``audio_full``, ``address_limit``) are
  counted for /metrics (issue 14, finding 9).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import socketio

from moderation import policy
from moderation.policy import Action
from rooms.errors import HirobaError, Reason
from rooms.model import Participant, RoomKind
from rooms.room import Room
from server.audio.messages import AudioClose, AudioListen, AudioPublish, AudioTarget
from server.audio.plane import (
    AudioPlane,
    AudioPlaneCounts,
    AudioSettings,
    PacketListener,
    PacketRelay,
    RoomMode,
    audio_mlines,
)
from server.common.networks import is_loopback, limit_key
from server.common.periodic import Periodic
from server.config.settings import Settings
from server.meetings.service import MeetingService
from server.rtc.ice import announced_only, rtc_configuration, screen_candidates
from server.sockets import events
from server.sockets.hub import Hub, Session
from server.sockets.registry import Register, offers_bucket

log = logging.getLogger(__name__)

Ack = dict[str, Any]
#: (event, payload, socket.io target keyword arguments)
_Emit = tuple[str, Any, dict[str, str]]
#: Asks the leader whether a socket may do an audio operation: ``grant(session, op)``.
Grant = Callable[[Session, str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ClusterAudioHooks:
    """The audio side's part in a cluster (:meth:`AudioApi.use_cluster`), for the role
    this node has now: the leader decides and tells the others; an edge asks the leader
    and follows its word. A cluster node gives new hooks whenever its role changes. The
    defaults are a single process's: it decides, and tells nobody."""

    #: Every packet of this node's microphones goes to the other nodes too (either role).
    relay: PacketRelay | None = None
    #: Edge: asks the leader for the room, id and permission of a socket's audio event
    #: (``op``: "publish", "listen", "close:<what>"); the peers stay this node's. None on
    #: the leader, which decides itself.
    grant: Grant | None = None
    #: Leader: tells every node a room's floor speakers, in order (holder first).
    speakers_changed: Callable[[str, list[str]], None] | None = None
    #: Leader: ``remote_gone(pid, sid, what)`` closes peers another node holds ("publish"
    #: or "all").
    remote_gone: Callable[[str, str, str], None] | None = None
    #: Edge: plaza positions from the motion plane's replica (its hub has no people).
    positions_of: Callable[[str], dict[str, tuple[float, float]]] | None = None
    #: Send ``audio:active`` to the room's sockets: the leader, who hears every node's
    #: speakers, does; an edge does not (the leader's reaches its sockets too).
    emit_active: bool = True


def plane_settings(settings: Settings) -> AudioSettings:
    return AudioSettings(
        slots=settings.audio_slots,
        proximity_n=settings.audio_proximity_n,
        proximity_radius=settings.audio_radius,
        speech_bitrate=settings.audio_speech_bitrate,
    )


def room_mode(room: Room) -> RoomMode:
    return RoomMode.PROXIMITY if room.kind is RoomKind.PLAZA else RoomMode.FLOOR


class AudioApi:
    """The audio side of one server process."""

    def __init__(
        self,
        settings: Settings,
        sio: socketio.AsyncServer,
        hub: Hub,
        meetings: MeetingService,
        on_packet: PacketListener | None = None,
    ) -> None:
        """``on_packet`` sees every Opus packet the plane forwards (the recorder)."""
        self.settings = settings
        self.sio = sio
        self.hub = hub
        self.meetings = meetings
        self.plane = AudioPlane(
            config_of=lambda: rtc_configuration(settings.ice_servers),
            settings=plane_settings(settings),
            on_active=self._on_active,
            on_slots=self._on_slots,
            on_packet=on_packet,
        )
        self.positions = Periodic("audio-positions", settings.audio_positions_hz, self._feed)
        #: pid → (socket id, room id) of every open uplink and listener peer.
        self.publishing: dict[str, tuple[str, str]] = {}
        self.listening: dict[str, tuple[str, str]] = {}
        self._slot_counts: dict[str, int] = {}
        self._speakers: dict[str, frozenset[str]] = {}
        self._speaker_order: dict[str, tuple[str, ...]] = {}
        self._moded: set[str] = set()
        self._outbox: asyncio.Queue[_Emit] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = False
        # Cluster mode: set through use_cluster (see ClusterAudioHooks for each).
        self._grant: Grant | None = None
        self._speakers_changed: Callable[[str, list[str]], None] | None = None
        self._remote_gone: Callable[[str, str, str], None] | None = None
        self._emit_active = True
        self._positions_of: Callable[[str], dict[str, tuple[float, float]]] | None = None
        #: Leader: pid → socket id of audio peers another node holds.
        self.remote_peers: dict[str, str] = {}
        hub.leave_listeners.append(self._left)
        meetings.change_listeners.append(self.refresh)

    def bind(self, register: Register) -> None:
        """Register the socket events behind the guard."""
        # Offers spend their own budget (offers_per_second), checked before the payload
        # is read: each builds a peer connection (issue 14, finding 9).
        register(events.AUDIO_PUBLISH, self.publish, bucket_of=offers_bucket)
        register(events.AUDIO_LISTEN, self.listen, bucket_of=offers_bucket)
        register(events.AUDIO_CLOSE, self.close)

    def use_cluster(self, hooks: ClusterAudioHooks | None) -> None:
        """Work as a cluster node in the role ``hooks`` describe (server/cluster/
        audio_relay.py gives them at start and again when this node becomes the leader);
        None: a single process, which decides and tells nobody. Takes effect from the next
        event; peers already open stay."""
        if hooks is None:
            hooks = ClusterAudioHooks()
        self.plane.relay_packets_to(hooks.relay)
        self._grant = hooks.grant
        self._speakers_changed = hooks.speakers_changed
        self._remote_gone = hooks.remote_gone
        self._positions_of = hooks.positions_of
        self._emit_active = hooks.emit_active

    def start(self) -> None:
        for room_id in self.hub.rooms:
            self.refresh(room_id)
        self._spawn(self._send())
        self.positions.start()

    async def stop(self) -> None:
        """Close every peer (server shutdown); later leaves are no-ops."""
        self._stopped = True
        self.publishing.clear()
        self.listening.clear()
        await self.positions.stop()
        await self.plane.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- socket events ------------------------------------------------------------
    async def publish(self, session: Session, payload: object) -> Ack:
        request = AudioPublish.parse(payload)
        if self._grant is not None:
            room, pid = await self._granted(session, "publish")
        else:
            room, pid = self.hub.joined_room(session)
            meeting = self.meetings.meeting(room.id)
            meeting.require(pid, Action.AUDIO_PUBLISH, self.meetings.clock())
        self._ensure_mode(room)
        self._admit(session, room, pid, self.publishing, self.settings.audio_max_uplinks,
                    self.settings.audio_uplinks_per_address, "microphones")
        self.publishing[pid] = (session.sid, room.id)
        try:
            answer = await self.plane.open_uplink(
                pid, room.id, screen_candidates(request.sdp, session.address))
        except Exception:
            self.publishing.pop(pid, None)
            if self._grant is not None:
                await self._grant(session, "close:publish")
            raise
        await self._still_there(session, pid, room.id)
        log.info("microphone on in %s (%d sending)", room.id, len(self.publishing))
        return {"ok": True, "type": "answer", "sdp": announced_only(answer)}

    async def listen(self, session: Session, payload: object) -> Ack:
        request = AudioListen.parse(payload)
        if request.slots > self.settings.audio_slots:
            raise HirobaError(
                Reason.BAD_FIELD, f"at most {self.settings.audio_slots} slots on this server"
            )
        if self._grant is None:
            room, pid = self.hub.joined_room(session)
        if len(audio_mlines(request.sdp)) != request.slots:
            raise HirobaError(Reason.BAD_FIELD, "the offer must hold exactly `slots` streams")
        if self._grant is not None:
            room, pid = await self._granted(session, "listen")
        self._ensure_mode(room)
        self._admit(session, room, pid, self.listening, self.settings.audio_max_listeners,
                    self.settings.audio_listeners_per_address, "listeners")
        self.listening[pid] = (session.sid, room.id)
        self._slot_counts[pid] = request.slots
        try:
            answer = await self.plane.open_listener(
                pid, room.id, screen_candidates(request.sdp, session.address))
        except Exception:
            self.listening.pop(pid, None)
            raise
        await self._still_there(session, pid, room.id)
        return {
            "ok": True, "type": "answer", "sdp": announced_only(answer),
            "slots": self._slot_list(pid, self.plane.heard_by(pid)),
            "active": sorted(self.plane.active_speakers(room.id)),
        }  # fmt: skip

    async def close(self, session: Session, payload: object) -> Ack:
        request = AudioClose.parse(payload)
        pid = session.pid
        if pid is None:
            raise HirobaError(Reason.NOT_JOINED, "join a room first")
        if request.what in (AudioTarget.PUBLISH, AudioTarget.ALL):
            await self._close_uplink(pid)
        if request.what in (AudioTarget.LISTEN, AudioTarget.ALL):
            self.listening.pop(pid, None)
            await self.plane.close_listener(pid)
        if self._grant is not None:
            await self._grant(session, "close:" + request.what.value)
        return {"ok": True}

    # --- cluster mode ---------------------------------------------------------------------
    async def _granted(self, session: Session, op: str) -> tuple[Room, str]:
        """Edge: the leader's answer for this socket's ``op``; raises its refusal."""
        assert self._grant is not None
        answer = await self._grant(session, op)
        if answer.get("ok") is not True:
            reason = str(answer.get("reason", "internal"))
            raise HirobaError(Reason(reason) if reason in Reason.__members__.values()
                              else Reason.INTERNAL, str(answer.get("message", "")))
        room = self.hub.room(str(answer["room"]))
        session.room, session.pid = room.id, str(answer["pid"])
        self._ensure_mode(room)
        self.apply_speakers(room.id, [str(s) for s in answer.get("speakers", [])])
        return room, session.pid

    async def serve_grant(self, session: Session, op: str) -> Ack:
        """Leader: may the socket (on another node) do ``op``; registers its peers."""
        if not op.startswith("close:"):
            # The edge's registry vouched with the edge's seats (none): the staff login
            # check happens here, where the seat is (issue 14, finding 4).
            await self.meetings.vouch(session)
        room, pid = self.hub.joined_room(session)
        if op == "publish":
            self.meetings.meeting(room.id).require(pid, Action.AUDIO_PUBLISH,
                                                   self.meetings.clock())
            self.publishing[pid] = (session.sid, room.id)
            self.remote_peers[pid] = session.sid
        elif op == "listen":
            self.listening[pid] = (session.sid, room.id)
            self.remote_peers[pid] = session.sid
        elif op.startswith("close:"):
            what = op.removeprefix("close:")
            if what in ("publish", "all"):
                self.publishing.pop(pid, None)
            if what in ("listen", "all"):
                self.listening.pop(pid, None)
            if pid not in self.publishing and pid not in self.listening:
                self.remote_peers.pop(pid, None)
        else:
            raise HirobaError(Reason.BAD_FIELD, f"no audio operation {op[:20]!r}")
        meeting = self.meetings.meetings.get(room.id)
        holder = meeting.floor.holder if meeting is not None else None
        speakers = sorted(self.hub.speakers(room.id), key=lambda s: (s != holder, s))
        return {"ok": True, "room": room.id, "pid": pid, "speakers": speakers}

    def apply_speakers(self, room_id: str, ids: list[str]) -> None:
        """Edge: a room's floor speakers as the leader decided them."""
        if tuple(ids) != self._speaker_order.get(room_id):
            self._speaker_order[room_id] = tuple(ids)
            self.plane.set_speakers(room_id, ids)

    async def regrant(self) -> None:
        """Edge, after the leader changed: tell the new one about this node's peers; a
        microphone it no longer allows closes."""
        assert self._grant is not None
        for op, peers in (("publish", self.publishing), ("listen", self.listening)):
            for pid, (sid, _room) in list(peers.items()):
                session = self.hub.sessions.get(sid)
                if session is None:
                    continue
                answer = await self._grant(session, op)
                if answer.get("ok") is not True:
                    await self.drop(pid, "publish" if op == "publish" else "all")
                    body = {"reason": answer.get("reason", "forbidden"),
                            "message": answer.get("message", "")}
                    self._emit(events.AUDIO_CLOSED, body, to=sid)

    async def drop(self, pid: str, what: str = "all") -> None:
        """Edge: close this node's peers of ``pid`` (the leader said so, or it left)."""
        if what in ("publish", "all"):
            await self._close_uplink(pid)
        if what == "all":
            self.listening.pop(pid, None)
            self._slot_counts.pop(pid, None)
            await self.plane.leave(pid)

    # --- meeting changes and positions ------------------------------------------------
    def refresh(self, room_id: str) -> None:
        """After a meeting change in ``room_id`` ("" for every room): the floor holders
        heard there, and the microphones of those no longer allowed to speak closed."""
        if self._stopped:
            return
        for rid in [room_id] if room_id else list(self.hub.rooms):
            meeting = self.meetings.meetings.get(rid)
            if meeting is None:
                continue
            speakers = self.hub.speakers(rid)
            if speakers != self._speakers.get(rid):
                self._speakers[rid] = speakers
                holder = meeting.floor.holder
                ordered = sorted(speakers, key=lambda s: (s != holder, s))
                self.plane.set_speakers(rid, ordered)
                if self._speakers_changed is not None:
                    self._speakers_changed(rid, ordered)
            now = self.meetings.clock()
            for pid, (sid, room) in list(self.publishing.items()):
                if room != rid:
                    continue
                person = meeting.people.get(pid)
                if person is None:
                    decision = policy.Decision(False, Reason.NOT_JOINED, "you left the room")
                else:
                    ctx = meeting.context(person, now)
                    decision = policy.decide(person.role, Action.AUDIO_PUBLISH, ctx)
                if not decision.allowed:
                    self.publishing.pop(pid, None)
                    self._spawn(self.plane.close_uplink(pid))
                    if pid in self.remote_peers and self._remote_gone is not None:
                        self._remote_gone(pid, self.remote_peers[pid], "publish")
                    reason = decision.reason or Reason.FORBIDDEN
                    body = {"reason": reason.value, "message": decision.message}
                    self._emit(events.AUDIO_CLOSED, body, to=sid)

    async def _feed(self) -> None:
        rooms = {room for _, room in [*self.publishing.values(), *self.listening.values()]}
        for rid in rooms:
            room = self.hub.rooms.get(rid)
            if room is not None and room.kind is RoomKind.PLAZA:
                if self._positions_of is not None:
                    where = self._positions_of(rid)
                else:
                    where = {p.id: (p.x, p.z) for p in room.participants.values()}
                self.plane.set_positions(rid, where)

    # --- internals ----------------------------------------------------------------------
    def join_extra(self, room: Room, participant: Participant) -> dict[str, object]:
        """The join ack's ``audio`` part: slots, the room's mode, the hearing radius."""
        audio = {"slots": self.settings.audio_slots, "mode": room_mode(room).value,
                 "radius": self.settings.audio_radius}  # fmt: skip
        return {"audio": audio}

    def _admit(
        self, session: Session, room: Room, pid: str, peers: dict[str, tuple[str, str]],
        most: int, per_address: int, what: str,
    ) -> None:
        """Refuse a new peer over the node's cap (``audio_full``) or its address's
        (``address_limit``). A peer that replaces one of the same person takes no new
        place; stage roles are never refused. Counting by scanning ``peers`` (a few
        hundred at most, once per offer, which the offer budget keeps rare) keeps no
        second book that could drift from them."""
        if pid in peers:
            return
        person = room.participants.get(pid)
        if person is not None and policy.may_enter_stage(person.role):
            return
        if most and len(peers) >= most:
            self.plane.count_refusal(Reason.AUDIO_FULL)
            raise HirobaError(Reason.AUDIO_FULL, f"this server has all the {what} it can take;"
                                                 " try again later")
        if not per_address or session.address is None or is_loopback(session.address):
            return
        prefix = self.settings.ipv6_limit_prefix
        mine = limit_key(session.address, prefix)
        held = 0
        for sid, _room in peers.values():
            other = self.hub.sessions.get(sid)
            address = other.address if other is not None else None
            if address is not None and limit_key(address, prefix) == mine:
                held += 1
        if held >= per_address:
            self.plane.count_refusal(Reason.ADDRESS_LIMIT)
            raise HirobaError(Reason.ADDRESS_LIMIT,
                              f"your network already has {held} {what} open here")

    def _ensure_mode(self, room: Room) -> None:
        if room.id not in self._moded:
            self._moded.add(room.id)
            self.plane.set_mode(room.id, room_mode(room))

    async def _still_there(self, session: Session, pid: str, room_id: str) -> None:
        if session.pid != pid or session.room != room_id or not session.connected:
            # Left (or moved rooms) while the connection was negotiated.
            self.publishing.pop(pid, None)
            self.listening.pop(pid, None)
            await self.plane.leave(pid)
            raise HirobaError(Reason.NOT_JOINED, "left the room during set-up")

    async def _close_uplink(self, pid: str) -> None:
        self.publishing.pop(pid, None)
        await self.plane.close_uplink(pid)

    def _slot_list(self, pid: str, mapping: dict[int, str]) -> list[str | None]:
        return [mapping.get(i) for i in range(self._slot_counts.get(pid, len(mapping)))]

    def _on_slots(self, listener: str, mapping: dict[int, str]) -> None:
        found = self.listening.get(listener)
        if found is not None:
            self._emit(events.AUDIO_SLOTS, {"slots": self._slot_list(listener, mapping)},
                       to=found[0])  # fmt: skip

    def _on_active(self, room: str, ids: frozenset[str]) -> None:
        if not self._emit_active:
            return  # a cluster edge: the leader, who hears every node's speakers, tells
        self._emit(events.AUDIO_ACTIVE, {"room": room, "active": sorted(ids)}, room=room)

    def _emit(self, event: str, body: Any, **target: str) -> None:
        if not self._stopped:
            self._outbox.put_nowait((event, body, target))

    async def _send(self) -> None:
        while True:
            event, body, target = await self._outbox.get()
            try:
                await self.sio.emit(event, body, **target)
            except Exception:
                log.exception("could not send %s", event)

    def _left(self, room_id: str, participant: Participant) -> None:
        pid = participant.id
        remote_sid = self.remote_peers.pop(pid, None)
        if remote_sid is not None and self._remote_gone is not None:
            self._remote_gone(pid, remote_sid, "all")
        self.publishing.pop(pid, None)
        self.listening.pop(pid, None)
        self._slot_counts.pop(pid, None)
        if not self._stopped:
            self._spawn(self.plane.leave(pid))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def counts(self) -> AudioCounts:
        """The audio side's per-person state now, for ``/api/debug/leaks``."""
        return AudioCounts(
            plane=self.plane.counts(),
            publishing=len(self.publishing),
            listening=len(self.listening),
            slot_counts=len(self._slot_counts),
            tasks=len(self._tasks),
        )

    def limits(self) -> AudioLimits:
        """The caps on peers and how often each refused an offer, for ``/api/debug/leaks``."""
        refused = self.plane.refusals()
        s = self.settings
        return AudioLimits(
            uplinks_max=s.audio_max_uplinks,
            listeners_max=s.audio_max_listeners,
            uplinks_per_address=s.audio_uplinks_per_address,
            listeners_per_address=s.audio_listeners_per_address,
            refused_full=refused.get(Reason.AUDIO_FULL.value, 0),
            refused_address=refused.get(Reason.ADDRESS_LIMIT.value, 0),
        )


@dataclass(frozen=True, slots=True)
class AudioCounts:
    """The audio side's sizes at one moment (:meth:`AudioApi.counts`)."""

    #: The plane's peers, positions and routes.
    plane: AudioPlaneCounts
    #: Participants with an open microphone peer, as the socket events know them.
    publishing: int
    #: Participants with an open listener peer, as the socket events know them.
    listening: int
    #: Listeners' numbers of receive slots, kept per participant.
    slot_counts: int
    #: Background tasks: the event sender (one, for good) and peer clean-ups (a leaver's
    #: peers, a microphone closed when its speaker lost the floor).
    tasks: int


@dataclass(frozen=True, slots=True)
class AudioLimits:
    """The audio side's caps (0: none) and the offers they refused since start
    (:meth:`AudioApi.limits`)."""

    uplinks_max: int
    listeners_max: int
    uplinks_per_address: int
    listeners_per_address: int
    #: Offers refused with ``audio_full`` (the node's cap).
    refused_full: int
    #: Offers refused with ``address_limit`` (one address's cap).
    refused_address: int
