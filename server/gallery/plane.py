"""The gallery plane: per room its viewers, one frame per period, the same bytes for all.

Every ``frame_ms`` each room with viewers gets ONE frame (:func:`codec.encode_frame`): the
stage members' poses and a rotating sample of the crowd from this node's motion plane, the
crowd's size, and the floor speakers' Opus packets received since the last frame. The
frame is wrapped once as a WebSocket message (:mod:`server.common.wsframe`) and written
to each viewer's transport: one ``transport.write`` per viewer, no await, no per-viewer
encoding. A viewer whose transport still holds more than ``busy_bytes`` unsent is skipped
for the frame (counted), never queued; one that stays that way for ``cut_seconds`` is cut
off (its transport aborted), so a viewer that never reads costs the others nothing.

On a cluster edge the motion plane holds the leader's state and ``on_packet`` fires for
the other nodes' speakers too, so every node fans out locally.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from rooms.errors import HirobaError, Reason
from server.common.periodic import Periodic
from server.common.wsframe import binary_frame
from server.gallery import codec
from server.motion.codec import PLAIN_SIZE
from server.motion.plane import MotionPlane

log = logging.getLogger(__name__)

#: Plain (unposed) people a frame carries at most: a rotating sample of the crowd.
PLAIN_SAMPLE = 64
#: Seconds a viewer may stay too busy to take frames before it is cut off.
CUT_SECONDS = 10.0
#: Viewers that missed a state message and are sent the whole public state again, at most,
#: per room per frame (the rest the next frames): a crowd catching up at once after a
#: stall is spread over frames, never a burst of whole states.
REFRESH_PER_FRAME = 16
#: Audio packets kept per room between two frames at most (older ones are dropped: a
#: frame late by seconds would otherwise carry a burst no one can play in time).
MAX_PENDING_AUDIO = codec.MAX_AUDIO


class Writable(Protocol):
    """The part of an asyncio transport a viewer is written through."""

    def write(self, data: bytes) -> None: ...

    def get_write_buffer_size(self) -> int: ...

    def is_closing(self) -> bool: ...

    def abort(self) -> None: ...


@dataclass(frozen=True, slots=True)
class GalleryLimits:
    """The plane's numbers (from the settings)."""

    frame_ms: int = 60
    busy_bytes: int = 64 * 1024
    max_per_room: int = 5000
    max_per_node: int = 3000
    per_address: int = 20
    cut_seconds: float = CUT_SECONDS


@dataclass(eq=False)
class Viewer:
    """One watch-only connection."""

    room: str
    transport: Writable
    #: The per-address key its place counts under (None: not counted, e.g. loopback).
    address: str | None
    since: float
    id: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    name: str = ""
    hand: bool = False
    ask: bool = False
    text: str = ""
    asked_at: float | None = None
    #: Since when its transport has been too busy for frames (None: it takes them).
    busy_since: float | None = None
    skipped: int = 0
    seq: int = 0
    #: A state message was skipped while it was busy: it gets the whole public state again
    #: once it takes frames (a missed ``chat.hidden`` would leave the line on its page).
    stale: bool = False
    #: Its ``hello`` was written: until then it is sent nothing else (on a cluster edge the
    #: hello may wait for the leader's snapshot of the room; the endpoint clears it then).
    greeted: bool = True

    def request(self) -> dict[str, object] | None:
        """What staff see of it while its hand is up or it asks to speak."""
        if not (self.hand or self.ask):
            return None
        return {"viewer": self.id, "name": self.name, "hand": self.hand, "ask": self.ask,
                "text": self.text, "since": self.asked_at}


@dataclass
class GalleryStats:
    """Counters since start (every room), for /metrics and the bench."""

    frames: int = 0
    writes: int = 0
    bytes: int = 0
    skipped: int = 0
    cut_off: int = 0
    audio_packets: int = 0
    audio_dropped: int = 0
    #: Seconds spent writing frames to transports, added up (the per-viewer cost).
    fanout_seconds: float = 0.0

    def summary(self) -> dict[str, object]:
        return {"frames": self.frames, "writes": self.writes, "bytes": self.bytes,
                "skipped": self.skipped, "cut_off": self.cut_off,
                "audio_packets": self.audio_packets, "audio_dropped": self.audio_dropped,
                "fanout_us_per_write": round(self.fanout_seconds / self.writes * 1e6, 3)
                if self.writes else None}


@dataclass(eq=False)
class GalleryRoom:
    """One room's viewers and what its next frame carries."""

    id: str
    viewers: dict[str, Viewer] = field(default_factory=dict)
    peak: int = 0
    #: (speaker, rtp_ts, payload, arrived) since the last frame.
    audio: list[tuple[str, int, bytes, float]] = field(default_factory=list)
    #: The last frame's number: frames are numbered apart from state messages, so that a
    #: viewer sees a frame it missed as a gap.
    seq: int = 0
    state_seq: int = 0
    rotate: int = 0
    closed: bool = False
    #: Reopened since the public state was last sent: the next ``state`` carries all of it.
    reopened: bool = False
    counted: tuple[int, int] | None = None
    #: A cluster's leader: the viewers of this room on the other nodes (node -> their ids).
    remote: dict[str, set[str]] = field(default_factory=dict)
    #: ... and their hands and requests to speak (node -> as :meth:`Viewer.request`).
    remote_requests: dict[str, tuple[dict[str, object], ...]] = field(default_factory=dict)
    #: Any other cluster node: the whole cluster's (viewers, peak), the leader's word.
    told: tuple[int, int] | None = None

    def total(self) -> int:
        """Viewers of the room on every node this one knows of."""
        return len(self.viewers) + sum(len(ids) for ids in self.remote.values())


#: Called with (room, viewer id, arrived): a viewer came (True) or went (False).
PresenceListener = Callable[[str, str, bool], None]


class GalleryPlane:
    """All gallery viewers of this process and the frame loop."""

    def __init__(
        self,
        limits: GalleryLimits,
        motion: MotionPlane,
        *,
        speakers_of: Callable[[str], Iterable[str]],
        closed_of: Callable[[str], bool] = lambda _room: False,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits
        self.motion = motion
        self.speakers_of = speakers_of
        self.closed_of = closed_of
        self.clock = clock
        self.wall = wall
        self.rooms: dict[str, GalleryRoom] = {}
        self.stats = GalleryStats()
        self.presence_listeners: list[PresenceListener] = []
        #: Called with (room, viewers, peak) when a room's count changed (at most once a
        #: second): a cluster's leader tells the other nodes.
        self.count_listeners: list[Callable[[str, int, int], None]] = []
        #: A cluster's leader: when each other node with viewers last reported (monotonic).
        self.node_seen: dict[str, float] = {}
        #: The whole public state of a room as one ``state`` message, for a viewer that
        #: missed some (set by GalleryState); None: nothing to send.
        self.refresh_of: Callable[[str], dict[str, Any] | None] = lambda _room: None
        #: Called with the room when a viewer raised or lowered a hand, or asked to speak
        #: or withdrew (a cluster node tells its leader, whose staff list them).
        self.request_listeners: list[Callable[[str], None]] = []
        #: A cluster's leader: writes a message on a viewer's socket on another node
        #: (node, room, viewer, message); None alone.
        self.deliver_elsewhere: Callable[[str, str, str, dict[str, Any]], None] | None = None
        self._loop = Periodic("gallery frames", 1000.0 / limits.frame_ms, self._tick)
        self._count_loop = Periodic("gallery counts", 1.0, self._send_counts)

    # -- viewers ------------------------------------------------------------------------
    @property
    def viewer_count(self) -> int:
        return sum(len(r.viewers) for r in self.rooms.values())

    def count(self, room: str) -> tuple[int, int]:
        """(viewers now, peak) of ``room``: in a cluster, on every node (the leader counts
        them; the other nodes are told)."""
        g = self.rooms.get(room)
        if g is None:
            return (0, 0)
        return g.told if g.told is not None else (g.total(), g.peak)

    def _room(self, room: str) -> GalleryRoom:
        g = self.rooms.get(room)
        if g is None:
            g = self.rooms[room] = GalleryRoom(room, closed=self.closed_of(room))
        return g

    # -- other nodes' viewers (a cluster's leader) --------------------------------------
    def remote_presence(self, node: str, room: str, viewer: str, arrived: bool) -> bool:
        """A viewer of ``room`` on ``node`` came or went; False when this was known
        already (its node's summary told it first)."""
        self.node_seen[node] = self.clock()
        g = self._room(room)
        held = g.remote.setdefault(node, set())
        changed = (viewer not in held) if arrived else (viewer in held)
        if arrived:
            held.add(viewer)
            g.peak = max(g.peak, g.total())
        else:
            held.discard(viewer)
            asked = g.remote_requests.get(node, ())
            if any(r["viewer"] == viewer for r in asked):
                g.remote_requests[node] = tuple(r for r in asked if r["viewer"] != viewer)
        if not held:
            del g.remote[node]
        return changed

    def remote_summary(self, node: str, rooms: dict[str, tuple[str, ...]],
                       requests: dict[str, tuple[dict[str, object], ...]],
                       ) -> list[tuple[str, str, bool]]:  # fmt: skip
        """``node``'s viewers by room and their requests now (its periodic summary): the
        node's part of every room is replaced; returns (room, viewer, arrived) for each
        viewer that came or went unheard of (a presence message lost)."""
        self.node_seen[node] = self.clock()
        changes: list[tuple[str, str, bool]] = []
        for room in set(rooms) | {r for r, g in self.rooms.items() if node in g.remote}:
            now, g = set(rooms.get(room, ())), self._room(room)
            before = g.remote.get(node, set())
            changes += [(room, v, True) for v in now - before]
            changes += [(room, v, False) for v in before - now]
            if now:
                g.remote[node] = now
                g.peak = max(g.peak, g.total())
            else:
                g.remote.pop(node, None)
        for g in self.rooms.values():
            if requests.get(g.id):
                g.remote_requests[node] = requests[g.id]
            else:
                g.remote_requests.pop(node, None)
        if not rooms:
            self.node_seen.pop(node, None)  # no viewers there: nothing to expire
        return changes

    def lead(self) -> None:
        """This node took over as the cluster's leader: it counts the rooms itself now,
        no longer told by the old leader (the other nodes' summaries tell it theirs)."""
        for g in self.rooms.values():
            g.told = None

    def drop_node(self, node: str) -> list[tuple[str, str, bool]]:
        """``node`` stopped (its summaries stopped, or the cluster lost it): its viewers
        leave every count (the peaks stay); returns (room, viewer, False) for each."""
        self.node_seen.pop(node, None)
        gone: list[tuple[str, str, bool]] = []
        for g in self.rooms.values():
            gone += [(g.id, v, False) for v in sorted(g.remote.pop(node, ()))]
            g.remote_requests.pop(node, None)
        return gone

    def silent_nodes(self, max_age: float) -> list[str]:
        """The nodes not heard from for more than ``max_age`` seconds."""
        now = self.clock()
        return [n for n, seen in self.node_seen.items() if now - seen > max_age]

    def has_remote(self, room: str) -> bool:
        """Other nodes have viewers of ``room`` (its public messages go to them)."""
        g = self.rooms.get(room)
        return g is not None and bool(g.remote)

    def node_of(self, room: str, viewer: str) -> str | None:
        """The other node holding ``viewer`` of ``room``; None if none does."""
        g = self.rooms.get(room)
        return None if g is None else next(
            (n for n, ids in g.remote.items() if viewer in ids), None)

    def remote_request(self, room: str, viewer: str) -> dict[str, object] | None:
        """What staff see of a viewer on another node with a hand up or asking to speak."""
        g = self.rooms.get(room)
        for asked in (g.remote_requests.values() if g else ()):
            for r in asked:
                if r["viewer"] == viewer:
                    return r
        return None

    def forget_request(self, room: str, viewer: str) -> None:
        """A remote viewer was promoted: off staff's list now, before its node says so."""
        g = self.rooms.get(room)
        for node, asked in list(g.remote_requests.items() if g else ()):
            g.remote_requests[node] = tuple(r for r in asked if r["viewer"] != viewer)  # type: ignore[union-attr]

    def local_summary(self) -> tuple[dict[str, tuple[str, ...]],
                                     dict[str, tuple[dict[str, object], ...]]]:  # fmt: skip
        """This node's viewers by room and their requests (its summary to the leader)."""
        rooms = {g.id: tuple(g.viewers) for g in self.rooms.values() if g.viewers}
        requests = {room: tuple(found) for room in rooms if (found := self._local_requests(room))}
        return rooms, requests

    def told_count(self, room: str, viewers: int, peak: int) -> None:
        """Any other cluster node: the leader's count of ``room`` on every node, which
        this node's viewers are told (``count``) instead of its own."""
        self._room(room).told = (max(0, viewers), max(0, peak))

    def admit(self, room: str, transport: Writable, address: str | None) -> Viewer:
        """A new viewer of ``room``; raises ``room_full`` (the room's or the node's cap)
        or ``address_limit`` (its address or IPv6 prefix holds its share already)."""
        lim = self.limits
        g = self.rooms.get(room)
        # (The room's cap counts the cluster's viewers where this node knows them.)
        here = 0 if g is None else max(len(g.viewers), self.count(room)[0])
        if here >= lim.max_per_room or self.viewer_count >= lim.max_per_node:
            raise HirobaError(Reason.ROOM_FULL, "the public gallery is full")
        if address is not None and lim.per_address and g is not None and sum(
                1 for v in g.viewers.values() if v.address == address) >= lim.per_address:
            raise HirobaError(Reason.ADDRESS_LIMIT,
                              "this address has as many gallery places as it may")
        g = self._room(room)
        viewer = Viewer(room, transport, address, self.clock())
        g.viewers[viewer.id] = viewer
        g.peak = max(g.peak, g.total())
        for listener in self.presence_listeners:
            listener(room, viewer.id, True)
        return viewer

    def remove(self, viewer: Viewer) -> None:
        g = self.rooms.get(viewer.room)
        if g is None or g.viewers.get(viewer.id) is not viewer:
            return
        del g.viewers[viewer.id]
        for listener in self.presence_listeners:
            listener(viewer.room, viewer.id, False)

    def viewer(self, room: str, viewer_id: str) -> Viewer | None:
        g = self.rooms.get(room)
        return None if g is None else g.viewers.get(viewer_id)

    def requests(self, room: str) -> list[dict[str, object]]:
        """The viewers of ``room`` with a hand up or asking to speak, oldest first: this
        node's and (a cluster's leader) the other nodes', each of those with its ``node``."""
        g = self.rooms.get(room)
        found = self._local_requests(room)
        for node, asked in (g.remote_requests.items() if g else ()):
            found += [{**r, "node": node} for r in asked]
        return sorted(found, key=lambda r: float(r["since"] or 0))  # type: ignore[arg-type]

    def _local_requests(self, room: str) -> list[dict[str, object]]:
        g = self.rooms.get(room)
        return [r for v in (g.viewers.values() if g else ()) if (r := v.request())]

    # -- state messages -----------------------------------------------------------------
    def send_state(self, viewer: Viewer, message: dict[str, Any]) -> None:
        """One STATE message to one viewer (its hello, an error, its promotion)."""
        viewer.seq += 1
        _write(viewer.transport, binary_frame(codec.encode_state(viewer.seq, message)))

    def broadcast_state(self, room: str, message: dict[str, Any]) -> None:
        """One STATE message to every viewer of ``room``: built once, written to each (a
        busy viewer skips it, as a frame: the next ``state`` or ``hello`` carries all)."""
        g = self.rooms.get(room)
        if g is None or not g.viewers:
            return
        g.state_seq += 1
        data = binary_frame(codec.encode_state(g.state_seq, message))
        busy = self.limits.busy_bytes
        for v in g.viewers.values():
            if v.greeted and v.transport.get_write_buffer_size() <= busy:
                _write(v.transport, data)
            elif message.get("t") != "count":  # (a count is sent again with the state)
                v.stale = True

    def set_closed(self, room: str, closed: bool) -> None:
        """A closed session (秘密会) began or ended in ``room``: frames carry no stage and no
        audio while it lasts; viewers are told ``state {closed}``."""
        g = self.rooms.get(room)
        if g is None or g.closed == closed:
            return
        g.closed = closed
        g.reopened = not closed
        g.audio.clear()
        self.broadcast_state(room, {"t": "state", "closed": closed})

    # -- audio --------------------------------------------------------------------------
    def on_packet(self, room: str, speaker: str, payload: bytes, timestamp: int) -> None:
        """AudioPlane.on_packet: kept for the next frame if the room has viewers. Which of
        them are the floor's is decided at frame time (once per frame, not per packet)."""
        g = self.rooms.get(room)
        if g is None or not g.viewers or g.closed or len(payload) > codec.MAX_PAYLOAD:
            return
        if len(g.audio) >= MAX_PENDING_AUDIO:
            del g.audio[0]
            self.stats.audio_dropped += 1
        g.audio.append((speaker, timestamp, payload, self.clock()))

    # -- frames -------------------------------------------------------------------------
    def build_frame(self, g: GalleryRoom, now: float) -> bytes:
        """The room's next frame as the WebSocket message every viewer is written."""
        # Asked every frame: a cluster edge learns of a closed session from the leader's
        # word to its audio plane, not from a meeting of its own.
        self.set_closed(g.id, self.closed_of(g.id))
        g.seq += 1
        server_ms = int(self.wall() * 1000)
        if g.closed:
            g.audio.clear()
            return binary_frame(codec.encode_frame(
                g.seq, server_ms=server_ms, crowd=0, posed=[], plain=b"", n_plain=0,
                audio=[], closed=True))
        motion = self.motion.rooms.get(g.id)
        posed: list[bytes] = []
        plain, n_plain, crowd = b"", 0, 0
        slots: dict[str, int] = {}
        if motion is not None:
            table = motion.table
            crowd = len(table)
            active = np.flatnonzero(table.active)
            stage = active[table.on_stage[active]]
            unposed: list[int] = []  # on the stage without a pose yet: a plain entry
            for row in stage.tolist():
                entry = motion.entity_bytes(row)
                if entry is None:
                    unposed.append(row)
                else:
                    posed.append(entry)
            others = active[~table.on_stage[active]]
            if others.size > PLAIN_SAMPLE:
                start = g.rotate % others.size
                g.rotate += PLAIN_SAMPLE
                others = np.roll(others, -start)[:PLAIN_SAMPLE]
            rows = np.concatenate((np.array(unposed, dtype=np.intp), others))
            if rows.size:
                plain, n_plain = motion.plain[rows].tobytes(), int(rows.size)
        audio: list[codec.AudioEntry] = []
        if g.audio:
            floor = set(self.speakers_of(g.id))
            for speaker, ts, payload, arrived in g.audio:
                if speaker not in floor:
                    continue
                slot = slots.get(speaker)
                if slot is None:
                    slot = slots[speaker] = self._slot(motion, speaker)
                audio.append(codec.AudioEntry(slot, ts, int((now - arrived) * 1000), payload))
            g.audio.clear()
            self.stats.audio_packets += len(audio)
        assert len(plain) == n_plain * PLAIN_SIZE
        return binary_frame(codec.encode_frame(
            g.seq, server_ms=server_ms, crowd=crowd, posed=posed, plain=plain,
            n_plain=n_plain, audio=audio))

    @staticmethod
    def _slot(motion: Any, pid: str) -> int:
        if motion is None or pid not in motion.table:
            return 0
        return int(motion.plain[motion.table.row(pid)]["slot"])

    def fan_out(self, g: GalleryRoom, data: bytes, now: float) -> None:
        """Write one frame to every viewer of ``g`` that can take it. The per-viewer cost
        of the plane: two cheap looks at the transport and one ``write`` (about 3.5 us of
        CPU a viewer on the 2-core machine, 3.1 of them the write itself)."""
        busy, cut = self.limits.busy_bytes, self.limits.cut_seconds
        stats = self.stats
        started = time.perf_counter()
        written = skipped = 0
        refresh: bytes | None = None
        refreshed = 0
        for v in tuple(g.viewers.values()):
            t = v.transport
            if t.is_closing() or not v.greeted:
                continue
            if t.get_write_buffer_size() > busy:
                skipped += 1
                v.skipped += 1
                if v.busy_since is None:
                    v.busy_since = now
                elif now - v.busy_since >= cut:
                    # Never read for long: cut off, so it holds no buffer and no place.
                    stats.cut_off += 1
                    log.info("gallery viewer of %s cut off after %.0f s without reading",
                             g.id, now - v.busy_since)
                    t.abort()
                continue
            v.busy_since = None
            if v.stale and refreshed < REFRESH_PER_FRAME:
                # It missed a state message: the whole public state first (built once per
                # frame for every viewer catching up), then the frame.
                if refresh is None:
                    refresh = self._refresh(g)
                v.stale = False
                refreshed += 1
                if refresh:
                    _write(t, refresh)
            try:  # (a try costs nothing until it catches: no context manager per viewer)
                t.write(data)
            except (ConnectionError, RuntimeError):
                continue  # broken meanwhile: its handler notices and removes it
            written += 1
        stats.fanout_seconds += time.perf_counter() - started
        stats.frames += 1
        stats.writes += written
        stats.skipped += skipped
        stats.bytes += written * len(data)

    def _refresh(self, g: GalleryRoom) -> bytes:
        """The whole public state of ``g`` as one ``state`` message for a viewer that
        missed some, with the count (b"": nothing to send)."""
        message = self.refresh_of(g.id)
        if message is None:
            return b""
        viewers, peak = self.count(g.id)
        g.state_seq += 1
        return binary_frame(codec.encode_state(g.state_seq, {**message, "viewers": viewers,
                                                             "peak": peak}))

    async def _tick(self) -> None:
        now = self.clock()
        for g in list(self.rooms.values()):
            if not g.viewers:
                if not g.peak and not g.remote and g.told is None:
                    del self.rooms[g.id]
                continue
            self.fan_out(g, self.build_frame(g, now), now)

    async def _send_counts(self) -> None:
        """``count`` to each room whose numbers changed, at most once a second."""
        for g in list(self.rooms.values()):
            numbers = self.count(g.id)
            if numbers != g.counted:
                g.counted = numbers
                self.broadcast_state(g.id, {"t": "count", "viewers": numbers[0],
                                            "peak": numbers[1]})
                for listener in self.count_listeners:
                    listener(g.id, *numbers)

    def start(self) -> None:
        self._loop.start()
        self._count_loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        await self._count_loop.stop()
        for g in self.rooms.values():
            for v in list(g.viewers.values()):
                with contextlib.suppress(Exception):
                    v.transport.abort()


def _write(transport: Writable, data: bytes) -> None:
    # A transport closed meanwhile raises nothing in asyncio (it counts a warning); a
    # broken one may: the viewer's handler notices and removes it.
    with contextlib.suppress(ConnectionError, RuntimeError):
        transport.write(data)


