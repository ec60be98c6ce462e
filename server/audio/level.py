"""Speech levels of received Opus packets without decoding them (pure).

The audio plane needs a level per speaker packet only to tell speech from silence (the
active-speaker highlight, which plaza voices are routed) and to rank nearby voices. A
decode per packet costs ~19 ms of CPU per second per microphone (issue 14, finding 9); the
two sources below cost a few microseconds:

- :func:`header_dbov`: the RFC 6464 ``ssrc-audio-level`` RTP header extension, the level
  the sender measured before encoding. aiortc offers it in every audio answer and Chromium
  and Firefox send it once negotiated, so this is the usual source.
- :func:`opus_estimate_dbov`: when a sender does not send the extension, an estimate from
  the packet alone. With VBR (every browser's default) Opus spends bits on what it hears:
  digital silence and DTX comfort-noise frames are 1-8 bytes per 20 ms, speech tens of
  bytes. The size per 20 ms, against what the negotiated bitrate allows, becomes a level
  between :data:`ESTIMATE_FLOOR` and :data:`ESTIMATE_CEILING`: it tells silence from
  sound reliably and loud from quiet only roughly, which is what ranking needs.
"""

from __future__ import annotations

from avatar.voice import MIN_DBOV

#: Most bytes a 20 ms Opus frame holds when it carries silence (DTX, digital silence).
SILENT_BYTES = 8
#: The estimate's range, in dBov, for packets that are not silence.
ESTIMATE_FLOOR = -60.0
ESTIMATE_CEILING = -20.0

# Frame duration in tenths of a millisecond by TOC config (RFC 6716 section 3.1):
# SILK 0-11 (10/20/40/60 ms), hybrid 12-15 (10/20 ms), CELT 16-31 (2.5/5/10/20 ms).
_TENTHS = (
    [100, 200, 400, 600] * 3 + [100, 200] * 2 + [25, 50, 100, 200] * 4
)


def header_dbov(level: int) -> float:
    """The dBov of an RFC 6464 level field (0-127, the level's negation)."""
    return -float(min(127, max(0, level)))


def opus_duration_tenths(payload: bytes) -> int:
    """Tenths of a millisecond of audio an Opus packet holds (0 for a malformed one)."""
    if not payload:
        return 0
    toc = payload[0]
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    elif len(payload) < 2:
        return 0
    else:
        frames = payload[1] & 0x3F
    return frames * _TENTHS[toc >> 3]


def opus_estimate_dbov(payload: bytes, bitrate: int) -> float:
    """A level for one Opus packet from its size: :data:`MIN_DBOV` for silence, else
    between the floor and the ceiling as its bytes per 20 ms approach what ``bitrate``
    (bit/s) allows."""
    tenths = opus_duration_tenths(payload)
    if tenths <= 0:
        return float(MIN_DBOV)
    per_20ms = len(payload) * 200 / tenths
    if per_20ms <= SILENT_BYTES:
        return float(MIN_DBOV)
    nominal = max(1.0, bitrate / 8 * 0.02)
    share = min(1.0, (per_20ms - SILENT_BYTES) / nominal)
    return ESTIMATE_FLOOR + (ESTIMATE_CEILING - ESTIMATE_FLOOR) * share
