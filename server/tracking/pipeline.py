"""Server-side face tracking: a participant's camera over WebRTC, tracked in memory.

The browser offers one video track (no trickle ICE: the offer holds its candidates), the
server answers, aiortc decodes the frames, and each session runs
:class:`avatar.pipeline.TrackingPipeline` in its own worker thread. Tracking never
queues: a reader keeps only the newest decoded frame (:class:`LatestFrame`), and the
worker takes whatever is newest when it is free, at most ``server_tracking_fps`` times a
second, so a slow tracker costs frames, never latency. Frames live in memory only: they
are neither written nor forwarded, and a frame is dropped as soon as a newer one arrives
or its pose is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from avatar.pipeline import TrackedFrame
from avatar.tracker import RgbImage
from rooms.errors import HirobaError, Reason
from server.common.histogram import TRACKING_SECONDS, Histogram
from server.rtc.ice import announced_only
from server.tracking.video import frame_to_rgb

log = logging.getLogger(__name__)

T = TypeVar("T")


class FramePipeline(Protocol):
    """What a session needs of :class:`avatar.pipeline.TrackingPipeline`."""

    def process(self, rgb: RgbImage, timestamp_ms: int) -> TrackedFrame: ...

    def close(self) -> None: ...


#: Makes a pipeline; blocking (loads the model), called in the session's worker thread.
PipelineFactory = Callable[[], FramePipeline]
#: Receives each pose record: ``(room, pid, record)``. Called on the event loop.
PoseSink = Callable[[str, str, bytes], None]
#: Told when a session ends by itself (peer gone, track ended): ``(pid, reason)``.
EndListener = Callable[[str, str], Awaitable[None]]


class LatestFrame(Generic[T]):
    """A one-place mailbox: :meth:`put` replaces what is there (counting a drop),
    :meth:`take` waits for something and empties the box."""

    def __init__(self) -> None:
        self._item: T | None = None
        self._ready = asyncio.Event()
        self.dropped = 0

    @property
    def pending(self) -> int:
        """Frames waiting: 0 or 1, never more."""
        return 0 if self._item is None else 1

    def put(self, item: T) -> None:
        if self._item is not None:
            self.dropped += 1
        self._item = item
        self._ready.set()

    async def take(self) -> T:
        while self._item is None:
            self._ready.clear()
            await self._ready.wait()
        item, self._item = self._item, None
        self._ready.clear()
        return item


class RtpClock:
    """Milliseconds since a session's first frame, from 90 kHz RTP timestamps that wrap at
    2**32 (aiortc hands them out as ``frame.pts``)."""

    def __init__(self) -> None:
        self._first: int | None = None
        self._last = 0
        self._unwrapped = 0

    def ms(self, pts: int | None, fallback_ms: int) -> int:
        if pts is None:
            return fallback_ms
        pts &= 0xFFFFFFFF
        if self._first is None:
            self._first = self._last = self._unwrapped = pts
        else:
            step = (pts - self._last) & 0xFFFFFFFF
            if step >= 1 << 31:  # a late (reordered) frame: step back
                step -= 1 << 32
            self._unwrapped += step
            self._last = pts
        return (self._unwrapped - self._first) // 90


@dataclass
class SessionStats:
    """What a session did. ``latencies_ms``: frame arrival → pose submitted, in ms;
    ``arrivals``: ``(frame time ms, arrival loop time)`` of recent frames."""

    received: int = 0
    tracked: int = 0
    found: int = 0
    max_pending: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    arrivals: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=1000))

    @property
    def dropped(self) -> int:
        return self.received - self.tracked


@dataclass(frozen=True, slots=True)
class _Arrived:
    frame: av.VideoFrame
    timestamp_ms: int
    at: float


def only_video(sdp: str) -> None:
    """Refuse offers that carry anything but one video stream (no audio, no data)."""
    kinds = [line[2:].split(" ", 1)[0] for line in sdp.splitlines() if line.startswith("m=")]
    if kinds != ["video"]:
        raise HirobaError(
            Reason.BAD_FIELD, f"the offer must hold exactly one video stream, not {kinds}"
        )


class CameraSession:
    """One participant's camera: a peer connection, a frame reader and a tracking worker."""

    def __init__(
        self,
        pid: str,
        room: str,
        config: RTCConfiguration,
        factory: PipelineFactory,
        sink: PoseSink,
        fps: float,
        on_end: Callable[[CameraSession, str], None],
        latency: Histogram,
    ) -> None:
        self.pid, self.room = pid, room
        self.period = 1.0 / fps
        self.stats = SessionStats()
        #: The process's tracking latency since start (``CameraTracking.latency``).
        self._latency = latency
        self._factory = factory
        self._sink = sink
        self._on_end = on_end
        self._pc = RTCPeerConnection(config)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"track-{pid}")
        self._latest: LatestFrame[_Arrived] = LatestFrame()
        self._clock = RtpClock()
        self._pipeline: FramePipeline | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._pc.on("track", self._on_track)
        self._pc.on("connectionstatechange", self._on_state)

    @property
    def connection_state(self) -> str:
        return str(self._pc.connectionState)

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{name}-{self.pid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def answer(self, offer_sdp: str) -> str:
        """Take the browser's offer and return the answer, candidates included."""
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for transceiver in self._pc.getTransceivers():
            transceiver.direction = "recvonly"
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        # Only the configured addresses reach the browser (aiortc gathers every interface).
        return announced_only(str(self._pc.localDescription.sdp))

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind != "video" or any(t.get_name().startswith("read-") for t in self._tasks):
            return
        self._spawn(self._read(track), "read")
        self._spawn(self._work(), "track")

    async def _on_state(self) -> None:
        if self._pc.connectionState in ("failed", "closed") and not self._closed:
            self._on_end(self, f"connection {self._pc.connectionState}")

    async def _read(self, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                break
            if not isinstance(frame, av.VideoFrame):
                continue
            now = loop.time()
            self.stats.received += 1
            t_ms = self._clock.ms(frame.pts, round(now * 1000))
            self.stats.arrivals.append((t_ms, now))
            self._latest.put(_Arrived(frame, t_ms, now))
            self.stats.max_pending = max(self.stats.max_pending, self._latest.pending)
        if not self._closed:
            self._on_end(self, "camera track ended")

    def _create(self) -> None:
        self._pipeline = self._factory()

    def _process(self, arrived: _Arrived) -> TrackedFrame:
        assert self._pipeline is not None
        rgb = frame_to_rgb(arrived.frame)
        return self._pipeline.process(rgb, arrived.timestamp_ms)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._create)
        except Exception:
            log.exception("could not start face tracking for %s", self.pid)
            self._on_end(self, "tracker failed")
            return
        next_at = 0.0
        while True:
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # frames arriving meanwhile replace each other
            arrived = await self._latest.take()
            next_at = loop.time() + self.period
            result = await loop.run_in_executor(self._executor, self._process, arrived)
            self.stats.tracked += 1
            self.stats.found += result.found
            self._sink(self.room, self.pid, result.record)
            took = loop.time() - arrived.at
            self.stats.latencies_ms.append(took * 1000.0)
            self._latency.observe(took)

    def _close_pipeline(self) -> None:
        if self._pipeline is not None:
            self._pipeline.close()
            self._pipeline = None

    async def close(self) -> None:
        """Stop reading and tracking, close the peer connection and the tracker."""
        if self._closed:
            return
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._pc.close()
        loop = asyncio.get_running_loop()
        # Queued behind a frame the worker may still be tracking: the tracker is closed
        # by the thread that used it, after its last frame.
        await loop.run_in_executor(self._executor, self._close_pipeline)
        self._executor.shutdown(wait=False)
        log.debug("camera session of %s closed", self.pid)


class CameraTracking:
    """Every camera session of the process, limited to ``max_sessions`` at once."""

    def __init__(
        self,
        config_of: Callable[[], RTCConfiguration],
        factory: PipelineFactory,
        sink: PoseSink,
        on_end: EndListener,
        max_sessions: int,
        fps: float,
    ) -> None:
        self._config_of = config_of
        self._factory = factory
        self._sink = sink
        self._on_end = on_end
        self.max_sessions = max_sessions
        self.fps = fps
        self.sessions: dict[str, CameraSession] = {}
        #: Frame arrival to pose, every session's since start (for /metrics: the sessions'
        #: own windows go with them).
        self.latency = Histogram(TRACKING_SECONDS)
        self._tasks: set[asyncio.Task[Any]] = set()

    def has_room(self, pid: str) -> bool:
        """Whether ``pid`` could open a session now (theirs would replace their own)."""
        return pid in self.sessions or len(self.sessions) < self.max_sessions

    async def open(self, pid: str, room: str, offer_sdp: str) -> str:
        """Start tracking ``pid``'s camera; returns the SDP answer.

        Raises ``TRACKING_FULL`` at capacity, ``BAD_FIELD`` for an unusable offer.
        """
        only_video(offer_sdp)
        if not self.has_room(pid):
            raise HirobaError(
                Reason.TRACKING_FULL,
                f"server-side tracking is at its limit ({self.max_sessions} at once)",
            )
        # Registered before the first await, so that concurrent offers count it.
        old = self.sessions.get(pid)
        session = CameraSession(
            pid, room, self._config_of(), self._factory, self._sink, self.fps,
            self._ended, self.latency,
        )  # fmt: skip
        self.sessions[pid] = session
        if old is not None:
            await old.close()
        try:
            return await session.answer(offer_sdp)
        except Exception as exc:
            if self.sessions.get(pid) is session:
                del self.sessions[pid]
            await session.close()
            if isinstance(exc, HirobaError):
                raise
            raise HirobaError(Reason.BAD_FIELD, f"unusable offer: {exc}") from exc

    def _ended(self, session: CameraSession, reason: str) -> None:
        if self.sessions.get(session.pid) is not session:
            return
        del self.sessions[session.pid]
        log.info("camera session of %s ended: %s", session.pid, reason)

        async def finish() -> None:
            await session.close()
            await self._on_end(session.pid, reason)

        task = asyncio.ensure_future(finish())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, pid: str) -> bool:
        """Stop ``pid``'s session, if any; returns whether there was one."""
        session = self.sessions.pop(pid, None)
        if session is None:
            return False
        await session.close()
        return True

    async def close_all(self) -> None:
        """Stop every session (server shutdown) and wait for pending clean-ups."""
        for pid in list(self.sessions):
            await self.close(pid)
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def counts(self) -> TrackingCounts:
        """The camera sessions' state now, for ``/metrics`` and ``/api/debug/leaks``."""
        return TrackingCounts(sessions=len(self.sessions), tasks=len(self._tasks))


@dataclass(frozen=True, slots=True)
class TrackingCounts:
    """Server-side face tracking's sizes at one moment (:meth:`CameraTracking.counts`)."""

    #: Open camera sessions (a peer connection and a tracker worker each).
    sessions: int
    #: Clean-ups of ended sessions still running.
    tasks: int
