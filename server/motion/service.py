"""Binds the motion plane to the hub: rooms, joins and leaves, the room rules, the tick."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any

from aiohttp import web

from moderation import policy
from rooms.interest import InterestConfig
from rooms.model import Participant
from rooms.room import Room
from server.hub import Hub
from server.motion.plane import MotionPlane
from server.periodic import Periodic
from server.settings import Settings

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

    def __init__(self, settings: Settings, hub: Hub) -> None:
        self.settings = settings
        self.hub = hub
        self.plane = MotionPlane(interest_config(settings), self._move, clock=hub.clock)
        self._ticker = Periodic("motion-tick", settings.motion_hz, self.plane.tick)
        self._closing: set[asyncio.Task[Any]] = set()
        hub.leave_listeners.append(self._left)

    def _move(
        self, room_id: str, pid: str, x: float, z: float, h: float
    ) -> tuple[float, float, float]:
        room = self.hub.room(room_id)
        p = room.participants[pid]  # KeyError: left meanwhile; the endpoint closes
        room.move(pid, x, z, h, self.hub.clock(), may_enter_stage=policy.may_enter_stage(p.role))
        return p.x, p.z, p.h

    def joined(self, room: Room, participant: Participant) -> dict[str, str]:
        """Register a newcomer; the result goes into the join acknowledgement."""
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
        return {"token": token, "path": MOTION_PATH}

    def _left(self, room_id: str, participant: Participant) -> None:
        transport = self.plane.leave(room_id, participant.id)
        if transport is not None:
            task = asyncio.get_running_loop().create_task(transport.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def start(self) -> None:
        self._ticker.start()

    async def stop(self) -> None:
        await self._ticker.stop()

    async def stats(self, request: web.Request) -> web.Response:
        """``GET /api/motion/stats``: counters for benchmarks, from loopback only."""
        remote = request.remote or ""
        try:
            local = ipaddress.ip_address(remote).is_loopback
        except ValueError:
            local = False
        if not local:
            raise web.HTTPForbidden(text="motion statistics are served to loopback only")
        return web.json_response(self.plane.stats.summary())
