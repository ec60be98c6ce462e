"""Sending already-encoded Opus packets to listeners: aiortc only packetizes them.

A :class:`ForwardedAudioTrack` is one outgoing audio slot of a listener. The audio plane
pushes the payloads of whichever speaker it routes to the slot; an idle slot sends nothing
(the browser's jitter buffer conceals the gap, as it does for a speaker's own silence).
"""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

from aiortc import MediaStreamTrack
from av.packet import Packet

#: Opus at 48 kHz in 20 ms frames: 960 samples per packet.
SAMPLES_PER_PACKET = 960
TIME_BASE = Fraction(1, 48_000)
#: Packets a slow listener may have waiting (100 ms); older ones are dropped, not queued.
MAX_WAITING = 5


class ForwardedAudioTrack(MediaStreamTrack):
    """An audio track whose 'frames' are Opus packets pushed by the server."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        # (Not `_waiting`: aiortc's event-emitter base class uses that name.)
        self._packets: asyncio.Queue[Any] = asyncio.Queue()
        self._pts = 0
        self.dropped = 0
        self.forwarded = 0

    def push(self, payload: bytes) -> None:
        """Queue one Opus packet for this listener (never blocks, never grows unbounded)."""
        if self.readyState != "live":
            return
        while self._packets.qsize() >= MAX_WAITING:
            self._packets.get_nowait()
            self.dropped += 1
        packet = Packet(payload)
        packet.pts = self._pts
        packet.time_base = TIME_BASE
        self._pts += SAMPLES_PER_PACKET
        self._packets.put_nowait(packet)
        self.forwarded += 1

    async def recv(self) -> Any:
        return await self._packets.get()
