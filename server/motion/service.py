"""Binds the motion plane to the hub: rooms, joins and leaves, the room rules, the tick."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from aiohttp import web

from moderation import policy
from rooms.errors import HirobaError, Reason
from rooms.interest import InterestConfig
from rooms.model import Participant
from rooms.room import Room
from server.common.networks import is_loopback, through_untrusted_proxy
from server.common.periodic import Periodic
from server.config.settings import Settings
from server.motion.plane import (
    FloatArray,
    KeptMoves,
    MotionPlane,
    MotionPlaneCounts,
    Moves,
    TickListener,
)
from server.motion.rtc import MotionChannelCounts, MotionChannels
from server.rtc.ice import rtc_configuration, screen_candidates
from server.sockets import events
from server.sockets.hub import Hub, Session
from server.sockets.messages import RtcCloseRequest, RtcOfferRequest
from server.sockets.registry import Register, offers_bucket

log = logging.getLogger(__name__)

MOTION_PATH = "/motion"


def interest_config(settings: Settings) -> InterestConfig:
    hz = settings.motion_hz
    return InterestConfig(
        near_k=settings.motion_near_k,
        near_radius=settings.motion_near_radius,
        cull_radius=settings.motion_cull_radius,
        far_period=max(1, round(hz / settings.motion_far_hz)),
        refresh_period=max(1, round(hz * 3)),
        neighbour_period=max(1, round(hz / 4)),
    )


class MotionService:
    """One motion plane per process, fed by the hub's rooms."""

    def __init__(
        self, settings: Settings, hub: Hub, tick_listeners: Sequence[TickListener] = ()
    ) -> None:
        """``tick_listeners`` read the plane at the start of every tick (the recorder)."""
        self.settings = settings
        self.hub = hub
        self.plane = MotionPlane(
            interest_config(settings), self._move, clock=hub.clock, mover_many=self._move_many,
            capacity_of=self._capacity, tick_listeners=tick_listeners,
        )
        self._ticker = Periodic("motion-tick", settings.motion_hz, self._tick)
        self.channels = MotionChannels(
            self.plane,
            lambda: rtc_configuration(settings.ice_servers),
            settings.motion_hz,
            settings.motion_datachannel_max,
        )
        self._closing: set[asyncio.Task[Any]] = set()
        hub.leave_listeners.append(self._left)

    def _capacity(self, room_id: str) -> int | None:
        room = self.hub.rooms.get(room_id)
        return None if room is None else room.info.capacity

    def _move(
        self, room_id: str, pid: str, x: float, z: float, h: float
    ) -> tuple[float, float, float]:
        room = self.hub.room(room_id)
        p = room.participants[pid]  # KeyError: left meanwhile; the endpoint closes
        room.move(pid, x, z, h, self.hub.clock(), may_enter_stage=policy.may_enter_stage(p.role))
        return p.x, p.z, p.h

    def _move_many(
        self, room_id: str, pids: Sequence[str], x: FloatArray, z: FloatArray, h: FloatArray
    ) -> Moves:
        room = self.hub.rooms.get(room_id)
        if room is None:
            return KeptMoves(np.zeros(len(pids), dtype=bool), x, z, h)
        return room.check_moves(pids, x, z, h, self.hub.clock(), policy.may_enter_stage)

    def joined(self, room: Room, participant: Participant) -> dict[str, str | float]:
        """Register a newcomer; the result goes into the join acknowledgement (the page
        needs the tick rate to place frames in time: tick n is n / motion_hz seconds)."""
        if room.id not in self.plane.rooms:
            self.plane.add_room(room.id, room.info.capacity)
        token = self.plane.join(
            room.id,
            participant.id,
            participant.slot,
            participant.x,
            participant.z,
            participant.h,
            on_stage=participant.seat is not None,
        )
        return {"token": token, "path": MOTION_PATH, "hz": self.settings.motion_hz}

    def _left(self, room_id: str, participant: Participant) -> None:
        transport = self.plane.leave(room_id, participant.id)
        self._spawn(self.channels.leave(room_id, participant.id))
        if transport is not None:
            self._spawn(transport.close())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def bind(self, register: Register) -> None:
        """Register the data-channel signalling events behind the guard."""
        register(events.MOTION_OFFER, self.offer, bucket_of=offers_bucket)
        register(events.MOTION_CLOSE, self.close_channel)

    async def offer(self, session: Session, payload: object) -> dict[str, Any]:
        """``motion:offer``: open the motion plane on a WebRTC data channel."""
        request = RtcOfferRequest.parse(payload)
        room, pid = self.hub.joined_room(session)
        answer = await self.channels.open(
            room.id, pid, screen_candidates(request.sdp, session.address))
        if session.pid != pid or session.room != room.id:
            await self.channels.leave(room.id, pid)  # left while it was negotiated
            raise HirobaError(Reason.NOT_JOINED, "left the room during set-up")
        return {"ok": True, "type": "answer", "sdp": answer}

    async def close_channel(self, session: Session, payload: object) -> dict[str, Any]:
        """``motion:close``: back to the WebSocket (or to nothing)."""
        RtcCloseRequest.parse(payload)
        room, pid = self.hub.joined_room(session)
        await self.channels.leave(room.id, pid)
        return {"ok": True}

    async def _tick(self) -> None:
        # One turn of the loop first: the tick's timer wakes this task ahead of the
        # sockets that became readable meanwhile (asyncio runs a woken task before the
        # next poll's reads), so without it an uplink that arrived just before the tick,
        # while the loop was busy, would wait a whole period for the next one.
        await asyncio.sleep(0)
        await self.plane.tick()

    def start(self) -> None:
        self._ticker.start()

    async def stop(self) -> None:
        await self._ticker.stop()
        await self.channels.close()

    async def stats(self, request: web.Request) -> web.Response:
        """``GET /api/motion/stats``: counters for benchmarks, from loopback only."""
        if through_untrusted_proxy(request):  # a proxy on this machine is loopback too
            raise web.HTTPForbidden(text="motion statistics are not served through a proxy")
        if not is_loopback(request.remote):
            raise web.HTTPForbidden(text="motion statistics are served to loopback only")
        return web.json_response(self.plane.stats.summary())

    def counts(self) -> MotionCounts:
        """The motion side's per-person state now, for ``/api/debug/leaks``."""
        return MotionCounts(self.plane.counts(), self.channels.counts(), len(self._closing))


@dataclass(frozen=True, slots=True)
class MotionCounts:
    """The motion side's sizes at one moment (:meth:`MotionService.counts`)."""

    #: The plane's rows, tokens and connections.
    plane: MotionPlaneCounts
    #: The data-channel fallback's peers and tasks.
    channels: MotionChannelCounts
    #: Leave clean-ups still running (closing a leaver's connection and data channel).
    closing: int
