"""Ogg Opus (RFC 7845) from already-encoded Opus packets: no decoding, no re-encoding.

Pure format code: :class:`OggOpusWriter` writes to a binary file object it is given and
does no threading or asyncio; the recorder calls it from its worker thread.

**One file per speaker, all starting at the recording's time zero.** The floor's voices
cannot be mixed into one stream without decoding, so each speaker gets an Ogg Opus file of
their own, and the gaps when they are silent are filled with Opus *silence packets* (120 ms
in 14 bytes, ~125 B/s with the Ogg framing). Why this shape and not the others:

- *Chained* Ogg streams (one after another in one file) hold one voice at a time, but the
  chair and the floor holder are heard together: their speech overlaps.
- *Multiplexed* logical streams in one file can overlap, but media players play the first
  stream only, the pages of all speakers must be interleaved in time order (so one slow
  speaker holds back every other speaker's pages), and a torn tail damages all voices.
- Separate files open in any player on their own, line up without offsets (every file's
  time zero is the recording's), mix with one ``ffmpeg -filter_complex amix`` when the
  archive wants a single track, and are repaired independently after a crash.
- Silence packets rather than granule-position jumps: RFC 7845 allows a jump only as the
  start offset of the first page, and ffmpeg/PyAV compute timestamps by counting packet
  durations, so a jump mid-stream would shift every later word. Silence packets decode
  to exact zeros in libopus and every player keeps time with them.

Page layout (RFC 3533): ``"OggS" | u8 version 0 | u8 flags (1 continued, 2 BOS, 4 EOS) |
i64 granule | u32 serial | u32 sequence | u32 CRC | u8 n_segments | lacing[n] | data``.
The CRC is Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, initial 0) over the page
with its CRC field zeroed. Packets never span pages here (a page is emitted by
:meth:`OggOpusWriter.flush`, at least once a second, or when 255 lacing values fill up),
so the file up to any page boundary is a valid stream; :func:`repair` cuts a torn tail
back to the last page whose CRC checks and ends the stream there (optionally after more
silence, so that all of a recording's files end together).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rooms.errors import Reason, ValidationError

SAMPLE_RATE = 48_000
#: Samples dropped at the start of decoding (80 ms, RFC 7845's advice for streams that do
#: not start at an encoder's first packet); the writer writes that much silence first, so
#: the decoded audio still starts at the recording's time zero.
PRE_SKIP = 3840
#: A 20 ms CELT packet (TOC 0xF8: config 31, mono, one frame) that decodes to silence.
SILENCE_PACKET = b"\xf8\xff\xfe"
SILENCE_SAMPLES = 960
#: The same frame six times in one code-3 packet (TOC 0xFB, count byte 6, constant frame
#: size): 120 ms of silence in 14 bytes, for long gaps (~125 B/s instead of ~200 B/s).
LONG_SILENCE_PACKET = b"\xfb\x06" + b"\xff\xfe" * 6
LONG_SILENCE_SAMPLES = 6 * SILENCE_SAMPLES
VENDOR = b"Hiroba recorder (Opus forwarded, not re-encoded)"

_PAGE_HEADER = struct.Struct("<4sBBqIIIB")
_CAPTURE = b"OggS"
FLAG_CONTINUED = 0x01
FLAG_BOS = 0x02
FLAG_EOS = 0x04
_MAX_SEGMENTS = 255
# Samples per frame (48 kHz) by TOC config (RFC 6716 section 3.1): SILK 10/20/40/60 ms,
# hybrid 10/20 ms, CELT 2.5/5/10/20 ms.
_FRAME_SAMPLES = [480, 960, 1920, 2880] * 3 + [480, 960] * 2 + [120, 240, 480, 960] * 4


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def ogg_crc(data: bytes | bytearray | memoryview) -> int:
    """Ogg's page checksum (CRC-32/MPEG-2 polynomial, not reflected, no final xor)."""
    crc = 0
    table = _CRC_TABLE
    for byte in bytes(data):
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    return crc


def packet_samples(packet: bytes) -> int:
    """Samples (at 48 kHz) one Opus packet decodes to, read from its TOC byte.

    Raises ``ValidationError(BAD_PAYLOAD)`` for an empty or malformed packet or one longer
    than Opus's 120 ms limit.
    """
    if not packet:
        raise ValidationError(Reason.BAD_PAYLOAD, "an Opus packet has at least a TOC byte")
    toc = packet[0]
    per_frame = _FRAME_SAMPLES[toc >> 3]
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        if len(packet) < 2:
            raise ValidationError(Reason.BAD_PAYLOAD, "an Opus code-3 packet needs a count")
        frames = packet[1] & 0x3F
        if frames == 0:
            raise ValidationError(Reason.BAD_PAYLOAD, "an Opus packet with no frames")
    samples = frames * per_frame
    if samples > 5760:
        raise ValidationError(Reason.BAD_PAYLOAD, "an Opus packet longer than 120 ms")
    return samples


def opus_head(pre_skip: int = PRE_SKIP, channels: int = 1) -> bytes:
    """The identification header: version 1, channel mapping family 0."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, SAMPLE_RATE, 0, 0)


def opus_tags(comments: dict[str, str] | None = None) -> bytes:
    """The comment header: vendor string and ``KEY=value`` comments (UTF-8)."""
    items = [f"{k}={v}".encode() for k, v in (comments or {}).items()]
    out = b"OpusTags" + struct.pack("<I", len(VENDOR)) + VENDOR + struct.pack("<I", len(items))
    for item in items:
        out += struct.pack("<I", len(item)) + item
    return out


def build_page(
    packets: list[bytes], granule: int, serial: int, sequence: int, flags: int = 0
) -> bytes:
    """One page holding whole ``packets`` (at most 255 lacing values in all)."""
    lacing = bytearray()
    for p in packets:
        lacing += b"\xff" * (len(p) // 255) + bytes([len(p) % 255])
    if len(lacing) > _MAX_SEGMENTS:
        raise ValueError("too many packets for one Ogg page")
    header = _PAGE_HEADER.pack(_CAPTURE, 0, flags, granule, serial, sequence, 0, len(lacing))
    page = bytearray(header + lacing + b"".join(packets))
    struct.pack_into("<I", page, 22, ogg_crc(page))
    return bytes(page)


def _segments(packet: bytes) -> int:
    return len(packet) // 255 + 1


@dataclass
class OggOpusWriter:
    """An Ogg Opus stream (mono, 48 kHz) written page by page to ``fh``.

    ``position`` is the stream's length in samples after pre-skip, i.e. where the next
    packet starts on the recording's timeline.
    """

    fh: BinaryIO
    serial: int
    comments: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self._sequence = 0
        self._pending: list[bytes] = []
        self._pending_segments = 0
        self._granule = 0  # granule positions count the pre-skip samples too
        self.position = 0
        self.closed = False
        self._write_page([opus_head()], 0, FLAG_BOS)
        self._write_page([opus_tags(self.comments)], 0, 0)
        # The pre-skip is silence, so that decoded sample 0 is the recording's time zero.
        for _ in range(PRE_SKIP // SILENCE_SAMPLES):
            self._append(SILENCE_PACKET, SILENCE_SAMPLES)
        self.position = 0

    def _write_page(self, packets: list[bytes], granule: int, flags: int) -> None:
        self.fh.write(build_page(packets, granule, self.serial, self._sequence, flags))
        self._sequence += 1

    def _append(self, packet: bytes, samples: int) -> None:
        if self._pending_segments + _segments(packet) > _MAX_SEGMENTS:
            self.flush()
        self._pending.append(packet)
        self._pending_segments += _segments(packet)
        self._granule += samples
        self.position += samples

    def write_packet(self, packet: bytes) -> int:
        """Append one Opus packet; returns its duration in samples (from its TOC)."""
        if self.closed:
            raise ValueError("the Ogg stream is closed")
        if len(packet) > 255 * 254:  # keep every packet on one page
            raise ValidationError(Reason.TOO_LONG, "an Opus packet of more than 64 KB")
        samples = packet_samples(packet)
        self._append(packet, samples)
        return samples

    def write_silence(self, samples: int) -> int:
        """Append silence for ``samples`` (rounded down to whole 20 ms packets); returns
        the samples actually written."""
        n = max(0, samples) // SILENCE_SAMPLES
        for _ in range(n // 6):
            self._append(LONG_SILENCE_PACKET, LONG_SILENCE_SAMPLES)
        for _ in range(n % 6):
            self._append(SILENCE_PACKET, SILENCE_SAMPLES)
        return n * SILENCE_SAMPLES

    def pad_to(self, position: int) -> int:
        """Fill with silence up to ``position`` samples (a gap or a speaker's silence)."""
        return self.write_silence(position - self.position)

    def flush(self, eos: bool = False) -> None:
        """Write the pending packets as one page (nothing if none and not ``eos``); the
        caller then flushes the file object so a killed process keeps the page."""
        if not self._pending and not eos:
            return
        self._write_page(self._pending, self._granule, FLAG_EOS if eos else 0)
        self._pending = []
        self._pending_segments = 0

    def close(self) -> None:
        """Write the last page with the end-of-stream flag. Does not close ``fh``."""
        if not self.closed:
            self.flush(eos=True)
            self.closed = True


@dataclass(frozen=True)
class RepairResult:
    """What :func:`repair` found: the length kept, bytes cut, and the stream's duration."""

    kept_bytes: int
    cut_bytes: int
    samples: int


def scan_pages(data: bytes) -> tuple[int, int, int]:
    """Walk whole, CRC-valid pages from the start of ``data``; returns (end offset of the
    last good page, its start offset, its granule position). Stops at the first bad one."""
    at = 0
    last_start = -1
    granule = 0
    while at + _PAGE_HEADER.size <= len(data):
        capture, version, _flags, gran, _serial, _seq, crc, nseg = _PAGE_HEADER.unpack_from(
            data, at
        )
        if capture != _CAPTURE or version != 0:
            break
        body_at = at + _PAGE_HEADER.size + nseg
        if body_at > len(data):
            break
        end = body_at + sum(data[at + _PAGE_HEADER.size : body_at])
        if end > len(data):
            break
        page = bytearray(data[at:end])
        struct.pack_into("<I", page, 22, 0)
        if ogg_crc(page) != crc:
            break
        last_start, granule, at = at, gran, end
    return at, last_start, granule


def stream_samples(path: Path) -> int:
    """Samples (after pre-skip) in the whole, valid pages of an Ogg Opus file."""
    _end, _last, granule = scan_pages(path.read_bytes())
    return max(0, granule - PRE_SKIP)


def repair(path: Path, pad_to: int | None = None) -> RepairResult:
    """Cut a file left by a killed writer back to its last complete page and end the
    stream there: with ``pad_to`` (samples), first continue it with silence up to that
    length, so that every speaker's file of a recording ends at the same time. A file that
    lost even its header pages is written anew (silence only). Blocking file I/O: run it
    off the event loop."""
    data = path.read_bytes()
    end, last_start, granule = scan_pages(data)
    headers_ok = end > 0 and (last_start > 0)  # OpusHead and OpusTags both survived
    if not headers_ok:
        with path.open("wb") as fh:
            writer = OggOpusWriter(fh, int.from_bytes(os.urandom(4), "little"))
            writer.pad_to(pad_to or 0)
            writer.close()
            fh.flush()
            os.fsync(fh.fileno())
        return RepairResult(path.stat().st_size, len(data), writer.position)
    samples = max(0, granule - PRE_SKIP)
    with path.open("r+b") as fh:
        fh.truncate(end)
        last_flags = data[last_start + 5]
        if pad_to is not None and pad_to - samples >= SILENCE_SAMPLES and not last_flags & FLAG_EOS:
            _capture, _v, _f, _g, serial, sequence, _crc, _n = _PAGE_HEADER.unpack_from(
                data, last_start
            )
            fh.seek(end)
            # Whatever pre-skip silence a header-only file missed comes first.
            missing = PRE_SKIP + pad_to - granule
            fh.write(_silence_pages(serial, sequence + 1, granule, missing))
            samples += missing // SILENCE_SAMPLES * SILENCE_SAMPLES
        elif not last_flags & FLAG_EOS:
            page = bytearray(data[last_start:end])
            page[5] |= FLAG_EOS
            struct.pack_into("<I", page, 22, 0)
            struct.pack_into("<I", page, 22, ogg_crc(page))
            fh.seek(last_start)
            fh.write(page)
        fh.flush()
        os.fsync(fh.fileno())
    return RepairResult(end, len(data) - end, samples)


def _silence_pages(serial: int, sequence: int, granule: int, samples: int) -> bytes:
    """Pages continuing a stream with ``samples`` of silence (whole 20 ms packets), the
    last one end-of-stream."""
    packets: list[tuple[bytes, int]] = []
    n = max(0, samples) // SILENCE_SAMPLES
    packets += [(LONG_SILENCE_PACKET, LONG_SILENCE_SAMPLES)] * (n // 6)
    packets += [(SILENCE_PACKET, SILENCE_SAMPLES)] * (n % 6)
    out = bytearray()
    for i in range(0, len(packets), _MAX_SEGMENTS):
        batch = packets[i : i + _MAX_SEGMENTS]
        granule += sum(d for _p, d in batch)
        last = i + _MAX_SEGMENTS >= len(packets)
        out += build_page(
            [p for p, _d in batch], granule, serial, sequence, FLAG_EOS if last else 0
        )
        sequence += 1
    return bytes(out)
