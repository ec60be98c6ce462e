"""Motion transports: one interface over a raw WebSocket and a WebRTC data channel.

The motion plane sends one frame per client per tick and never queues more: a transport
that is still busy with earlier frames declines the tick's frame (``write_frame`` says
BUSY), so a slow client gets fewer frames and nobody else waits for it.

Writing a frame is synchronous (``write_frame``): the tick hands every client its frame in
one pass with no await, so no uplink handler or other task runs in the middle of a tick's
fan-out and the tick's duration is the fan-out's CPU alone (issue 19; docs/performance.md,
"Motion plane"). Asking whether a client is busy and writing to it is one call, not two:
at 500 clients each check costs about 2.5 µs a frame.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web

from server.common.wsframe import binary_frame

#: Bytes waiting in a socket's send buffer beyond which a client counts as busy. Well
#: below asyncio's default high-water mark (64 KiB), so a send never has to wait.
BUSY_BYTES = 16 * 1024


class Written(enum.Enum):
    """What became of a frame handed to a transport."""

    SENT = "sent"
    #: Not written: earlier frames have not left yet (a slow client, skipped this tick).
    BUSY = "busy"
    #: Not written: the connection is closing or closed (detached once its handler ends).
    GONE = "gone"


class MotionTransport(Protocol):
    """Where one client's frames go."""

    kind: str

    def write_frame(self, frame: bytes) -> Written:
        """Hand ``frame`` to the connection now, without waiting (SENT), unless it is
        still busy with earlier frames or closing (nothing written)."""
        ...

    async def close(self) -> None: ...


class WebSocketTransport:
    """Frames as binary messages on an aiohttp WebSocket, written straight to its socket.

    Each frame goes to the asyncio transport as one pre-built unmasked binary WebSocket
    frame (:mod:`server.common.wsframe`) instead of through ``await ws.send_bytes``: the
    same bytes on the wire, about half the CPU a frame and no coroutine per client. Sound
    because ``/motion`` is opened with compression off (no extension to honour), frames
    are written whole on the loop's thread (aiohttp writes its own pings and close frames
    whole too, so they never interleave mid-frame), and nothing is written once aiohttp
    has begun closing.
    """

    kind = "websocket"

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws = ws
        self._transport = request.transport
        #: Set once a close frame has been written: nothing may follow it (RFC 6455 5.5.1).
        self.closing = False
        self._closer: Callable[[], None] | None = None

    def closed_by(self, closer: Callable[[], None]) -> None:
        """The endpoint reads this connection itself (server/common/wsread.py), so aiohttp
        can no longer complete a closing handshake on it: :meth:`close` calls ``closer``."""
        self._closer = closer

    def write_frame(self, frame: bytes) -> Written:
        t = self._transport
        if self.closing or t is None or t.is_closing() or self.ws.closed:
            return Written.GONE
        if t.get_write_buffer_size() > BUSY_BYTES:
            return Written.BUSY
        # An empty buffer makes asyncio try the socket at once (one send()); what the
        # socket does not take waits in the transport's buffer, which the next call sees.
        t.write(binary_frame(frame))
        return Written.SENT

    async def close(self) -> None:
        if self._closer is not None:
            self._closer()
            return
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

    def write_frame(self, frame: bytes) -> Written:
        # aiortc's send() is synchronous already: it queues the message on the SCTP
        # association, which transmits it from its own task.
        if self.channel.readyState != "open":
            return Written.GONE
        if self.channel.bufferedAmount > BUSY_BYTES:
            return Written.BUSY
        self.channel.send(frame)
        return Written.SENT

    async def close(self) -> None:
        self.channel.close()
        if self.peer is not None:
            await self.peer.close()
