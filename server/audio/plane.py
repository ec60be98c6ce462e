"""The audio plane: microphones in over WebRTC, encoded Opus forwarded to listeners.

Design (issue 4, DESIGN.md "aiortc audio"):

- **Uplinks** (:meth:`AudioPlane.open_uplink`): one receive-only peer per speaking
  participant. Its Opus packets are taken off aiortc's receive path by
  :mod:`server.audio.tap` and routed, still encoded, to listeners; nothing is decoded or
  re-encoded per listener. The answer returned to the browser asks for mono speech Opus at
  ``speech_bitrate`` (~20 kbps) with in-band FEC (:func:`server.audio.sdp.munge_opus_speech`):
  forwarded packets keep the speaker's own bitrate, so this is where the bitrate is set.
  The server itself encodes no audio at all.
- **Active speakers**: nothing is decoded (the tap's ``decode=False``). Each packet's
  level is the RFC 6464 ``ssrc-audio-level`` header value the sender measured (aiortc
  negotiates it in every audio answer; browsers send it), taken by the tap below the
  jitter buffer; a sender without it is estimated from the Opus packet's size
  (:mod:`server.audio.level`: silence and DTX frames are tiny). Decoding every microphone
  for its level cost ~19 ms of CPU per second each (issue 14, finding 9); recording keeps
  the encoded packets and decodes later, off the live path. A speaker is active while a
  packet reached ``active_dbov`` within the last ``active_hold`` seconds;
  ``on_active(room, ids)`` is called when a room's active set changes (the lead turns it
  into the avatar highlight).
- **Listeners** (:meth:`AudioPlane.open_listener`): one peer per listening participant,
  negotiated once with a fixed number of audio slots (the browser offers ``slots``
  receive-only audio transceivers; each becomes a
  :class:`server.audio.forward.ForwardedAudioTrack`). Who is heard on which slot changes
  with no renegotiation; ``on_slots(listener, {slot: speaker})`` tells the browser which
  slot carries whom, so it can place each slot's WebAudio panner at that avatar. By
  default (``lean_forwarding``) each speaker packet is sent to all its listener slots in
  one loop by :mod:`server.audio.lean` (no task, queue or ``av.Packet`` per listener;
  ~2x cheaper, docs/performance.md "Audio plane"); the slot's track then stays idle and
  its aiortc sender only does RTCP. On an aiortc that module is not pinned to, aiortc's
  sender sends each slot's track. Either way a listener that does not drain loses packets
  (its socket holding ~100 ms unsent, or its slot queue 5 packets), counted in
  ``dropped``; others are unaffected.
- **Who hears whom** (:mod:`server.audio.routing`, pure): in a ``FLOOR`` room
  (committee, consultation: the default) everyone hears the ids given to
  :meth:`set_speakers` (the floor holders; moderation drives it). In a ``PROXIMITY`` room
  (the plaza) each listener hears the ``proximity_n`` loudest *active* speakers within
  ``proximity_radius`` of their position (:meth:`set_positions`). Slots are sticky: a
  voice keeps its slot while it is heard.

Wiring points for the socket layer (the lead): ``set_mode`` when a room is created,
``set_speakers`` on every floor change, ``set_positions`` once per motion tick (only the
plaza), ``open_uplink`` / ``open_listener`` from the ``rtc:offer``-style events (answers
returned in the ack), ``move`` when a participant changes room, ``leave`` on disconnect,
``close`` at shutdown. Callbacks run on the event loop and must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from avatar.voice import MIN_DBOV
from rooms.errors import HirobaError, Reason
from server.audio.forward import ForwardedAudioTrack
from server.audio.lean import LeanSlot, lean_supported, send_to_slots
from server.audio.level import header_dbov, opus_estimate_dbov
from server.audio.routing import assign_slots, nearest_loudest, withhold
from server.audio.sdp import DEFAULT_SPEECH_BITRATE, munge_opus_speech, speech_fmtp
from server.audio.tap import install_tap

log = logging.getLogger(__name__)

#: ``(room, active speaker ids)``, whenever a room's active set changes.
ActiveListener = Callable[[str, frozenset[str]], None]
#: ``(listener id, {slot index: speaker id})``, whenever a listener's slots change.
SlotListener = Callable[[str, dict[int, str]], None]
#: ``(room, speaker id, Opus payload, RTP timestamp)`` for every packet an uplink forwards
#: (the recorder's tap: still encoded, on the event loop; it must not block).
PacketListener = Callable[[str, str, bytes, int], None]
#: ``(room, speaker, Opus payload, RTP timestamp, level dBov, loud)`` for every packet of
#: an uplink of this process, to send to the other nodes of a cluster.
PacketRelay = Callable[[str, str, bytes, int, float, bool], None]


class RoomMode(enum.Enum):
    FLOOR = "floor"  # committee / consultation: the floor holders, heard by everyone
    PROXIMITY = "proximity"  # plaza: the N loudest active speakers near each listener


@dataclass(frozen=True, slots=True)
class AudioSettings:
    """The plane's knobs; the lead maps them from :class:`server.config.settings.Settings`."""

    slots: int = 3
    proximity_n: int = 3
    proximity_radius: float = 12.0
    speech_bitrate: int = DEFAULT_SPEECH_BITRATE
    active_dbov: float = -50.0
    active_hold: float = 0.6
    #: Least time between two proximity re-rankings of one room on level changes.
    rerank_interval: float = 0.25
    #: Send to listeners through :mod:`server.audio.lean` (one loop per speaker packet)
    #: rather than aiortc's sender task per slot; ignored on an aiortc it is not pinned to.
    lean_forwarding: bool = True

    def __post_init__(self) -> None:
        speech_fmtp(self.speech_bitrate)  # raises ValueError outside 16–24 kbps
        if not 1 <= self.slots <= 8 or not 1 <= self.proximity_n <= self.slots:
            raise ValueError("need 1 <= proximity_n <= slots <= 8")


def audio_mlines(sdp: str) -> list[str]:
    return [line[2:].split(" ", 1)[0] for line in sdp.splitlines() if line.startswith("m=")]


@dataclass(eq=False)
class _Peer:
    pid: str
    room: str
    pc: RTCPeerConnection
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    closed: bool = False


@dataclass(eq=False)
class _Uplink(_Peer):
    packets: int = 0
    #: Levels read: from the packets' RFC 6464 header, or estimated from their size.
    frames: int = 0
    estimated: int = 0
    level: float = float(MIN_DBOV)  # smoothed, for ranking
    last_loud: float = -1e9
    #: The last RFC 6464 level the sender sent (dBov); None while it sent none.
    header_level: float | None = None


@dataclass(eq=False)
class _Remote:
    """A speaker whose microphone another cluster node receives (server/cluster/)."""

    pid: str
    room: str
    level: float = float(MIN_DBOV)
    last_loud: float = -1e9
    last_packet: float = 0.0
    packets: int = 0


#: How long a remote speaker stays routed after their last packet (DTX pauses included).
REMOTE_SILENCE_SECONDS = 1.5


@dataclass(eq=False)
class _Listener(_Peer):
    tracks: list[ForwardedAudioTrack] = field(default_factory=list)
    lean: list[LeanSlot] = field(default_factory=list)  # the same slots, lean path
    slots: dict[str, int] = field(default_factory=dict)  # speaker → slot


def _listener_counts(li: _Listener) -> tuple[int, int]:
    """Packets forwarded to and dropped for one listener, on either sending path."""
    forwarded = sum(t.forwarded for t in li.tracks) + sum(s.forwarded for s in li.lean)
    dropped = sum(t.dropped for t in li.tracks) + sum(s.dropped for s in li.lean)
    return forwarded, dropped


class AudioPlane:
    """Every uplink and listener peer of the process, and the routing between them."""

    def __init__(
        self,
        config_of: Callable[[], RTCConfiguration],
        settings: AudioSettings | None = None,
        on_active: ActiveListener | None = None,
        on_slots: SlotListener | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_packet: PacketListener | None = None,
    ) -> None:
        self.settings = settings or AudioSettings()
        self._config_of = config_of
        self._on_active = on_active
        self._on_slots = on_slots
        self._clock = clock
        self._modes: dict[str, RoomMode] = {}
        self._speakers: dict[str, tuple[str, ...]] = {}
        #: room → listeners held out of its closed session (秘密会): they hear nobody.
        self._withheld: dict[str, frozenset[str]] = {}
        self._positions: dict[str, dict[str, tuple[float, float]]] = {}
        self._active: dict[str, frozenset[str]] = {}
        self._uplinks: dict[str, _Uplink] = {}
        self._listeners: dict[str, _Listener] = {}
        # speaker id → the slots their packets go to (rebuilt on every routing change)
        self._routes: dict[str, list[ForwardedAudioTrack]] = {}
        self._lean_routes: dict[str, list[LeanSlot]] = {}
        self._lean = self.settings.lean_forwarding and lean_supported()
        if self.settings.lean_forwarding and not self._lean:
            log.warning("lean audio forwarding not pinned to this aiortc; using its senders")
        self._reranked: dict[str, float] = {}
        self._dirty: set[str] = set()  # rooms whose positions changed since their re-ranking
        self._sweeper: asyncio.Task[None] | None = None
        #: Sees every received packet (recording); None costs one test per packet.
        self.on_packet = on_packet
        # Cluster mode (relay_packets_to): local uplinks' packets go to the other nodes too.
        self._relay: PacketRelay | None = None
        self._remote: dict[str, _Remote] = {}
        # Packets of listeners already closed: /metrics counters must not fall when
        # someone leaves.
        self._closed_forwarded = 0
        self._closed_dropped = 0
        self._refused: dict[str, int] = {}

    def relay_packets_to(self, relay: PacketRelay | None) -> None:
        """Hand every packet of this process's uplinks also to ``relay(room, pid, payload,
        timestamp, level, loud)`` (a cluster node sends them to the other nodes); None
        stops that. Local forwarding is the same either way."""
        self._relay = relay

    # --- room state supplied from outside -------------------------------------------
    def set_mode(self, room: str, mode: RoomMode) -> None:
        self._modes[room] = mode
        self._reroute(room)

    def set_speakers(self, room: str, ids: Iterable[str]) -> None:
        """The floor holders of a FLOOR room (heard by everyone in it), in priority order."""
        self._speakers[room] = tuple(dict.fromkeys(ids))
        self._reroute(room)

    def set_withheld(self, room: str, pids: frozenset[str]) -> None:
        """The listeners of ``room`` held out of its closed session (empty: none); their
        slots are emptied now, so not one more speaker packet is sent to them."""
        if pids:
            self._withheld[room] = frozenset(pids)
        elif self._withheld.pop(room, None) is None:
            return
        self._reroute(room)

    def set_positions(self, room: str, positions: Mapping[str, tuple[float, float]]) -> None:
        """Everyone's plaza position ``(x, z)`` in a PROXIMITY room (replaces the last)."""
        self._positions[room] = dict(positions)
        if self._mode(room) is not RoomMode.PROXIMITY:
            return
        # Positions arrive every motion tick; re-ranking at most every rerank_interval
        # keeps a 500-person plaza cheap (the sweeper picks up the rest).
        if self._clock() - self._reranked.get(room, -1e9) >= self.settings.rerank_interval:
            self._reroute(room)
        else:
            self._dirty.add(room)

    def held_out(self, room: str) -> frozenset[str]:
        """The listeners of ``room`` held out of its closed session now (the leader's word,
        on a cluster edge): the public gallery reads from it whether the session is closed
        (server/meetings/closed.py ``GALLERY_PLANE``)."""
        return self._withheld.get(room, frozenset())

    def floor_speakers(self, room: str) -> tuple[str, ...]:
        """The floor holders of ``room`` as last set (the leader's, on a cluster edge):
        the public gallery carries these voices only."""
        return self._speakers.get(room, ())

    def active_speakers(self, room: str) -> frozenset[str]:
        return self._active.get(room, frozenset())

    def heard_by(self, listener: str) -> dict[int, str]:
        """Slot index → speaker id currently routed to ``listener``."""
        peer = self._listeners.get(listener)
        return {} if peer is None else {slot: s for s, slot in peer.slots.items()}

    def stats(self) -> dict[str, Any]:
        """Counters for benchmarks and diagnostics (no personal data)."""
        return {
            "uplinks": {
                p: {"packets": u.packets, "frames": u.frames, "estimated": u.estimated}
                for p, u in self._uplinks.items()
            },
            "listeners": {
                p: {"forwarded": sum(t.forwarded for t in li.tracks)
                                 + sum(s.forwarded for s in li.lean),
                    "dropped": sum(t.dropped for t in li.tracks) + sum(s.dropped for s in li.lean)}
                for p, li in self._listeners.items()
            },
        }  # fmt: skip

    def totals(self) -> tuple[int, int, int, int]:
        """``(uplinks, listeners, packets forwarded, packets dropped)``: the peers open now
        and packet counts since start, closed listeners included (for /metrics)."""
        forwarded, dropped = self._closed_forwarded, self._closed_dropped
        for li in self._listeners.values():
            f, d = _listener_counts(li)
            forwarded, dropped = forwarded + f, dropped + d
        return len(self._uplinks), len(self._listeners), forwarded, dropped

    def count_refusal(self, reason: str) -> None:
        """An offer the socket layer refused before any peer was made (a cap: its reason
        code), counted for /metrics with the plane's other totals."""
        self._refused[reason] = self._refused.get(reason, 0) + 1

    def refusals(self) -> dict[str, int]:
        """Offers refused since start, by reason code (:meth:`count_refusal`)."""
        return dict(self._refused)

    # --- peers ----------------------------------------------------------------------
    async def open_uplink(self, pid: str, room: str, offer_sdp: str) -> str:
        """Receive ``pid``'s microphone; returns the SDP answer (asking for mono speech)."""
        if audio_mlines(offer_sdp) != ["audio"]:
            raise HirobaError(Reason.BAD_FIELD, "the offer must hold exactly one audio stream")
        await self._close_peer(self._uplinks.pop(pid, None))
        peer = _Uplink(pid, room, RTCPeerConnection(self._config_of()))
        self._uplinks[pid] = peer

        tapped: list[object] = []

        @peer.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind != "audio" or tapped:
                return
            receiver = next(
                t.receiver for t in peer.pc.getTransceivers() if t.receiver.track is track
            )
            tapped.append(receiver)

            def on_level(level: int) -> None:
                peer.header_level = header_dbov(level)

            # No decode: levels come from the header extension or the packet size.
            install_tap(receiver, lambda payload, ts: self._forward(peer, payload, ts),
                        decode=False, on_level=on_level)

        self._watch(peer, self._uplinks)
        try:
            answer = await self._negotiate(peer, offer_sdp, "recvonly")
        except Exception as exc:
            await self._discard(peer, self._uplinks, exc)
        self._ensure_sweeper()
        self._reroute(room)
        return munge_opus_speech(answer, self.settings.speech_bitrate)

    async def open_listener(self, pid: str, room: str, offer_sdp: str) -> str:
        """Send audio to ``pid`` on the receive-only audio slots of their offer (1..slots)."""
        kinds = audio_mlines(offer_sdp)
        if not 1 <= len(kinds) <= self.settings.slots or set(kinds) != {"audio"}:
            raise HirobaError(
                Reason.BAD_FIELD, f"the offer must hold 1 to {self.settings.slots} audio streams"
            )
        await self._close_peer(self._listeners.pop(pid, None))
        peer = _Listener(pid, room, RTCPeerConnection(self._config_of()))
        self._listeners[pid] = peer
        self._watch(peer, self._listeners)
        try:
            await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            for _ in kinds:
                track = ForwardedAudioTrack()
                peer.tracks.append(track)
                peer.pc.addTrack(track)
            answer = await self._answer(peer, "sendonly")
            if self._lean:
                senders = {id(t.sender.track): t for t in peer.pc.getTransceivers()}
                peer.lean = [LeanSlot(senders[id(track)]) for track in peer.tracks]
        except Exception as exc:
            await self._discard(peer, self._listeners, exc)
        self._reroute(room)
        return answer

    def move(self, pid: str, room: str) -> None:
        """``pid`` (uplink and listener, if any) is now in ``room``."""
        old = {p.room for p in (self._uplinks.get(pid), self._listeners.get(pid)) if p}
        for peer in (self._uplinks.get(pid), self._listeners.get(pid)):
            if peer is not None:
                peer.room = room
        for r in old - {room}:
            self._positions.get(r, {}).pop(pid, None)
        for r in old | {room}:
            if not self._set_active(r):  # (re-routes by itself when it changes)
                self._reroute(r)

    async def close_uplink(self, pid: str) -> None:
        peer = self._uplinks.pop(pid, None)
        await self._close_peer(peer)
        if peer is not None:
            self._set_active(peer.room)
            self._reroute(peer.room)

    async def close_listener(self, pid: str) -> None:
        peer = self._listeners.pop(pid, None)
        await self._close_peer(peer)
        if peer is not None:
            self._reroute(peer.room)

    async def leave(self, pid: str) -> None:
        """Everything of ``pid`` stopped: their uplink, their listener peer, their position."""
        for positions in self._positions.values():
            positions.pop(pid, None)
        await self.close_uplink(pid)
        await self.close_listener(pid)

    async def close(self) -> None:
        """Stop every peer and task (server shutdown)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        peers: list[_Peer] = [*self._uplinks.values(), *self._listeners.values()]
        self._uplinks.clear()
        self._listeners.clear()
        self._remote.clear()
        self._routes.clear()
        self._lean_routes.clear()
        for peer in peers:
            await self._close_peer(peer)

    # --- internals --------------------------------------------------------------------
    def _mode(self, room: str) -> RoomMode:
        return self._modes.get(room, RoomMode.FLOOR)

    def remote_packet(
        self, room: str, pid: str, payload: bytes, timestamp: int, level: float, loud: bool
    ) -> None:
        """A packet of a speaker whose uplink is on another cluster node: routed and
        forwarded to this process's listeners like a local one (and recorded here)."""
        if pid in self._uplinks:
            return  # (their uplink moved here meanwhile)
        now = self._clock()
        peer = self._remote.get(pid)
        new = peer is None or peer.room != room
        if peer is None:
            peer = self._remote[pid] = _Remote(pid, room)
        old_room, peer.room = peer.room, room
        peer.level, peer.last_packet = level, now
        peer.packets += 1
        if loud:
            peer.last_loud = now
        if self.on_packet is not None:
            self.on_packet(room, pid, payload, timestamp)
        if new:
            self._ensure_sweeper()
            for r in {old_room, room}:
                # _set_active re-routes only a proximity room whose active set changed; a
                # floor room's routes need the new sender whether or not it is loud yet
                # (with levels read from the packet header, its first packet already is).
                if not self._set_active(r) or self._mode(r) is not RoomMode.PROXIMITY:
                    self._reroute(r)
        elif loud and self._active.get(room, frozenset()).isdisjoint({pid}):
            self._set_active(room)
        if self._lean:
            send_to_slots(self._lean_routes.get(pid, ()), peer, payload, timestamp)
            return
        for track in self._routes.get(pid, ()):
            track.push(payload)

    def _forget_silent_remotes(self) -> None:
        now = self._clock()
        for pid, peer in list(self._remote.items()):
            if now - peer.last_packet > REMOTE_SILENCE_SECONDS:
                del self._remote[pid]
                if not self._set_active(peer.room):
                    self._reroute(peer.room)

    def _speaking(self) -> list[_Uplink | _Remote]:
        """Every speaker: this process's uplinks and other nodes' (cluster mode)."""
        return [*self._uplinks.values(), *self._remote.values()]

    def _level(self, pid: str) -> float:
        peer = self._uplinks.get(pid)
        if peer is not None:
            return peer.level
        remote = self._remote.get(pid)
        return remote.level if remote is not None else float(MIN_DBOV)

    def _forward(self, peer: _Uplink, payload: bytes, timestamp: int) -> None:
        peer.packets += 1
        self._meter(peer, payload)
        if self.on_packet is not None:
            self.on_packet(peer.room, peer.pid, payload, timestamp)
        if self._relay is not None:
            loud = self._clock() - peer.last_loud <= self.settings.active_hold
            self._relay(peer.room, peer.pid, payload, timestamp, peer.level, loud)
        if self._lean:
            send_to_slots(self._lean_routes.get(peer.pid, ()), peer, payload, timestamp)
            return
        for track in self._routes.get(peer.pid, ()):
            track.push(payload)

    def _meter(self, peer: _Uplink, payload: bytes) -> None:
        """One packet's level: the sender's RFC 6464 value when it sends one (set by the
        tap just before, from the same packet's header), else an estimate from its size."""
        level = peer.header_level
        if level is None:
            level = opus_estimate_dbov(payload, self.settings.speech_bitrate)
            peer.estimated += 1
        peer.frames += 1
        # Fast attack, slow release: a ranking that does not flicker between words.
        peer.level = level if level > peer.level else 0.9 * peer.level + 0.1 * level
        now = self._clock()
        if level >= self.settings.active_dbov:
            peer.last_loud = now
            # Only becoming active needs a recount now; falling silent is the sweeper's.
            if peer.pid not in self._active.get(peer.room, frozenset()) and self._set_active(
                peer.room
            ):
                return  # _set_active re-routed already
        due = now - self._reranked.get(peer.room, -1e9) >= self.settings.rerank_interval
        if due and self._mode(peer.room) is RoomMode.PROXIMITY:
            self._reroute(peer.room)

    def _set_active(self, room: str) -> bool:
        """Recompute ``room``'s active set; True (and re-routed, told) if it changed."""
        now, hold = self._clock(), self.settings.active_hold
        active = frozenset(
            p.pid for p in self._speaking() if p.room == room and now - p.last_loud <= hold
        )
        if active == self._active.get(room, frozenset()):
            return False
        self._active[room] = active
        if self._mode(room) is RoomMode.PROXIMITY:
            self._reroute(room)
        if self._on_active is not None:
            self._on_active(room, active)
        return True

    async def _sweep(self) -> None:
        # Speakers whose packets stop (muted, DTX) still fall silent after the hold.
        period = min(self.settings.active_hold / 2, self.settings.rerank_interval)
        while True:
            await asyncio.sleep(period)
            self._forget_silent_remotes()
            rooms = {p.room for p in self._speaking()}
            for room in rooms | set(self._active):
                self._set_active(room)
            for room in list(self._dirty):
                self._reroute(room)

    def _ensure_sweeper(self) -> None:
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.ensure_future(self._sweep())

    def _wanted(self, room: str, listeners: list[_Listener]) -> dict[str, list[str]]:
        withheld = self._withheld.get(room)
        wanted = self._wanted_open(room, listeners)
        return wanted if not withheld else withhold(wanted, withheld)

    def _wanted_open(self, room: str, listeners: list[_Listener]) -> dict[str, list[str]]:
        sending = {p.pid for p in self._speaking() if p.room == room}
        if self._mode(room) is RoomMode.FLOOR:
            floor = [s for s in self._speakers.get(room, ()) if s in sending]
            return {li.pid: [s for s in floor if s != li.pid] for li in listeners}
        positions = self._positions.get(room, {})
        active = self.active_speakers(room)
        candidates = {s: positions[s] for s in sending if s in active and s in positions}
        placed = {li.pid: positions[li.pid] for li in listeners if li.pid in positions}
        levels = {s: self._level(s) for s in candidates}
        near = nearest_loudest(
            placed, candidates, levels, self.settings.proximity_radius, self.settings.proximity_n
        )
        return {li.pid: near.get(li.pid, []) for li in listeners}

    def _reroute(self, room: str) -> None:
        self._reranked[room] = self._clock()
        self._dirty.discard(room)
        listeners = [li for li in self._listeners.values() if li.room == room and not li.closed]
        wanted = self._wanted(room, listeners)
        for li in listeners:
            slots = assign_slots(li.slots, wanted[li.pid], len(li.tracks))
            if slots != li.slots:
                li.slots = slots
                if self._on_slots is not None:
                    self._on_slots(li.pid, {slot: s for s, slot in slots.items()})
        routes: dict[str, list[ForwardedAudioTrack]] = {}
        lean: dict[str, list[LeanSlot]] = {}
        for li in self._listeners.values():
            if li.closed:
                continue
            for speaker, slot in li.slots.items():
                routes.setdefault(speaker, []).append(li.tracks[slot])
                if li.lean:
                    lean.setdefault(speaker, []).append(li.lean[slot])
        self._routes = routes
        self._lean_routes = lean

    async def _negotiate(self, peer: _Peer, offer_sdp: str, direction: str) -> str:
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        return await self._answer(peer, direction)

    async def _answer(self, peer: _Peer, direction: str) -> str:
        for transceiver in peer.pc.getTransceivers():
            transceiver.direction = direction
        await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        return str(peer.pc.localDescription.sdp)

    def _watch(self, peer: _Peer, registry: Mapping[str, _Peer]) -> None:
        @peer.pc.on("connectionstatechange")
        async def on_state() -> None:
            if peer.pc.connectionState in ("failed", "closed") and registry.get(peer.pid) is peer:
                log.info("audio peer of %s ended: %s", peer.pid, peer.pc.connectionState)
                if isinstance(peer, _Uplink):
                    await self.close_uplink(peer.pid)
                else:
                    await self.close_listener(peer.pid)

    async def _discard(self, peer: _Peer, registry: dict[str, Any], exc: Exception) -> NoReturn:
        """A peer whose negotiation failed: forgotten, closed, and the reason raised."""
        if registry.get(peer.pid) is peer:
            del registry[peer.pid]
        await self._close_peer(peer)
        if isinstance(exc, HirobaError):
            raise exc
        raise HirobaError(Reason.BAD_FIELD, f"unusable offer: {exc}") from exc

    async def _close_peer(self, peer: _Peer | None) -> None:
        if peer is None or peer.closed:
            return
        peer.closed = True
        if isinstance(peer, _Listener):
            for track in peer.tracks:
                track.stop()
            forwarded, dropped = _listener_counts(peer)
            self._closed_forwarded += forwarded
            self._closed_dropped += dropped
        tasks = list(peer.tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await peer.pc.close()

    def counts(self) -> AudioPlaneCounts:
        """The plane's per-person state now, for ``/api/debug/leaks``."""
        return AudioPlaneCounts(
            uplinks=len(self._uplinks),
            listeners=len(self._listeners),
            positions=sum(len(room) for room in self._positions.values()),
            routes=len(self._routes) + len(self._lean_routes),
        )


@dataclass(frozen=True, slots=True)
class AudioPlaneCounts:
    """The audio plane's sizes at one moment (:meth:`AudioPlane.counts`)."""

    #: Open microphone (uplink) peers.
    uplinks: int
    #: Open listener peers.
    listeners: int
    #: Plaza positions kept for proximity routing, every room added up.
    positions: int
    #: Speakers with a route to listeners (sender-based and lean forwarding together).
    routes: int
