"""The motion plane over a WebRTC data channel: signalling and binding (the fallback).

A client that cannot keep the ``/motion`` WebSocket (or a benchmark comparing the two)
sends ``motion:offer`` with an SDP offer holding one data channel labelled ``motion``,
unordered with no retransmissions: a late frame is worth nothing once the next has come.
The server answers on the same socket.io acknowledgement; once the channel opens, it
replaces the participant's WebSocket transport (if any) and carries uplinks and frames
exactly like it (:mod:`server.motion.uplink`). The peer is closed when the participant
leaves, when the channel closes or fails, and at shutdown.

Measured on this machine (docs/performance.md, "Motion transports"): aiortc sends each
message as its own SCTP datagram in Python, several times the cost of a WebSocket frame,
so the WebSocket stays the default for the many.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from rooms.errors import HirobaError, Reason
from server.motion.plane import MotionPlane
from server.motion.transport import DataChannelTransport
from server.motion.uplink import UplinkReader, Verdict
from server.rtc.ice import announced_only

log = logging.getLogger(__name__)

CHANNEL_LABEL = "motion"
#: How long a negotiated peer may take to open its channel before it is dropped.
OPEN_TIMEOUT = 15.0


class MotionChannels:
    """Every motion data-channel peer of the process."""

    def __init__(
        self,
        plane: MotionPlane,
        config_of: Callable[[], RTCConfiguration],
        tick_hz: float,
        max_peers: int,
    ) -> None:
        self.plane = plane
        self._config_of = config_of
        self.tick_hz = tick_hz
        self.max_peers = max_peers
        self.peers: dict[tuple[str, str], RTCPeerConnection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def open(self, room_id: str, pid: str, offer_sdp: str) -> str:
        """Answer a participant's offer; the channel binds itself when it opens."""
        token = self.plane.token_of(room_id, pid)
        if token is None:
            raise HirobaError(Reason.NOT_JOINED, "join a room before opening motion")
        key = (room_id, pid)
        old = self.peers.pop(key, None)
        if old is not None:
            await old.close()
        if len(self.peers) >= self.max_peers:  # 0: the fallback is off
            raise HirobaError(Reason.ROOM_FULL, "no more motion data channels on this server")
        pc = RTCPeerConnection(self._config_of())
        self.peers[key] = pc

        @pc.on("datachannel")
        def on_channel(channel: Any) -> None:
            if channel.label != CHANNEL_LABEL or self.peers.get(key) is not pc:
                channel.close()
                return
            self._bind(key, token, pc, channel)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._drop(key, pc)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            if not any(line.startswith("m=application") for line in offer_sdp.splitlines()):
                raise HirobaError(Reason.BAD_PAYLOAD, "the offer holds no data channel")
            await pc.setLocalDescription(await pc.createAnswer())
        except HirobaError:
            await self._drop(key, pc)
            raise
        except Exception as exc:  # aiortc raises ValueError & co. for malformed SDP
            await self._drop(key, pc)
            raise HirobaError(Reason.BAD_PAYLOAD, "the offer could not be used") from exc
        self._spawn(self._expire(key, pc))
        # Only the configured addresses reach the browser (aiortc gathers every interface).
        return announced_only(str(pc.localDescription.sdp))

    def _bind(self, key: tuple[str, str], token: str, pc: RTCPeerConnection, channel: Any) -> None:
        room_id, pid = key
        transport = DataChannelTransport(channel, pc)
        reader = UplinkReader(self.plane, room_id, pid, self.tick_hz)

        def attach() -> None:
            if self.plane.attach(token, transport) is None:  # left meanwhile
                self._spawn(self._drop(key, pc))

        def on_message(data: object) -> None:
            verdict = reader.feed(data)
            if verdict is not Verdict.OK:
                self._spawn(self._drop(key, pc))

        def on_close() -> None:
            self.plane.detach(room_id, pid, transport)
            self._spawn(self._drop(key, pc))

        channel.on("message", on_message)
        channel.on("close", on_close)

        if channel.readyState == "open":
            attach()
        else:
            channel.on("open", attach)

    async def _expire(self, key: tuple[str, str], pc: RTCPeerConnection) -> None:
        await asyncio.sleep(OPEN_TIMEOUT)
        if pc.sctp is None or pc.connectionState != "connected":
            await self._drop(key, pc)

    async def _drop(self, key: tuple[str, str], pc: RTCPeerConnection) -> None:
        if self.peers.get(key) is pc:
            del self.peers[key]
        await pc.close()

    async def leave(self, room_id: str, pid: str) -> None:
        pc = self.peers.pop((room_id, pid), None)
        if pc is not None:
            await pc.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        peers, self.peers = list(self.peers.values()), {}
        await asyncio.gather(*(pc.close() for pc in peers), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def counts(self) -> MotionChannelCounts:
        """The data channels' per-person state now, for ``/api/debug/leaks``."""
        return MotionChannelCounts(peers=len(self.peers), tasks=len(self._tasks))


@dataclass(frozen=True, slots=True)
class MotionChannelCounts:
    """The motion data channels' sizes at one moment (:meth:`MotionChannels.counts`)."""

    #: Open data-channel peer connections, one per participant using the fallback.
    peers: int
    #: Peer clean-up tasks still running (closing a dropped peer, its open timeout).
    tasks: int
