"""The room tick: once per tick, one delta per changed room, sent to that room."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import socketio

from server import events
from server.hub import Hub

log = logging.getLogger(__name__)


class Ticker:
    """Runs ``hub.take_deltas`` at ``tick_hz`` and emits each delta to its room."""

    def __init__(self, sio: socketio.AsyncServer, hub: Hub) -> None:
        self.sio = sio
        self.hub = hub
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="room-ticker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def tick(self) -> None:
        for delta in self.hub.take_deltas():
            await self.sio.emit(events.ROOM_DELTA, delta.to_wire(), room=delta.room)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.hub.settings.tick_hz
        deadline = loop.time()
        while True:
            deadline += period
            try:
                await self.tick()
            except Exception:
                log.exception("tick failed")
            delay = deadline - loop.time()
            if delay < 0:
                # Fell behind (a long pause): skip the missed ticks rather than burst.
                deadline = loop.time()
                delay = 0
            await asyncio.sleep(delay)
