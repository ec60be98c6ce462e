"""A motion-plane client for tests and benchmarks: what the browser's net/motion.js does.

It opens ``/motion`` with the token of a socket.io join acknowledgement, sends uplinks
when asked and keeps every frame that arrives, decoded, with its arrival time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from server.motion import codec
from server.motion.codec import CompactPose, FrameEntry

Entries = list[FrameEntry]


class MotionWatcher:
    """One participant's motion WebSocket; ``frames`` holds ``(arrival, tick, entries)``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.frames: list[tuple[float, int, Entries]] = []
        #: slot -> [(arrival, tick, compact pose)]
        self.poses: dict[int, list[tuple[float, int, CompactPose]]] = {}
        self.closed_with: int | None = None
        self._arrived = asyncio.Event()
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, ack: dict[str, Any]) -> MotionWatcher:
        """Connect for the participant of join ack ``ack`` on the server at ``url``."""
        self = cls()
        self._http = aiohttp.ClientSession()
        ws = await self._http.ws_connect(url.replace("http", "ws", 1) + ack["motion"]["path"])
        self._ws = ws
        await ws.send_str(ack["motion"]["token"])
        first = await ws.receive(timeout=5)
        assert first.data == "ok", first
        self._reader = asyncio.get_running_loop().create_task(self._read(ws))
        return self

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.BINARY:
                now = self.clock()
                tick, entries = codec.decode_frame(msg.data)
                self.frames.append((now, tick, entries))
                for e in entries:
                    if e.pose is not None:
                        self.poses.setdefault(e.slot, []).append((now, tick, e.pose))
                self._arrived.set()
        self.closed_with = ws.close_code
        self._arrived.set()

    async def send(self, x: float, z: float, h: float, pose: bytes | None = None) -> None:
        assert self._ws is not None
        await self._ws.send_bytes(codec.encode_uplink(x, z, h, pose))

    async def wait_for(
        self, predicate: Callable[[Entries], bool], within: float = 5.0, since: int = 0
    ) -> Entries:
        """Entries of the first frame (from index ``since`` of :attr:`frames` on, including
        frames still to come) that satisfies ``predicate``."""
        seen = since
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            for _, _, entries in self.frames[seen:]:
                if predicate(entries):
                    return entries
            seen = len(self.frames)
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closed_with is not None:
                raise AssertionError(f"no matching motion frame within {within} s")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def wait_poses(self, slot: int, count: int, within: float = 10.0) -> None:
        """Wait until ``count`` poses of ``slot`` have arrived in all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while len(self.poses.get(slot, [])) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                have = len(self.poses.get(slot, []))
                raise AssertionError(f"only {have} of {count} poses of slot {slot} arrived")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader
        if self._http is not None:
            await self._http.close()


def moved_to(slot: int, x: float, z: float, tol: float = 0.011) -> Callable[[Entries], bool]:
    """A frame predicate: ``slot`` is at (x, z) within ``tol`` metres on each axis."""
    return lambda es: any(
        e.slot == slot and abs(e.x - x) <= tol and abs(e.z - z) <= tol for e in es
    )
