"""A Python stand-in for a browser sending its camera for server-side tracking.

Used by the integration tests and ``bench/face_latency.py``: an aiortc peer that offers
one send-only video track over the socket.io signalling of ``docs/protocol.md``
(``rtc:offer``), on loopback only and with no ICE servers.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import socketio
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import VideoStreamTrack

from avatar import codec
from avatar.pose import Pose
from server.motion.plane import MotionPlane
from server.rtc.ice import rtc_configuration

VIDEO_CLOCK = 90_000


async def offer_camera(
    sio: socketio.AsyncClient, track: Any, ack_within: float = 10.0
) -> tuple[RTCPeerConnection, dict[str, Any]]:
    """Offer ``track`` to the server; returns the connection and the server's ack.

    When the ack is not ``ok`` the connection is closed and returned anyway.
    """
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.addTransceiver(track, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())  # gathers: no trickle
    ack = await sio.call(
        "rtc:offer", {"type": "offer", "sdp": pc.localDescription.sdp}, timeout=ack_within
    )
    if ack.get("ok"):
        await pc.setRemoteDescription(RTCSessionDescription(sdp=ack["sdp"], type="answer"))
    else:
        await pc.close()
    return pc, ack


class FramesTrack(VideoStreamTrack):
    """Plays RGB frames at ``fps`` in real time (looping), noting when each was sent.

    ``sent[i]`` is ``(pts_ms, monotonic send time)`` of the ``i``-th frame handed to
    aiortc; pts counts from 0 in milliseconds.
    """

    def __init__(self, frames: list[npt.NDArray[np.uint8]], fps: float) -> None:
        super().__init__()
        self.frames = frames
        self.fps = fps
        self.index = 0
        self.sent: list[tuple[int, float]] = []
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.index / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        rgb = self.frames[self.index % len(self.frames)]
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        pts = round(self.index * VIDEO_CLOCK / self.fps)
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.sent.append((pts * 1000 // VIDEO_CLOCK, time.monotonic()))
        self.index += 1
        return frame


class RecordTap:
    """The full pose records handed to the motion plane, per participant, with the time
    each arrived: what a tracker made, before the plane's compact (render) form and with
    its timestamp (motion frames carry neither)."""

    def __init__(self, plane: MotionPlane, clock: Callable[[], float] = time.monotonic):
        #: pid -> [(arrival time, pose)]
        self.records: dict[str, list[tuple[float, Pose]]] = {}
        forward = plane.set_pose

        def tapped(room_id: str, pid: str, record: bytes | None, *, echo: bool = False) -> None:
            if record is not None:
                self.records.setdefault(pid, []).append((clock(), codec.decode(record)))
            forward(room_id, pid, record, echo=echo)

        plane.set_pose = tapped  # type: ignore[method-assign]


def announces(pid: str, mode: str) -> Callable[[dict[str, Any]], bool]:
    """A ``room:delta`` predicate: ``pid``'s tracking mode is announced as ``mode`` (in
    ``tracking``, or in ``joined`` when the change came in the tick they joined)."""

    def check(delta: dict[str, Any]) -> bool:
        joined = any(p["id"] == pid and p["tracking"] == mode for p in delta["joined"])
        return joined or [pid, mode] in delta.get("tracking", [])

    return check

