"""The room tick: once per tick, one delta per changed room, sent to that room."""

from __future__ import annotations

import socketio

from server.common.periodic import Periodic
from server.sockets import events
from server.sockets.hub import Hub


class Ticker(Periodic):
    """Runs ``hub.take_deltas`` at ``tick_hz`` and emits each delta to its room."""

    def __init__(self, sio: socketio.AsyncServer, hub: Hub) -> None:
        super().__init__("room-ticker", hub.settings.tick_hz, self._emit_deltas)
        self.sio = sio
        self.hub = hub

    async def _emit_deltas(self) -> None:
        for delta in self.hub.take_deltas():
            await self.sio.emit(events.ROOM_DELTA, delta.to_wire(), room=delta.room)
