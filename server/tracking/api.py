"""Face tracking in the server: pose uploads, tracking modes and camera signalling.

One object wires it all to the app: the camera sessions of server-side tracking, the
socket events of ``docs/protocol.md`` ("Face tracking"), and the clean-up when someone
leaves. Every pose, whoever made it, ends on the motion plane (:mod:`server.motion.plane`),
which carries it to the room: there is one downlink for poses. Handlers stay a few lines
each; the work is in :mod:`server.tracking.pipeline` and the plane.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import socketio

from avatar import codec
from avatar.filters import OneEuroParams, PoseFilter
from avatar.pipeline import TrackingPipeline
from moderation import policy
from moderation.policy import Action
from rooms.errors import HirobaError, Reason, ValidationError
from rooms.model import Participant, TrackingMode, TrackingReason
from server.config.settings import Settings
from server.motion.plane import MotionPlane
from server.rtc.ice import rtc_configuration, screen_candidates, use_host_addresses
from server.sockets import events
from server.sockets.hub import Hub, Session
from server.sockets.messages import RtcCloseRequest, RtcOfferRequest, _object
from server.sockets.registry import Register, offers_bucket, poses_bucket
from server.tracking.model_fetch import model_path, read_verified
from server.tracking.pipeline import (
    CameraTracking,
    FramePipeline,
    PipelineFactory,
    TrackingCounts,
)

log = logging.getLogger(__name__)

Ack = dict[str, Any]


def parse_record(payload: object) -> bytes:
    """An uploaded pose record, checked: binary, exactly one record, decodable.

    Raises ``ValidationError(BAD_PAYLOAD)`` otherwise.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise ValidationError(Reason.BAD_PAYLOAD, "a pose is one binary record")
    record = bytes(payload)
    codec.decode(record)  # length, version, state and angle ranges
    return record


@dataclass(frozen=True, slots=True)
class TrackingRequest:
    mode: TrackingMode
    #: Why the page did not track the best way (``unsupported``, ``slow``...), for staff.
    reason: TrackingReason | None = None

    @classmethod
    def parse(cls, payload: object) -> TrackingRequest:
        data = _object(payload, {"mode"}, {"reason"})
        try:
            mode = TrackingMode(str(data["mode"]))
        except ValueError:
            modes = ", ".join(m.value for m in TrackingMode)
            raise ValidationError(Reason.BAD_FIELD, f"mode must be one of {modes}") from None
        raw = data.get("reason")
        if raw is None:
            return cls(mode)
        # Only the enumerated codes: the console shows this to staff, never free text.
        try:
            if not isinstance(raw, str):
                raise ValueError(raw)
            return cls(mode, TrackingReason(raw))
        except ValueError:
            reasons = ", ".join(r.value for r in TrackingReason)
            raise ValidationError(Reason.BAD_FIELD, f"reason must be one of {reasons}") from None


def pose_filter(settings: Settings) -> PoseFilter:
    """The pose filter the settings describe."""
    return PoseFilter(
        head=OneEuroParams(
            settings.tracking_head_min_cutoff, settings.tracking_head_beta,
            settings.tracking_d_cutoff,
        ),
        face=OneEuroParams(
            settings.tracking_face_min_cutoff, settings.tracking_face_beta,
            settings.tracking_d_cutoff,
        ),
    )  # fmt: skip


def mediapipe_factory(settings: Settings) -> PipelineFactory:
    """Pipelines with the real MediaPipe tracker and the configured filter."""

    def make() -> FramePipeline:
        # Imported here: MediaPipe costs most of a second to import.
        from avatar.tracker import MediaPipeTracker

        tracker = MediaPipeTracker(model_path(settings))
        return TrackingPipeline(tracker, pose_filter=pose_filter(settings))

    return make


class FaceTracking:
    """The face-tracking side of one server process."""

    def __init__(
        self,
        settings: Settings,
        sio: socketio.AsyncServer,
        hub: Hub,
        plane: MotionPlane,
        factory: PipelineFactory | None = None,
    ) -> None:
        self.settings = settings
        self.sio = sio
        self.hub = hub
        self.plane = plane
        self.camera = CameraTracking(
            config_of=lambda: rtc_configuration(settings.ice_servers),
            factory=factory or mediapipe_factory(settings),
            sink=self._server_pose,
            on_end=self._camera_ended,
            max_sessions=settings.server_tracking_max,
            fps=settings.server_tracking_fps,
        )
        # A test pipeline needs no model file; the real one is checked once.
        self._model_checked = factory is not None
        #: The face model in the cache is the pinned one (None: not checked yet). Pages
        #: load it for tracking on the device; the real server-side pipeline needs it too.
        self.model_ok: bool | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        hub.leave_listeners.append(self._left)

    def bind(self, register: Register) -> None:
        """Register the socket events behind the guard (poses spend their own bucket)."""
        register(events.POSE, self.pose, bucket_of=poses_bucket)
        register(events.TRACKING, self.tracking)
        register(events.RTC_OFFER, self.rtc_offer, bucket_of=offers_bucket)
        register(events.RTC_CLOSE, self.rtc_close)

    def start(self) -> None:
        use_host_addresses(self.settings.ice_host_addresses)
        self._spawn(self.check_model_at_start())

    async def check_model_at_start(self) -> bool:
        """Verify the cached face model once at start-up (off the event loop) and warn,
        naming the command that fetches it, when it is missing or not the pinned file:
        without it every page falls back to voice and nobody on the server is told."""
        path = model_path(self.settings)
        try:
            await asyncio.get_running_loop().run_in_executor(None, read_verified, path)
        except HirobaError as exc:
            self.model_ok = False
            self.hub.server_tracking_ready = self._model_checked  # a test pipeline needs none
            log.warning(
                "face model unavailable at %s: %s. Face tracking in the browser is off "
                "and pages fall back to voice%s until it is installed: run "
                "`hiroba models fetch` (docs/models.md)",
                path, exc.message.split("; run ")[0],
                "" if self._model_checked else ", server-side tracking too",
            )  # fmt: skip
            return False
        self.model_ok = True
        self._model_checked = True
        self.hub.server_tracking_ready = True
        return True

    async def stop(self) -> None:
        await self.camera.close_all()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _joined(self, session: Session) -> Participant:
        room, pid = self.hub.joined_room(session)
        return room.participants[pid]

    async def pose(self, session: Session, payload: object) -> Ack:
        record = parse_record(payload)
        room, pid = self.hub.joined_room(session)
        if pid in self.camera.sessions:
            raise HirobaError(Reason.WRONG_STATE, "your poses come from server-side tracking")
        self.plane.set_pose(room.id, pid, record)
        return {"ok": True}

    def _server_pose(self, room_id: str, pid: str, record: bytes) -> None:
        # Made here, not in the person's page: their own frames carry it back to them.
        self.plane.set_pose(room_id, pid, record, echo=True)

    async def tracking(self, session: Session, payload: object) -> Ack:
        request = TrackingRequest.parse(payload)
        room, pid = self.hub.joined_room(session)
        if request.mode is TrackingMode.SERVER and pid not in self.camera.sessions:
            raise HirobaError(Reason.WRONG_STATE, "start server-side tracking with rtc:offer")
        if request.mode is not TrackingMode.SERVER:
            await self.camera.close(pid)
        if request.mode is TrackingMode.NONE:
            self.plane.set_pose(room.id, pid, None)  # no frozen face: the avatar idles
        if pid in room.participants:
            room.set_tracking(pid, request.mode, request.reason)
        return {"ok": True}

    async def rtc_offer(self, session: Session, payload: object) -> Ack:
        request = RtcOfferRequest.parse(payload)
        me = self._joined(session)
        room_id = session.room
        policy.require(me.role, Action.TRACKING_SERVER)
        if not self.camera.has_room(me.id):
            raise HirobaError(Reason.TRACKING_FULL, "server-side tracking is at its limit")
        await self._check_model()
        answer = await self.camera.open(
            me.id, str(room_id), screen_candidates(request.sdp, session.address))
        if session.pid != me.id or session.room != room_id:
            # Left (or moved rooms) while the connection was negotiated.
            await self.camera.close(me.id)
            raise HirobaError(Reason.NOT_JOINED, "left the room during set-up")
        self.hub.room(str(room_id)).set_tracking(me.id, TrackingMode.SERVER)
        log.info(
            "server-side tracking started in %s (%d of %d)",
            room_id, len(self.camera.sessions), self.camera.max_sessions,
        )  # fmt: skip
        return {"ok": True, "type": "answer", "sdp": answer}

    async def rtc_close(self, session: Session, payload: object) -> Ack:
        RtcCloseRequest.parse(payload)
        me = self._joined(session)
        await self.camera.close(me.id)
        if me.tracking is TrackingMode.SERVER and session.room is not None:
            self.hub.room(session.room).set_tracking(me.id, TrackingMode.NONE)
            self.plane.set_pose(session.room, me.id, None)
        return {"ok": True}

    async def _check_model(self) -> None:
        if self._model_checked:
            return
        path = model_path(self.settings)
        await asyncio.get_running_loop().run_in_executor(None, read_verified, path)
        self._model_checked = True

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _left(self, room_id: str, participant: Participant) -> None:
        if participant.id in self.camera.sessions:
            self._spawn(self.camera.close(participant.id))

    async def _camera_ended(self, pid: str, reason: str) -> None:
        session = next((s for s in self.hub.sessions.values() if s.pid == pid), None)
        if session is None or session.room is None:
            return
        room = self.hub.rooms.get(session.room)
        p = room.participants.get(pid) if room is not None else None
        if room is not None and p is not None and p.tracking is TrackingMode.SERVER:
            room.set_tracking(pid, TrackingMode.NONE)
            self.plane.set_pose(room.id, pid, None)
        await self.sio.emit(
            events.RTC_CLOSED, {"reason": "ended", "message": reason}, to=session.sid
        )

    def counts(self) -> TrackingCounts:
        """Server-side tracking's state now, for ``/api/debug/leaks``: its camera sessions'."""
        return self.camera.counts()
