"""An outgoing RTP slot written to directly: the shared half of the lean audio path
(:mod:`server.audio.lean`) and the identity-video relay (:mod:`server.identity.relay`).

Both forward packets that arrive already encoded, to many receivers, without aiortc's
per-slot sender task: for each slot they pack a 12-byte RTP header (the slot's SSRC and
payload type, their own sequence number and timestamp) in front of a per-slot template
(the SSRC and the ``mid`` header extension, built once with aiortc's own serializer),
SRTP-protect it with the receiver's DTLS session and ``sendto`` it on the ICE pair aiortc
nominated. What differs between them is only how a slot numbers its packets when its
source changes (audio counts its own sequence numbers; video keeps the camera's gaps), so
that stays with each, and this module holds the rest: the slot's set-up from a transceiver,
the route check (connected, nominated pair, socket draining), the protect-and-send, and
the counters aiortc's RTCP task reads for its sender reports.

The slot's :class:`aiortc.RTCRtpSender` still runs, with a track that yields nothing, so
its RTCP task keeps sending sender reports (from the counters kept current here), SDES
and the final BYE.

Reaches into aiortc 1.16 / aioice 0.13 internals (the DTLS transport's state and SRTP
session, the sender's SR counters, the ICE connection's nominated pair), so it is pinned:
:func:`internals_supported` is False on any other version. Covered by
``tests/integration/test_audio_lean.py`` and ``tests/integration/test_identity_video.py``;
an upgrade must re-run both.
"""

from __future__ import annotations

import random
from importlib.metadata import version
from struct import Struct
from typing import Any

from aiortc import RTCRtpTransceiver
from aiortc.rtcdtlstransport import State
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from rooms.errors import HirobaError, Reason

#: Versions whose internals this module was written against and tested with.
SUPPORTED = {"aiortc": ("1.16.",), "aioice": ("0.13.",)}

#: V/P/X/CC, M/PT, sequence number, timestamp: the part of the header packed per packet.
HEAD = Struct("!BBHL")


def internals_supported() -> bool:
    """True when the installed aiortc and aioice are the versions this module is pinned to."""
    return all(version(name).startswith(ok) for name, ok in SUPPORTED.items())


def require_internals(what: str) -> None:
    """Refuse (``internal``) to build ``what`` on an aiortc this module was not tested with."""
    if not internals_supported():
        raise HirobaError(
            Reason.INTERNAL,
            f"{what} supports {SUPPORTED}, not aiortc {version('aiortc')}"
            f" / aioice {version('aioice')}",
        )


class RtpSlot:
    """One outgoing slot of a receiver's peer, from its transceiver once the answer is set
    (codec, ``mid`` and SSRC are known then).

    ``mime`` picks the codec whose payload type the slot sends (the first negotiated one
    when None). ``forwarded`` and ``dropped`` count packets. Subclasses keep their own
    numbering state; ``_source`` is the sender last forwarded here, held until another
    one's packet (an identity check is enough to see a switch: no id() a new uplink could
    reuse), and ``_last_ts`` / ``_last_at`` when its last packet went.
    """

    __slots__ = ("_b0", "_dtls", "_last_at", "_last_ts", "_pt", "_sender", "_source", "_tail",
                 "dropped", "forwarded")  # fmt: skip

    def __init__(self, transceiver: RTCRtpTransceiver, mime: str | None, what: str) -> None:
        require_internals(what)
        sender: Any = transceiver.sender
        codecs = list(transceiver._codecs)
        if mime is not None:
            codecs = [c for c in codecs if c.mimeType.lower() == mime.lower()]
        if not codecs or codecs[0].payloadType is None or sender.transport is None:
            raise HirobaError(Reason.INTERNAL,
                              f"this transceiver has no negotiated {mime or 'codec'} yet")
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
        self._source: object | None = None
        self._last_ts = 0
        self._last_at = 0.0
        self.forwarded = 0
        self.dropped = 0

    def route(self, max_buffered: int) -> Any:
        """The nominated ICE pair to send on now, or None: the receiver is not connected
        (yet, or any more), or its socket already holds ``max_buffered`` unsent bytes (the
        packet is then dropped and counted rather than queued)."""
        dtls = self._dtls
        if dtls._state is not State.CONNECTED:
            return None
        pair = dtls._transport._connection._nominated.get(1)
        if pair is None:
            return None
        if pair.protocol.transport.get_write_buffer_size() >= max_buffered:
            self.dropped += 1
            return None
        return pair

    def transmit(self, pair: Any, b1: int, seq: int, ts: int, payload: bytes, ntp: int) -> bool:
        """Protect and send one packet (second header byte ``b1``: marker and payload
        type) on ``pair``; keep the sender-report counters. False (counted as dropped) when
        the transport or SRTP session is closing: that affects this slot only."""
        dtls = self._dtls
        try:
            packet = dtls._tx_srtp.protect(HEAD.pack(self._b0, b1, seq, ts) + self._tail + payload)
            pair.protocol.transport.sendto(packet, pair.remote_addr)
        except Exception:
            self.dropped += 1
            return False
        self.forwarded += 1
        # What aiortc's RTCP task reads for the sender reports, and its transport stats.
        # (They begin with one underscore: Python does not mangle them again here.)
        sender = self._sender
        sender._RTCRtpSender__ntp_timestamp = ntp
        sender._RTCRtpSender__rtp_timestamp = ts
        sender._RTCRtpSender__packet_count += 1
        sender._RTCRtpSender__octet_count += len(payload)
        dtls._RTCDtlsTransport__tx_packets += 1
        dtls._RTCDtlsTransport__tx_bytes += len(packet)
        return True


def random_sequence() -> int:
    """A slot's first sequence number, as aiortc's sender picks one (the low half: no
    early wrap-around)."""
    return random.randrange(32768)


def random_timestamp() -> int:
    """A slot's first timestamp offset."""
    return random.getrandbits(32)
