"""The identity plane: members' cameras in, forwarded still encoded to the chair and staff.

- **Cameras** (:meth:`IdentityPlane.open_camera`): one receive-only peer per publishing
  member (or chair), negotiated for VP8 only. Its RTP is taken off aiortc's receive path by
  :func:`server.identity.relay.tap_video` and sent to the viewer slots routed to it; the
  camera is never decoded.
- **Viewers** (:meth:`IdentityPlane.open_viewer`): one peer per viewing chair or staff
  seat, negotiated once with a fixed number of send-only video slots (the browser offers
  that many receive-only video transceivers). Cameras take the free slots in the order
  they started and keep their slot while they publish; a camera that finds no free slot is
  not shown to that viewer until one frees. ``on_slots(viewer, [camera pid or None per
  slot])`` tells the viewer whose picture each slot carries; there is no renegotiation.
- **Keyframes**: when a camera is newly routed to a slot, and when a viewer sends PLI/FIR,
  the camera is asked for a keyframe through its :class:`~server.identity.relay.KeyframeGate`
  (at most one request per ``keyframe_interval`` per camera).
- Cameras and viewers meet only within a room. The plane keeps no frame and writes
  nothing: the video exists only as packets in flight.

Callbacks run on the event loop and must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NoReturn

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from rooms.errors import HirobaError, Reason
from server.identity.relay import (
    VIDEO_MIME,
    DiscardQueue,
    IdleVideoTrack,
    KeyframeGate,
    VideoSlot,
    relay_supported,
    send_video,
    tap_video,
)

log = logging.getLogger(__name__)

#: ``(viewer id, [camera id or None, one per slot])`` whenever a viewer's slots change.
SlotsListener = Callable[[str, list[str | None]], None]
#: Least seconds between two keyframe requests to one camera.
KEYFRAME_INTERVAL = 0.5
#: A camera is live while its last RTP packet is at most this old (seconds): a sending
#: camera's encoder emits frames continually, so two seconds without a packet is a camera
#: stopped, paused by the system or cut off.
CAMERA_LIVE_WITHIN = 2.0


def media_kinds(sdp: str) -> list[str]:
    """The media kind of each ``m=`` line of ``sdp``, in order."""
    return [line[2:].split(" ", 1)[0] for line in sdp.splitlines() if line.startswith("m=")]


def _vp8_only() -> list[RTCRtpCodecCapability]:
    """VP8 and its RTX, as codec preferences: the one codec every identity peer uses."""
    wanted = {VIDEO_MIME.lower(), "video/rtx"}
    return [c for c in RTCRtpSender.getCapabilities("video").codecs
            if c.mimeType.lower() in wanted]  # fmt: skip


@dataclass(eq=False)
class _Peer:
    pid: str
    room: str
    pc: RTCPeerConnection
    closed: bool = False


@dataclass(eq=False)
class _Camera(_Peer):
    receiver: RTCRtpReceiver | None = None
    discard: DiscardQueue | None = None
    gate: KeyframeGate | None = None
    ssrc: int | None = None
    packets: int = 0
    started: float = 0.0
    #: When its last RTP packet came (the plane's clock).
    last_packet: float = float("-inf")


@dataclass(eq=False)
class _Viewer(_Peer):
    slots: list[VideoSlot] = field(default_factory=list)
    #: camera id → slot index
    shown: dict[str, int] = field(default_factory=dict)


class IdentityPlane:
    """Every camera and viewer peer of the process, and the routing between them."""

    def __init__(
        self,
        config_of: Callable[[], RTCConfiguration],
        on_slots: SlotsListener | None = None,
        keyframe_interval: float = KEYFRAME_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config_of = config_of
        self._on_slots = on_slots
        self._keyframe_interval = keyframe_interval
        self._clock = clock
        self._cameras: dict[str, _Camera] = {}
        self._viewers: dict[str, _Viewer] = {}
        #: camera id → the viewer slots its packets go to (rebuilt on every change)
        self._routes: dict[str, list[VideoSlot]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed_forwarded = 0
        self._closed_dropped = 0

    # --- queries --------------------------------------------------------------------
    def cameras_in(self, room: str) -> list[str]:
        """Cameras publishing in ``room``, in the order they started."""
        found = [c for c in self._cameras.values() if c.room == room]
        return [c.pid for c in sorted(found, key=lambda c: c.started)]

    def camera_live(self, pid: str, within: float = CAMERA_LIVE_WITHIN) -> bool:
        """Whether ``pid``'s camera peer is open and sent video RTP in the last ``within``
        seconds (a ballot cast on camera, when the committee requires it)."""
        peer = self._cameras.get(pid)
        return (peer is not None and not peer.closed
                and self._clock() - peer.last_packet <= within)

    def viewers_in(self, room: str) -> list[str]:
        return [v.pid for v in self._viewers.values() if v.room == room]

    def slots_of(self, viewer: str) -> list[str | None]:
        """Camera id (or None) on each slot of ``viewer``."""
        peer = self._viewers.get(viewer)
        if peer is None:
            return []
        out: list[str | None] = [None] * len(peer.slots)
        for camera, index in peer.shown.items():
            out[index] = camera
        return out

    def stats(self) -> dict[str, Any]:
        """Counters for tests and benchmarks (no personal data beyond ids)."""
        return {
            "cameras": {
                p: {"packets": c.packets,
                    "frames_discarded": c.discard.discarded if c.discard else 0,
                    "keyframes_asked": c.gate.sent if c.gate else 0,
                    "keyframes_folded": c.gate.folded if c.gate else 0}
                for p, c in self._cameras.items()
            },
            "viewers": {
                p: {"forwarded": sum(s.forwarded for s in v.slots),
                    "dropped": sum(s.dropped for s in v.slots)}
                for p, v in self._viewers.items()
            },
        }  # fmt: skip

    def totals(self) -> tuple[int, int, int, int]:
        """``(cameras, viewers, packets forwarded, packets dropped)`` since start."""
        forwarded, dropped = self._closed_forwarded, self._closed_dropped
        for v in self._viewers.values():
            forwarded += sum(s.forwarded for s in v.slots)
            dropped += sum(s.dropped for s in v.slots)
        return len(self._cameras), len(self._viewers), forwarded, dropped

    # --- peers ----------------------------------------------------------------------
    async def open_camera(self, pid: str, room: str, offer_sdp: str) -> str:
        """Receive ``pid``'s camera (one VP8 video stream); returns the SDP answer."""
        if not relay_supported():
            raise HirobaError(Reason.INTERNAL, "identity video is not supported on this aiortc")
        if media_kinds(offer_sdp) != ["video"]:
            raise HirobaError(Reason.BAD_FIELD, "the offer must hold exactly one video stream")
        await self._close_peer(self._cameras.pop(pid, None))
        peer = _Camera(pid, room, RTCPeerConnection(self._config_of()), started=self._clock())
        self._cameras[pid] = peer
        peer.gate = KeyframeGate(lambda: self._ask_keyframe(peer), self._keyframe_interval,
                                 self._clock)

        @peer.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind != "video" or peer.receiver is not None:
                return
            receiver = next(
                t.receiver for t in peer.pc.getTransceivers() if t.receiver.track is track
            )
            peer.receiver = receiver
            peer.discard = tap_video(
                receiver, lambda ssrc, m, seq, ts, payload: self._forward(peer, ssrc, m, seq,
                                                                         ts, payload))

        self._watch(peer)
        try:
            transceiver = peer.pc.addTransceiver("video", direction="recvonly")
            transceiver.setCodecPreferences(_vp8_only())
            answer = await self._negotiate(peer, offer_sdp)
            if peer.receiver is None:
                raise HirobaError(Reason.BAD_FIELD, "the offer sends no video")
        except Exception as exc:
            await self._discard(peer, self._cameras, exc)
        self._route(room)
        return answer

    async def open_viewer(self, pid: str, room: str, offer_sdp: str, most: int) -> str:
        """Send cameras to ``pid`` on the receive-only video slots of their offer (1..most)."""
        if not relay_supported():
            raise HirobaError(Reason.INTERNAL, "identity video is not supported on this aiortc")
        kinds = media_kinds(offer_sdp)
        if not 1 <= len(kinds) <= most or set(kinds) != {"video"}:
            raise HirobaError(Reason.BAD_FIELD,
                              f"the offer must hold 1 to {most} video streams and nothing else")
        await self._close_peer(self._viewers.pop(pid, None))
        peer = _Viewer(pid, room, RTCPeerConnection(self._config_of()))
        self._viewers[pid] = peer
        self._watch(peer)
        try:
            transceivers = []
            for _ in kinds:
                transceiver = peer.pc.addTransceiver(IdleVideoTrack(), direction="sendonly")
                transceiver.setCodecPreferences(_vp8_only())
                transceivers.append(transceiver)
            answer = await self._negotiate(peer, offer_sdp)
            peer.slots = [VideoSlot(t, partial(self._viewer_wants_keyframe, peer, i))
                          for i, t in enumerate(transceivers)]
        except Exception as exc:
            await self._discard(peer, self._viewers, exc)
        self._route(room)
        return answer

    async def close_camera(self, pid: str) -> None:
        peer = self._cameras.pop(pid, None)
        await self._close_peer(peer)
        if peer is not None:
            self._route(peer.room)

    async def close_viewer(self, pid: str) -> None:
        peer = self._viewers.pop(pid, None)
        await self._close_peer(peer)
        if peer is not None:
            self._route(peer.room)

    async def leave(self, pid: str) -> None:
        await self.close_camera(pid)
        await self.close_viewer(pid)

    async def close(self) -> None:
        """Stop every peer (server shutdown)."""
        peers: list[_Peer] = [*self._cameras.values(), *self._viewers.values()]
        self._cameras.clear()
        self._viewers.clear()
        self._routes.clear()
        for peer in peers:
            await self._close_peer(peer)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- forwarding -----------------------------------------------------------------
    def _forward(self, peer: _Camera, ssrc: int, marker: int, seq: int, ts: int,
                 payload: bytes) -> None:
        if peer.closed:
            return
        peer.ssrc = ssrc
        peer.packets += 1
        peer.last_packet = self._clock()
        slots = self._routes.get(peer.pid)
        if slots:
            send_video(slots, peer, marker, seq, ts, payload)

    def _viewer_wants_keyframe(self, viewer: _Viewer, index: int) -> None:
        for camera, slot in viewer.shown.items():
            if slot == index:
                self._keyframe(camera)

    def _keyframe(self, camera: str) -> None:
        peer = self._cameras.get(camera)
        if peer is not None and peer.gate is not None and not peer.closed:
            peer.gate.request()

    def _ask_keyframe(self, peer: _Camera) -> None:
        """Send one picture-loss indication to the camera (RFC 4585 section 6.3.1)."""
        if peer.closed or peer.receiver is None or peer.ssrc is None:
            return  # no packet yet: its first frame is a keyframe anyway
        task = asyncio.ensure_future(peer.receiver._send_rtcp_pli(peer.ssrc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _route(self, room: str) -> None:
        """Give each viewer of ``room`` the cameras that fit its slots; sticky."""
        cameras = self.cameras_in(room)
        live = set(cameras)
        for viewer in self._viewers.values():
            if viewer.room != room or not viewer.slots:
                continue
            before = dict(viewer.shown)
            viewer.shown = {c: i for c, i in viewer.shown.items() if c in live}
            used = set(viewer.shown.values())
            free = [i for i in range(len(viewer.slots)) if i not in used]
            for camera in cameras:
                if camera not in viewer.shown and free:
                    viewer.shown[camera] = free.pop(0)
            if viewer.shown != before:
                for camera, index in viewer.shown.items():
                    if before.get(camera) != index:
                        self._keyframe(camera)  # the viewer's decoder starts here
                if self._on_slots is not None:
                    self._on_slots(viewer.pid, self.slots_of(viewer.pid))
        routes: dict[str, list[VideoSlot]] = {}
        for viewer in self._viewers.values():
            for camera, index in viewer.shown.items():
                routes.setdefault(camera, []).append(viewer.slots[index])
        self._routes = routes

    # --- internals ------------------------------------------------------------------
    async def _negotiate(self, peer: _Peer, offer_sdp: str) -> str:
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        return str(peer.pc.localDescription.sdp)

    def _watch(self, peer: _Peer) -> None:
        @peer.pc.on("connectionstatechange")
        async def on_state() -> None:
            if peer.pc.connectionState == "connected" and isinstance(peer, _Viewer):
                # Packets reach a viewer only from now: the keyframe asked when its slots
                # were filled went by before; ask again (the gate folds the two).
                for camera in peer.shown:
                    self._keyframe(camera)
            if peer.pc.connectionState in ("failed", "closed") and not peer.closed:
                log.info("identity peer of %s ended: %s", peer.pid, peer.pc.connectionState)
                if isinstance(peer, _Camera):
                    if self._cameras.get(peer.pid) is peer:
                        await self.close_camera(peer.pid)
                elif self._viewers.get(peer.pid) is peer:
                    await self.close_viewer(peer.pid)

    async def _discard(self, peer: _Peer, registry: dict[str, Any], exc: Exception) -> NoReturn:
        """A peer whose negotiation failed: forgotten, closed, and the reason raised."""
        if registry.get(peer.pid) is peer:
            del registry[peer.pid]
        await self._close_peer(peer)
        if isinstance(exc, HirobaError):
            raise exc
        raise HirobaError(Reason.BAD_FIELD, f"unusable offer: {exc}") from exc

    async def _close_peer(self, peer: _Peer | None) -> None:
        if peer is None or peer.closed:
            return
        peer.closed = True
        if isinstance(peer, _Camera) and peer.gate is not None:
            peer.gate.close()
        if isinstance(peer, _Viewer):
            self._closed_forwarded += sum(s.forwarded for s in peer.slots)
            self._closed_dropped += sum(s.dropped for s in peer.slots)
        with contextlib.suppress(Exception):
            await peer.pc.close()
