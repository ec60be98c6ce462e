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

Reaches into aiortc 1.16 / aioice 0.13 internals (the DTLS transport's state and SRTP
session, the sender's SR counters, the ICE connection's nominated pair), so it is pinned:
:func:`lean_supported` is False on any other version and the audio plane then keeps
aiortc's own sender path (:mod:`server.audio.forward`). Covered by
``tests/integration/test_audio_lean.py``; an upgrade must re-run it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from importlib.metadata import version
from struct import Struct
from typing import Any

from aiortc import RTCRtpTransceiver
from aiortc.clock import current_ntp_time
from aiortc.rtcdtlstransport import State
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from rooms.errors import HirobaError, Reason

#: Versions whose internals this module was written against and tested with.
SUPPORTED = {"aiortc": ("1.16.",), "aioice": ("0.13.",)}
#: Opus clock rate: RTP timestamp units per second.
CLOCK_RATE = 48_000
#: 20 ms of Opus: the least a slot's timestamp advances when its speaker changes.
PACKET_SAMPLES = 960
#: A listener whose UDP socket already holds this many unsent bytes (~100 ms of three
#: speech slots) gets no more packets until it drains: they are dropped and counted,
#: as a full :class:`server.audio.forward.ForwardedAudioTrack` queue drops its oldest.
MAX_BUFFERED_BYTES = 5 * 3 * 120

_HEAD = Struct("!BBHL")  # V/P/X/CC, M/PT, sequence number, timestamp


def lean_supported() -> bool:
    """True when the installed aiortc and aioice are the versions this path is pinned to."""
    return all(version(name).startswith(ok) for name, ok in SUPPORTED.items())


class LeanSlot:
    """One outgoing audio slot of a listener, written to directly.

    Built from the slot's transceiver once its answer is set (codecs, ``mid`` and SSRC
    are known then). ``forwarded`` and ``dropped`` count packets like the track path's.
    """

    __slots__ = (
        "_b0", "_dtls", "_last_at", "_last_ts", "_marker", "_offset", "_pt", "_sender",
        "_seq", "_source", "_tail", "dropped", "forwarded",
    )  # fmt: skip

    def __init__(self, transceiver: RTCRtpTransceiver) -> None:
        if not lean_supported():
            raise HirobaError(
                Reason.INTERNAL,
                f"lean audio forwarding supports {SUPPORTED}, not aiortc {version('aiortc')}"
                f" / aioice {version('aioice')}",
            )
        sender: Any = transceiver.sender
        codecs = transceiver._codecs
        if not codecs or codecs[0].payloadType is None or sender.transport is None:
            raise HirobaError(Reason.INTERNAL, "this transceiver has no negotiated codec yet")
        extensions = HeaderExtensionsMap()
        extensions.configure(RTCRtpSendParameters(headerExtensions=transceiver._headerExtensions))
        template = RtpPacket(payload_type=0, ssrc=sender._ssrc)
        template.extensions.mid = transceiver.mid
        header = template.serialize(extensions)
        self._dtls: Any = sender.transport
        self._sender = sender
        self._b0 = header[0]
        self._pt: int = codecs[0].payloadType
        self._tail = header[8:]  # SSRC and the header extension block, fixed per slot
        # Random starts, as aiortc's sender picks them (low half: no early wrap-around).
        self._seq = random.randrange(32768)
        self._offset = random.getrandbits(32)
        # The speaker last sent here (held until another one's packet, so an identity
        # check is enough to see a switch: no id() that a new uplink could reuse).
        self._source: object | None = None
        self._last_ts = 0
        self._last_at = 0.0
        self._marker = 0x80
        self.forwarded = 0
        self.dropped = 0

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
    size = len(payload)
    for slot in slots:
        dtls = slot._dtls
        if dtls._state is not State.CONNECTED:
            continue
        pair = dtls._transport._connection._nominated.get(1)
        if pair is None:
            continue
        udp = pair.protocol.transport
        if udp.get_write_buffer_size() >= MAX_BUFFERED_BYTES:
            slot.dropped += 1
            continue
        if source is not slot._source:
            slot._rebase(ts, now)
            slot._source = source
        out_ts = (ts + slot._offset) & 0xFFFFFFFF
        try:
            packet = dtls._tx_srtp.protect(
                _HEAD.pack(slot._b0, slot._marker | slot._pt, slot._seq, out_ts)
                + slot._tail
                + payload
            )
            udp.sendto(packet, pair.remote_addr)
        except Exception:  # a closing transport or SRTP session: this slot only
            slot.dropped += 1
            continue
        slot._marker = 0
        slot._seq = (slot._seq + 1) & 0xFFFF
        slot._last_ts, slot._last_at = out_ts, now
        slot.forwarded += 1
        # What aiortc's RTCP task reads for the sender reports, and its transport stats.
        if not ntp:
            ntp = current_ntp_time()
        # (Outside a class body these private names are not mangled again.)
        sender = slot._sender
        sender._RTCRtpSender__ntp_timestamp = ntp
        sender._RTCRtpSender__rtp_timestamp = out_ts
        sender._RTCRtpSender__packet_count += 1
        sender._RTCRtpSender__octet_count += size
        dtls._RTCDtlsTransport__tx_packets += 1
        dtls._RTCDtlsTransport__tx_bytes += len(packet)
