"""Motion transports: one interface over a raw WebSocket and a WebRTC data channel.

The motion plane sends one frame per client per tick and never queues more: a transport
that is still busy with earlier frames is skipped for the tick (``busy``), so a slow
client gets fewer frames and nobody else waits for it.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

from aiohttp import web

#: Bytes waiting in a socket's send buffer beyond which a client counts as busy. Well
#: below asyncio's default high-water mark (64 KiB), so a send never has to wait.
BUSY_BYTES = 16 * 1024


class MotionTransport(Protocol):
    """Where one client's frames go."""

    kind: str

    def busy(self) -> bool:
        """True while earlier frames have not left yet (or the transport is closing)."""
        ...

    async def send(self, frame: bytes) -> None: ...

    async def close(self) -> None: ...


class WebSocketTransport:
    """Frames as binary messages on an aiohttp WebSocket."""

    kind = "websocket"

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws = ws
        self._transport = request.transport

    def busy(self) -> bool:
        t = self._transport
        return (
            self.ws.closed
            or t is None
            or t.is_closing()
            or (t.get_write_buffer_size() > BUSY_BYTES)
        )

    async def send(self, frame: bytes) -> None:
        # Below the high-water mark aiohttp writes straight to the socket: no suspension.
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_bytes(frame)

    async def close(self) -> None:
        await self.ws.close()


class DataChannelTransport:
    """Frames on an unreliable, unordered WebRTC data channel (aiortc).

    aiortc sends each message as its own SCTP datagram (~150-200 us a message on this
    machine, DESIGN.md): the fallback for clients that cannot keep a WebSocket, not the
    default for the many.
    """

    kind = "datachannel"

    def __init__(self, channel: Any, peer: Any = None) -> None:
        self.channel = channel
        self.peer = peer  # the RTCPeerConnection it belongs to, closed with it

    def busy(self) -> bool:
        return bool(self.channel.readyState != "open" or self.channel.bufferedAmount > BUSY_BYTES)

    async def send(self, frame: bytes) -> None:
        if self.channel.readyState == "open":
            self.channel.send(frame)

    async def close(self) -> None:
        self.channel.close()
        if self.peer is not None:
            await self.peer.close()
