"""The live rooms of this process and the sessions (sockets) in them.

The hub adapts the pure ``rooms`` core to time and identities: it stamps moves with the
clock, maps socket ids to participants, and assembles one delta per room per tick.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from moderation import policy
from moderation.meeting import Meeting
from moderation.rate_limit import TokenBucket
from rooms.appearance import AvatarStyle
from rooms.errors import Reason, RoomError
from rooms.layouts import default_layout
from rooms.model import Notice, Participant, Role, TrackingMode
from rooms.room import Room, RoomInfo
from rooms.snapshot import Delta, Snapshot
from server.config.settings import Settings

if TYPE_CHECKING:
    import socketio

#: Rate-limited events forgiven per second: an occasional burst is a slow network, a
#: sustained excess is a flood.
FLOOD_FORGIVENESS_PER_SECOND = 2.0
#: Pose uploads a client may send per second (the page sends 15-30), and their burst.
POSES_PER_SECOND = 36.0
POSE_BURST = 48.0


def new_participant_id() -> str:
    return "p_" + secrets.token_hex(5)


def wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Session:
    """One connected socket and, once joined, where it is."""

    sid: str
    events: TokenBucket
    moves: TokenBucket
    #: Rate-limited events this client may still cause before it is disconnected.
    violations: TokenBucket
    poses: TokenBucket = field(
        default_factory=lambda: TokenBucket(rate=POSES_PER_SECOND, burst=POSE_BURST)
    )
    #: WebRTC offers (each builds a peer connection: ~10 ms of CPU): a budget of their own,
    #: far below the control events' (``offers_per_second``, ``offers_burst``).
    offers: TokenBucket = field(default_factory=lambda: TokenBucket(rate=0.5, burst=4.0))
    lang: str = "ja"
    room: str | None = None
    pid: str | None = None
    connected: bool = True
    #: The peer address the socket signals from (the browser's behind a trusted proxy);
    #: None for a socket served for another cluster node. WebRTC offers are screened
    #: against it (server/rtc/ice.py, ``screen_candidates``).
    address: str | None = None

    def over_the_limit(self, now: float) -> bool:
        """A rate-limited event: True once too many came (the caller disconnects the
        socket; it is marked gone so that this happens once)."""
        if not self.violations.allow(now) and self.connected:
            self.connected = False
            return True
        return False


@dataclass
class Hub:
    """Rooms by id and sessions by socket id, for one process."""

    settings: Settings
    clock: Callable[[], float] = time.monotonic
    rooms: dict[str, Room] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    #: Called as ``listener(room_id, participant)`` whenever someone leaves a room, for
    #: whatever reason (leave, disconnect, joining another room, removal).
    leave_listeners: list[Callable[[str, Participant], None]] = field(default_factory=list)
    #: The meeting of each room (server/meetings/service.py fills it at start).
    meetings: dict[str, Meeting] = field(default_factory=dict)
    #: Rooms being recorded → when the recording started (Unix seconds); kept by
    #: server/recording/service.py, read by the room list and join acks.
    recording_since: dict[str, float] = field(default_factory=dict)
    #: False once server/tracking/api.py found no usable face model for the server-side
    #: pipeline: join acks then do not offer tracking on the server (it would only fail).
    server_tracking_ready: bool = True

    def add_room(self, info: RoomInfo, notices: list[Notice]) -> Room:
        room = Room(
            info=info,
            layout=default_layout(info.kind),
            max_speed=self.settings.max_speed,
            notices=notices,
        )
        self.rooms[info.id] = room
        return room

    def room(self, room_id: str) -> Room:
        room = self.rooms.get(room_id)
        if room is None:
            raise RoomError(Reason.NO_SUCH_ROOM, f"no room {room_id!r}")
        return room

    @property
    def participant_count(self) -> int:
        return sum(len(r.participants) for r in self.rooms.values())

    def connect(self, sid: str) -> Session:
        s = self.settings
        session = Session(
            sid=sid,
            events=TokenBucket(rate=s.events_per_second, burst=s.events_burst),
            # Moves may come at the tick rate with some jitter, and no faster.
            moves=TokenBucket(rate=s.tick_hz * 1.5, burst=s.tick_hz * 2),
            violations=TokenBucket(
                rate=FLOOD_FORGIVENESS_PER_SECOND, burst=s.flood_disconnect_after
            ),
            offers=TokenBucket(rate=s.offers_per_second, burst=s.offers_burst),
        )
        self.sessions[sid] = session
        return session

    def disconnect(self, sid: str) -> Session | None:
        session = self.sessions.pop(sid, None)
        if session is not None:
            session.connected = False
            self.leave(session)
        return session

    def join(
        self, session: Session, room: Room, name: str, role: Role, style: AvatarStyle,
        pid: str | None = None,
    ) -> Participant:
        """Put the session's person into ``room`` (leaving any room it was in), under
        ``pid`` when their meeting already named them."""
        self.leave(session)
        participant = room.join(
            pid or new_participant_id(),
            name,
            role,
            style,
            self.clock(),
            seated=policy.takes_seat(role),
        )
        session.room, session.pid = room.id, participant.id
        return participant

    def leave(self, session: Session) -> str | None:
        """Take the session's person out of their room; return the room id they left."""
        room_id, pid = session.room, session.pid
        session.room = session.pid = None
        if room_id is None or pid is None:
            return None
        room = self.rooms.get(room_id)
        if room is not None and pid in room.participants:
            gone = room.leave(pid)
            for listener in self.leave_listeners:
                listener(room_id, gone)
        return room_id

    def joined_room(self, session: Session) -> tuple[Room, str]:
        if session.room is None or session.pid is None:
            raise RoomError(Reason.NOT_JOINED, "join a room first")
        return self.room(session.room), session.pid

    def move(self, session: Session, x: float, z: float, h: float) -> Participant:
        room, pid = self.joined_room(session)
        role = room.participants[pid].role
        return room.move(pid, x, z, h, self.clock(), may_enter_stage=policy.may_enter_stage(role))

    def recording_status(self, room_id: str) -> dict[str, object]:
        """``{room, recording, since}``: what everyone is told about a room's recording
        (``meeting:recording``, join and lobby acks; docs/protocol.md "Recording")."""
        since = self.recording_since.get(room_id)
        return {"room": room_id, "recording": since is not None, "since": since}

    def speakers(self, room_id: str) -> frozenset[str]:
        """Participant ids audible to the whole room now (the floor holder, present chairs
        and staff, none muted): what the audio plane forwards (moderation.Meeting)."""
        meeting = self.meetings.get(room_id)
        return frozenset() if meeting is None else meeting.speakers(time.time())

    def snapshot(self, room: Room) -> Snapshot:
        return room.snapshot(wall_ms(), self.settings.tick_hz)

    def take_deltas(self) -> list[Delta]:
        """One delta per room that changed since the last tick."""
        now = wall_ms()
        deltas = []
        for room in self.rooms.values():
            delta = room.take_delta(now, include_moved=self.settings.move_deltas)
            if delta is not None:
                deltas.append(delta)
        return deltas

    def counts(self) -> HubCounts:
        """What the hub holds now, for ``/metrics`` and ``/api/debug/leaks``."""
        by_kind: dict[tuple[str, Role, TrackingMode], int] = {}
        for room in self.rooms.values():
            for p in room.participants.values():
                key = (room.id, p.role, p.tracking)
                by_kind[key] = by_kind.get(key, 0) + 1
        return HubCounts(
            sessions=len(self.sessions),
            participants=self.participant_count,
            by_room={rid: len(r.participants) for rid, r in self.rooms.items()},
            by_kind=by_kind,
            recording=frozenset(self.recording_since),
        )


@dataclass(frozen=True, slots=True)
class HubCounts:
    """The hub's sizes at one moment (:meth:`Hub.counts`). Ids of rooms only: no
    participant's id or name."""

    #: Connected socket.io sessions, joined to a room or not.
    sessions: int
    #: Participants in every room of this process.
    participants: int
    #: Participants by room id; every room is listed, an empty one with 0.
    by_room: Mapping[str, int]
    #: Participants by ``(room id, role, tracking mode)``; only combinations someone is in.
    by_kind: Mapping[tuple[str, Role, TrackingMode], int]
    #: Ids of the rooms being recorded now.
    recording: frozenset[str]


@dataclass(frozen=True, slots=True)
class SocketIoCounts:
    """python-socketio's per-socket state at one moment (:func:`socketio_counts`): what a
    socket that left without a trace must not leave behind."""

    #: engine.io sockets open (one per connected client, until its ping task lets go).
    engineio_sockets: int
    #: WSGI-style environs kept per socket id.
    environ: int
    #: Rooms of the default namespace, each socket's own room included (python-socketio
    #: drops a room when its last member leaves).
    rooms: int
    #: Socket memberships of those rooms, added up.
    memberships: int


def socketio_counts(sio: socketio.AsyncServer) -> SocketIoCounts:
    """The sizes of ``sio``'s per-socket containers. The server is python-socketio's, not
    a Hiroba class: its census lives here, beside the hub's, so that nothing outside the
    socket.io edge reads the library's containers."""
    namespace = sio.manager.rooms.get("/", {})
    return SocketIoCounts(
        engineio_sockets=len(sio.eio.sockets),
        environ=len(sio.environ),
        rooms=len(namespace),
        memberships=sum(len(members) for members in namespace.values()),
    )
