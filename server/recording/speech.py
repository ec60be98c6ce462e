"""When a speaker's recorded audio holds speech, told from Opus packet sizes (no decoding).

A recording's Ogg Opus file runs from time zero to the end for every speaker; while they
are silent it holds silence packets (``F8 FF FE``, or six of them in 14 bytes), and a
browser's encoder also squeezes silence and room noise into a few bytes a frame. Speech
at the 16–24 kbit/s the browsers are asked for takes ~40–60 bytes per 20 ms. So the size
of each packet per 20 ms of audio separates speech from silence well enough for minutes
(who talked and for how long) without libopus. Pure apart from reading the file; blocking.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from rooms.errors import ValidationError
from server.recording.ogg_opus import PRE_SKIP, SAMPLE_RATE, SILENCE_SAMPLES, packet_samples

#: Bytes per 20 ms at or below which a packet is taken for silence (speech at 16 kbit/s
#: is ~40 bytes; Opus silence and DTX comfort noise are 1–10).
SILENT_BYTES_PER_20MS = 12
#: Pauses shorter than this inside speech do not split it (breaths, between words).
JOIN_GAP_S = 1.0
#: Bursts shorter than this are not speech (a cough, a click).
MIN_SPEECH_S = 0.3

_HEADER = struct.Struct("<4sBBqIIIB")


@dataclass(frozen=True, slots=True)
class Speech:
    """One stretch of speech: seconds from the recording's start."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def _packets(data: bytes) -> list[bytes]:
    """The packets of an Ogg stream's whole pages (no CRC check: a recording's files are
    closed or repaired before anyone reads them), headers included."""
    out: list[bytes] = []
    partial = b""
    at = 0
    while at + _HEADER.size <= len(data):
        capture, _v, _flags, _g, _s, _seq, _crc, nseg = _HEADER.unpack_from(data, at)
        if capture != b"OggS":
            break
        lacing = data[at + _HEADER.size : at + _HEADER.size + nseg]
        body = at + _HEADER.size + nseg
        if len(lacing) < nseg or body + sum(lacing) > len(data):
            break  # a torn page
        for value in lacing:
            partial += data[body : body + value]
            body += value
            if value < 255:
                out.append(partial)
                partial = b""
        at = body
    return out


def speech_of(path: Path) -> list[Speech]:
    """The stretches of speech in one speaker's Ogg Opus file."""
    packets = _packets(path.read_bytes())[2:]  # OpusHead, OpusTags
    position = -PRE_SKIP  # samples before 0 are the pre-skip
    voiced: list[tuple[int, int]] = []
    for packet in packets:
        try:
            samples = packet_samples(packet)
        except ValidationError:
            continue
        if len(packet) * SILENCE_SAMPLES > SILENT_BYTES_PER_20MS * samples and position >= 0:
            if voiced and position - voiced[-1][1] <= JOIN_GAP_S * SAMPLE_RATE:
                voiced[-1] = (voiced[-1][0], position + samples)
            else:
                voiced.append((position, position + samples))
        position += samples
    return [Speech(a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in voiced
            if b - a >= MIN_SPEECH_S * SAMPLE_RATE]


def overlap(speech: list[Speech], start: float, end: float) -> float:
    """Seconds of ``speech`` between ``start`` and ``end``."""
    return sum(max(0.0, min(s.end, end) - max(s.start, start)) for s in speech)
