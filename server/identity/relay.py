"""Camera RTP in, the same RTP out to viewer slots: the identity video is never decoded.

aiortc has no public API for a received track's RTP packets, and its receiver hands every
reassembled frame to a decoder thread. Two reaches into its receive and send paths do
what the identity check needs, and nothing more:

- **In** (:func:`tap_video`): the receiver's RTP handler is wrapped so that each VP8
  packet of the camera (retransmissions unwrapped from RTX) is given, as received, to a
  callback on the event loop; the packet then goes on through aiortc as before (RTCP
  statistics, receiver reports, NACKs to the camera, picture-loss requests when its jitter
  buffer sees a gap). The decoder queue is swapped for a :class:`DiscardQueue` that counts
  the reassembled frames and drops them: no decoder is ever built for the camera.
- **Out** (:class:`VideoSlot`, :func:`send_video`): each viewer slot is a send-only
  transceiver whose aiortc sender runs with a track that yields nothing (it sends only
  RTCP: sender reports, SDES, BYE). Each camera packet gets a new 12-byte RTP header (the
  slot's SSRC and payload type, the packet's sequence number and timestamp moved by the
  slot's offsets, the camera's marker bit) in front of the slot's ``mid`` header
  extension and the untouched VP8 payload, is SRTP-protected with the viewer's DTLS
  session and sent on the ICE pair aiortc nominated. A slot whose socket already holds
  :data:`MAX_BUFFERED_BYTES` unsent drops the packet (counted) instead of queueing it.
  Offsets (not counters) keep the camera's own sequence gaps and retransmissions meaningful
  to the viewer's jitter buffer; when a slot passes to another camera its numbering
  continues where it was, so the viewer sees one stream.
- **Keyframes**: a viewer's PLI or FIR reaches the slot sender's ``_send_keyframe``, which
  is replaced by a callback: the plane forwards it to the camera through a
  :class:`KeyframeGate` (at most one picture-loss request per interval per camera, the
  latest kept for the end of the interval).

Viewer NACKs find no history (the slot's sender sent nothing itself): a viewer that loses
packets recovers with a keyframe request. The slot's set-up, route check, SRTP send and
sender-report counters are :class:`server.rtc.rtp_slot.RtpSlot`, shared with the lean
audio path. Pinned to aiortc 1.16 / aioice 0.13 (private names here and there);
:func:`relay_supported` is False on any other version and the identity plane then refuses
offers with ``internal`` rather than failing silently. Covered by
``tests/integration/test_identity_video.py``; an aiortc upgrade must re-run it.
"""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import Callable, Iterable
from struct import Struct
from typing import Any

from aiortc import MediaStreamTrack, RTCRtpTransceiver
from aiortc.clock import current_ntp_time
from aiortc.rtp import RtpPacket

from rooms.errors import HirobaError, Reason
from server.rtc.rtp_slot import (
    RtpSlot,
    internals_supported,
    random_sequence,
    random_timestamp,
    require_internals,
)

#: The video RTP clock: timestamp units per second.
CLOCK_RATE = 90_000
#: One frame at 15 fps: the least a slot's timestamp advances when its camera changes.
FRAME_TICKS = CLOCK_RATE // 15
#: A viewer whose UDP socket already holds this many unsent bytes (about 1.5 s of a
#: 320×240 camera at 300 kbit/s) gets no more packets until it drains: they are dropped.
MAX_BUFFERED_BYTES = 64 * 1024
#: The codecs an identity peer accepts: VP8 (every WebRTC browser must implement it, RFC
#: 7742) and its retransmissions. One codec everywhere means a packet is forwarded as is.
VIDEO_MIME = "video/VP8"
#: What the version pin's refusal names.
WHAT = "identity video forwarding"

_QUEUE_ATTRIBUTE = "_RTCRtpReceiver__decoder_queue"
_CODECS_ATTRIBUTE = "_RTCRtpReceiver__codecs"
_HANDLER_ATTRIBUTE = "_handle_rtp_packet"
_SEQ = Struct("!H")

#: ``(ssrc, marker, sequence number, timestamp, VP8 payload)`` of each camera packet.
PacketCallback = Callable[[int, int, int, int, bytes], None]


def relay_supported() -> bool:
    """True when the installed aiortc and aioice are the versions this module is pinned to."""
    return internals_supported()


class DiscardQueue(queue.Queue[Any]):
    """Stands in for a receiver's decoder queue: frames are counted, never decoded."""

    def __init__(self) -> None:
        super().__init__()
        #: Reassembled camera frames that reached the place a decoder would have had them.
        self.discarded = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:  # the receiver stopping its (idle) decoder thread
            super().put(item, block, timeout)
            return
        self.discarded += 1


def tap_video(receiver: Any, on_packet: PacketCallback) -> DiscardQueue:
    """Show every VP8 RTP packet ``receiver`` gets to ``on_packet``; decode nothing.

    Call it from the peer connection's ``track`` event, before the receiver starts.
    Returns the queue that replaced the decoder's (its ``discarded`` counts frames).
    """
    require_internals(WHAT)
    current = getattr(receiver, _QUEUE_ATTRIBUTE, None)
    original = getattr(receiver, _HANDLER_ATTRIBUTE, None)
    if not isinstance(current, queue.Queue) or not current.empty() or original is None:
        raise HirobaError(Reason.INTERNAL, "this aiortc receiver cannot be tapped")
    discard = DiscardQueue()
    setattr(receiver, _QUEUE_ATTRIBUTE, discard)
    # The receiver fills its codec table when it starts, after this call: read it per
    # packet (a dict lookup).
    codecs: dict[int, Any] = getattr(receiver, _CODECS_ATTRIBUTE)

    def handle(packet: RtpPacket, arrival_time_ms: int) -> Any:
        codec = codecs.get(packet.payload_type)
        payload = packet.payload
        if codec is not None and payload and receiver._enabled:
            if codec.name == "rtx":
                # RFC 4588: the original sequence number, then the original payload; the
                # timestamp and marker are the original's.
                if len(payload) > 2:
                    on_packet(packet.ssrc, packet.marker, _SEQ.unpack_from(payload)[0],
                              packet.timestamp, payload[2:])
            else:
                on_packet(packet.ssrc, packet.marker, packet.sequence_number, packet.timestamp,
                          payload)
        # Not a coroutine itself: it hands back the original's, which the DTLS transport
        # awaits as before.
        return original(packet, arrival_time_ms)

    setattr(receiver, _HANDLER_ATTRIBUTE, handle)
    return discard


class IdleVideoTrack(MediaStreamTrack):
    """The track of a viewer slot's sender: it never yields a frame, so aiortc builds no
    encoder; the slot's packets are written by :func:`send_video`."""

    kind = "video"

    async def recv(self) -> Any:
        await asyncio.get_running_loop().create_future()  # never done; cancelled on close


class VideoSlot(RtpSlot):
    """One outgoing video slot of a viewer, written to directly.

    Built from the slot's transceiver once the answer is set (codec, ``mid`` and SSRC are
    known then). ``on_keyframe`` is called when the viewer asks for a keyframe (PLI/FIR).
    """

    __slots__ = ("_last_seq", "_seq_offset", "_ts_offset")

    def __init__(self, transceiver: RTCRtpTransceiver, on_keyframe: Callable[[], None]) -> None:
        super().__init__(transceiver, VIDEO_MIME, WHAT)
        # PLI and FIR from the viewer end here (aiortc's sender would flag its encoder).
        self._sender._send_keyframe = on_keyframe
        self._seq_offset = random_sequence()
        self._ts_offset = random_timestamp()
        self._last_seq = 0

    def _rebase(self, seq: int, timestamp: int, now: float) -> None:
        """Continue this slot's numbering with a new camera's packets."""
        if self._source is None:
            return  # the first camera: the random offsets stand
        self._seq_offset = (self._last_seq + 1 - seq) & 0xFFFF
        # The viewer's jitter buffer should see the real time that passed, never a
        # timestamp going back, whatever the new camera's RTP clock says.
        gap = max(FRAME_TICKS, round((now - self._last_at) * CLOCK_RATE))
        self._ts_offset = (self._last_ts + gap - timestamp) & 0xFFFFFFFF


def send_video(
    slots: Iterable[VideoSlot], source: object, marker: int, seq: int, ts: int, payload: bytes
) -> None:
    """Send one camera packet of ``source`` to each of ``slots``.

    A slot whose viewer is not connected yet (or any more) is skipped; one whose socket is
    not draining drops the packet (counted in ``dropped``); neither affects the others.
    """
    now = time.monotonic()
    ntp = 0  # computed once, on the first slot that sends
    mark = 0x80 if marker else 0
    for slot in slots:
        pair = slot.route(MAX_BUFFERED_BYTES)
        if pair is None:
            continue
        if source is not slot._source:
            slot._rebase(seq, ts, now)
            slot._source = source
        out_seq = (seq + slot._seq_offset) & 0xFFFF
        out_ts = (ts + slot._ts_offset) & 0xFFFFFFFF
        if not ntp:
            ntp = current_ntp_time()
        if slot.transmit(pair, mark | slot._pt, out_seq, out_ts, payload, ntp):
            slot._last_seq, slot._last_ts, slot._last_at = out_seq, out_ts, now


class KeyframeGate:
    """Keyframe requests to one camera, at most one per ``interval`` seconds.

    A request inside the interval is not lost: one request is sent when the interval ends
    (however many arrived), so a viewer that attached just after another still gets its
    keyframe. Many viewers asking at once cost the camera one keyframe.
    """

    def __init__(self, send: Callable[[], None], interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._send = send
        self.interval = interval
        self._clock = clock
        self._last = -1e9
        self._pending: asyncio.TimerHandle | None = None
        #: Requests sent to the camera, and requests folded into another.
        self.sent = 0
        self.folded = 0

    def request(self) -> None:
        now = self._clock()
        wait = self._last + self.interval - now
        if wait <= 0 and self._pending is None:
            self._fire()
            return
        self.folded += 1
        if self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(wait, self._fire)

    def _fire(self) -> None:
        self._pending = None
        self._last = self._clock()
        self.sent += 1
        self._send()

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
