"""Kinds of room, roles, and the records a room holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rooms.appearance import AvatarStyle
from rooms.geometry import Rect


class RoomKind(StrEnum):
    PLAZA = "plaza"
    CONSULTATION = "consultation"
    COMMITTEE = "committee"


class TrackingMode(StrEnum):
    """How a participant's avatar face is driven (docs/protocol.md, ``tracking``)."""

    #: Face tracking on the person's own device; only poses leave it.
    BROWSER = "browser"
    #: Camera sent to the server over WebRTC and tracked there.
    SERVER = "server"
    #: No camera: the mouth follows the microphone level.
    VOICE = "voice"
    #: Nothing drives the face: the avatar idles (blinks, breathes).
    NONE = "none"


class TrackingReason(StrEnum):
    """Why a participant's face is not tracked the best way (docs/protocol.md,
    ``tracking``): the page says it to the person, the console to staff. Defined here
    once; the page's list is web_client/src/state/trackingMode.js ``REASONS``."""

    #: The browser lacks what tracking on the device needs (WebGL2 in a worker, WASM).
    UNSUPPORTED = "unsupported"
    #: Tracking on the device threw (starting it, or on a frame) and was stopped.
    FAILED = "failed"
    #: The device tracks too slowly to follow a face smoothly.
    SLOW = "slow"
    #: The server has no face model.
    MODEL_UNAVAILABLE = "model_unavailable"
    #: Server-side tracking is at its limit.
    TRACKING_FULL = "tracking_full"
    #: The video link to the server ended.
    ENDED = "ended"
    #: No camera (refused or absent).
    NO_CAMERA = "no_camera"
    #: No microphone either.
    NO_MIC = "no_mic"


class Role(StrEnum):
    CITIZEN = "citizen"
    MEMBER = "member"
    CHAIR = "chair"
    STAFF = "staff"
    OBSERVER = "observer"
    #: Types live captions (要約筆記); takes no part in the debate itself.
    CAPTIONER = "captioner"


@dataclass(frozen=True, slots=True)
class Seat:
    """A stage seat. ``h`` faces the audience; the chair's seat is marked."""

    id: str
    x: float
    z: float
    h: float
    chair: bool = False


@dataclass(frozen=True, slots=True)
class Board:
    """A notice board standing in the room; ``h`` is the direction its face looks."""

    id: str
    x: float
    z: float
    h: float


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice the city posts; shown on a board of its room."""

    id: int
    board: str
    title: str
    body: str
    posted_at: str

    def to_wire(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "body": self.body, "posted_at": self.posted_at}


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things are in a room: walkable bounds, stage, seats, gallery, boards, spawn."""

    bounds: Rect
    stage: Rect | None
    seats: tuple[Seat, ...]
    gallery: Rect | None
    boards: tuple[Board, ...]
    spawn_x: float
    spawn_z: float
    spawn_radius: float


@dataclass(slots=True)
class Participant:
    """A person present in a room. Mutable: the room updates position and seat."""

    id: str
    name: str
    role: Role
    style: AvatarStyle
    x: float
    z: float
    h: float
    seat: str | None = None
    last_move_at: float = 0.0
    joined_at: float = field(default=0.0)
    #: Small number, unique in the room while present, naming them in motion frames.
    slot: int = 0
    tracking: TrackingMode = TrackingMode.NONE
    #: Why ``tracking`` is not the best mode (None: nothing to explain), as the page said.
    tracking_reason: TrackingReason | None = None
    #: The sha256 of the approved VRM model this person wears (``/avatars/<sha256>.vrm``),
    #: or None: the procedural avatar. Only invited members, the chair and staff have one.
    vrm: str | None = None

    def to_wire(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "x": round(self.x, 2),
            "z": round(self.z, 2),
            "h": round(self.h, 3),
            "seat": self.seat,
            "avatar": self.style.to_wire(),
            "slot": self.slot,
            "tracking": self.tracking.value,
            "tracking_reason": None if self.tracking_reason is None else self.tracking_reason.value,
            "vrm": self.vrm,
        }
