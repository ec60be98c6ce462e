"""The pose relay: the minimal motion path from every face-tracking mode to the room.

Poses arrive one by one (uploads from browsers, server-side tracking); the relay keeps
only the latest record per participant and, once per pose tick (``pose_hz``), hands each
room one batched frame (:mod:`avatar.frame`) holding the poses that changed since the
last tick. Everything that produces poses calls :meth:`PoseRelay.submit`; how frames
travel is a :class:`FrameTransport` (socket.io binary events here; a later raw binary
WebSocket plane replaces only that).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import socketio

from avatar import codec
from avatar.frame import encode_frame
from rooms.errors import Reason, ValidationError
from server import events
from server.periodic import Periodic

log = logging.getLogger(__name__)


def parse_record(payload: object) -> bytes:
    """An uploaded pose record, checked: binary, exactly one record, decodable.

    Raises ``ValidationError(BAD_PAYLOAD)`` otherwise.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise ValidationError(Reason.BAD_PAYLOAD, "a pose is one binary record")
    record = bytes(payload)
    codec.decode(record)  # length, version, state and angle ranges
    return record


@dataclass
class RelayStats:
    """Counters for benchmarks and diagnostics."""

    submitted: int = 0
    frames: int = 0
    poses_sent: int = 0
    bytes_sent: int = 0
    largest_frame: int = 0


class PoseRelay:
    """Latest pose per (room, slot) since the last tick. Pure state; no I/O, no clock."""

    def __init__(self) -> None:
        self._pending: dict[str, dict[int, bytes]] = {}
        self.stats = RelayStats()

    def submit(self, room: str, slot: int, record: bytes) -> None:
        """Keep ``record`` as the participant's latest pose (replacing an unsent one)."""
        self._pending.setdefault(room, {})[slot] = record
        self.stats.submitted += 1

    def forget(self, room: str, slot: int) -> None:
        """Drop an unsent pose of someone who left."""
        pending = self._pending.get(room)
        if pending is not None:
            pending.pop(slot, None)

    def take_frames(self) -> list[tuple[str, bytes]]:
        """One frame per room with new poses; the pending poses are cleared."""
        out = []
        for room, pending in self._pending.items():
            if pending:
                frame = encode_frame(sorted(pending.items()))
                out.append((room, frame))
                self.stats.frames += 1
                self.stats.poses_sent += len(pending)
                self.stats.bytes_sent += len(frame)
                self.stats.largest_frame = max(self.stats.largest_frame, len(frame))
        self._pending = {}
        return out


class FrameTransport(Protocol):
    """Delivers one pose frame to everyone in a room."""

    async def send_frame(self, room: str, frame: bytes) -> None: ...


class SocketIoTransport:
    """Pose frames as the binary socket.io event ``pose:frame``, one emit per room."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def send_frame(self, room: str, frame: bytes) -> None:
        await self.sio.emit(events.POSE_FRAME, frame, room=room)


class PoseTicker(Periodic):
    """Runs the relay's tick at ``hz`` and sends each frame through the transport."""

    def __init__(self, relay: PoseRelay, transport: FrameTransport, hz: float) -> None:
        super().__init__("pose-ticker", hz, self._send_frames)
        self.relay = relay
        self.transport = transport

    async def _send_frames(self) -> None:
        for room, frame in self.relay.take_frames():
            await self.transport.send_frame(room, frame)
