"""The one place that reaches into aiortc's receive path, to forward Opus without decoding.

aiortc has no public API for a received track's encoded payload: its receiver always hands
every reassembled frame to a decoder thread through a private queue. This module swaps that
queue for one that first gives each encoded frame (an Opus packet, for audio) to a
callback on the event loop, and passes it on to the decoder only when asked to. Asked
for, it also shows the RFC 6464 audio level of every RTP packet that carries one (aiortc
parses the header extension but keeps it below the jitter buffer) by wrapping the
receiver's packet handler, so levels need no decoder at all. Nothing else of aiortc is
touched: RTCP statistics, jitter buffering and NACKs stay as they are.

Pinned to the aiortc versions below and covered by tests/integration/test_audio_tap.py;
an aiortc upgrade must re-run them, and :func:`install_tap` refuses unknown versions
rather than failing silently.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from rooms.errors import HirobaError, Reason

#: aiortc versions whose receiver this tap was written against and tested with.
SUPPORTED_AIORTC = ("1.16.",)
_QUEUE_ATTRIBUTE = "_RTCRtpReceiver__decoder_queue"
_HANDLER_ATTRIBUTE = "_handle_rtp_packet"

#: Called with (payload bytes, RTP timestamp) for every encoded frame received.
FrameCallback = Callable[[bytes, int], None]
#: Called with the RFC 6464 level field (0-127: minus dBov) of every RTP packet carrying one.
LevelCallback = Callable[[int], None]


def aiortc_supported() -> bool:
    return version("aiortc").startswith(SUPPORTED_AIORTC)


class _TapQueue(queue.Queue[Any]):
    """The receiver's decoder queue, with every encoded frame shown to a callback first."""

    def __init__(self, callback: FrameCallback, decode: bool) -> None:
        super().__init__()
        self.callback = callback
        self.decode = decode

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:  # the receiver stopping its decoder thread
            super().put(item, block, timeout)
            return
        _codec, frame = item
        self.callback(bytes(frame.data), int(frame.timestamp))
        if self.decode:
            super().put(item, block, timeout)


def install_tap(
    receiver: Any, callback: FrameCallback, *, decode: bool, on_level: LevelCallback | None = None
) -> None:
    """Show every encoded frame ``receiver`` gets to ``callback``.

    Call it before the receiver starts (from the peer connection's ``track`` event). With
    ``decode=False`` the frames are not decoded at all and the track yields nothing.
    ``on_level`` sees the ``ssrc-audio-level`` header value of each packet that has one
    (before the jitter buffer; on the event loop), when the sender sends it.
    """
    if not aiortc_supported():
        raise HirobaError(
            Reason.INTERNAL,
            f"the Opus forwarding tap supports aiortc {SUPPORTED_AIORTC}, not {version('aiortc')}",
        )
    current = getattr(receiver, _QUEUE_ATTRIBUTE, None)
    if not isinstance(current, queue.Queue) or not current.empty():
        raise HirobaError(Reason.INTERNAL, "this aiortc receiver has no decoder queue to tap")
    setattr(receiver, _QUEUE_ATTRIBUTE, _TapQueue(callback, decode))
    if on_level is not None:
        original = getattr(receiver, _HANDLER_ATTRIBUTE, None)
        if original is None:
            raise HirobaError(Reason.INTERNAL, "this aiortc receiver has no RTP packet handler")

        # Not a coroutine itself: it hands back the original's, which the DTLS transport
        # awaits as before (one call more per packet, no extra frame to schedule).
        def handle(packet: Any, arrival_time_ms: int) -> Any:
            level = packet.extensions.audio_level
            if level is not None:
                on_level(level[1])
            return original(packet, arrival_time_ms)

        setattr(receiver, _HANDLER_ATTRIBUTE, handle)
