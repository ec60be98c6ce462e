"""The lean forwarding path: a speaker's Opus packet sent to every listener slot in one loop.

aiortc sends a track through one :class:`aiortc.RTCRtpSender` task per listener slot: for
every packet, every listener's task is woken through an asyncio queue, builds an
``RtpPacket`` with header extensions and an NTP send time, protects and sends it
(~65–70 µs of CPU a delivery, measured in docs/performance.md "Audio plane"). Here one
call per *incoming* speaker packet does, for each slot routed to that speaker: pack the
12-byte RTP header (the slot's SSRC, its own sequence number and timestamp offset, the
negotiated Opus payload type) in front of a per-slot template (SSRC and the ``mid``
header extension, built once with aiortc's own serializer), SRTP-protect it with the
listener's DTLS transport's session and ``sendto`` it on the ICE pair aiortc nominated.
No task wake-up, no ``av.Packet``, no queue, no decode or encode.

The slot's :class:`RTCRtpSender` still runs, with a track that yields nothing: its RTCP
task keeps sending sender reports (whose counters and timestamps this module keeps
current), SDES and the final BYE, and receives the listener's receiver reports. NACKs
find no history (aiortc negotiates no NACK for Opus, and browsers do not ask for audio).

The slot's set-up, route check, SRTP send and sender-report counters are
:class:`server.rtc.rtp_slot.RtpSlot` (shared with the identity-video relay), which reaches
into aiortc 1.16 / aioice 0.13 internals and is pinned: :func:`lean_supported` is False on
any other version and the audio plane then keeps aiortc's own sender path
(:mod:`server.audio.forward`). Covered by ``tests/integration/test_audio_lean.py``; an
upgrade must re-run it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from aiortc import RTCRtpTransceiver
from aiortc.clock import current_ntp_time

from server.rtc.rtp_slot import RtpSlot, internals_supported, random_sequence, random_timestamp

#: Opus clock rate: RTP timestamp units per second.
CLOCK_RATE = 48_000
#: 20 ms of Opus: the least a slot's timestamp advances when its speaker changes.
PACKET_SAMPLES = 960
#: A listener whose UDP socket already holds this many unsent bytes (~100 ms of three
#: speech slots) gets no more packets until it drains: they are dropped and counted,
#: as a full :class:`server.audio.forward.ForwardedAudioTrack` queue drops its oldest.
MAX_BUFFERED_BYTES = 5 * 3 * 120


def lean_supported() -> bool:
    """True when the installed aiortc and aioice are the versions this path is pinned to."""
    return internals_supported()


class LeanSlot(RtpSlot):
    """One outgoing audio slot of a listener, written to directly.

    Built from the slot's transceiver once its answer is set (codecs, ``mid`` and SSRC
    are known then). ``forwarded`` and ``dropped`` count packets like the track path's.
    The slot numbers its packets itself (its own sequence, the speaker's timestamps moved
    by an offset), so a change of speaker is one continuous stream to the browser.
    """

    __slots__ = ("_marker", "_offset", "_seq")

    def __init__(self, transceiver: RTCRtpTransceiver) -> None:
        super().__init__(transceiver, None, "lean audio forwarding")
        self._seq = random_sequence()
        self._offset = random_timestamp()
        self._marker = 0x80

    def _rebase(self, timestamp: int, now: float) -> None:
        """Continue this slot's timeline with a new speaker's timestamps."""
        if self._source is not None:
            # The browser's jitter buffer should see the real time that passed, and
            # never a timestamp going back, whatever the new speaker's RTP clock says.
            gap = max(PACKET_SAMPLES, round((now - self._last_at) * CLOCK_RATE))
            self._offset = (self._last_ts + gap - timestamp) & 0xFFFFFFFF
        self._marker = 0x80  # the first packet of a talkspurt (RFC 3551 section 4.1)


def send_to_slots(slots: Iterable[LeanSlot], source: object, payload: bytes, ts: int) -> None:
    """Send one encoded packet of ``source`` (RTP timestamp ``ts``) to each of ``slots``.

    A slot whose listener is not connected yet (or any more) is skipped; one whose socket
    is not draining drops the packet (counted in ``dropped``); neither affects the others.
    """
    now = time.monotonic()
    ntp = 0  # computed once, on the first slot that sends (it costs ~2 µs)
    for slot in slots:
        pair = slot.route(MAX_BUFFERED_BYTES)
        if pair is None:
            continue
        if source is not slot._source:
            slot._rebase(ts, now)
            slot._source = source
        out_ts = (ts + slot._offset) & 0xFFFFFFFF
        if not ntp:
            ntp = current_ntp_time()
        if slot.transmit(pair, slot._marker | slot._pt, slot._seq, out_ts, payload, ntp):
            slot._marker = 0
            slot._seq = (slot._seq + 1) & 0xFFFF
            slot._last_ts, slot._last_at = out_ts, now
