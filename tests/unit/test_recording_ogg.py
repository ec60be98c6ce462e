"""Ogg Opus from forwarded packets: real libopus packets in, PyAV (ffmpeg) decodes them."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest

from bench.clients.recording_media import RATE, decode, opus_packets
from rooms.errors import Reason, ValidationError
from server.recording import ogg_opus
from server.recording.ogg_opus import (
    PRE_SKIP,
    SILENCE_PACKET,
    OggOpusWriter,
    ogg_crc,
    packet_samples,
    repair,
    scan_pages,
)


def write(path: Path, packets: list[bytes], *, gap_after: int = -1, gap: int = 0) -> int:
    with path.open("wb") as fh:
        w = OggOpusWriter(fh, 0x1234)
        for i, p in enumerate(packets):
            w.write_packet(p)
            if i == gap_after:
                w.flush()
                w.pad_to(w.position + gap)
        w.close()
        return w.position


def test_crc_is_oggs() -> None:
    # CRC-32 with polynomial 0x04C11DB7, not reflected, init 0, no final xor.
    assert ogg_crc(b"123456789") == 0x89A1897F


def test_toc_gives_the_duration() -> None:
    assert packet_samples(SILENCE_PACKET) == 960
    assert packet_samples(ogg_opus.LONG_SILENCE_PACKET) == 5760
    assert packet_samples(bytes([0x00])) == 480  # SILK 10 ms
    assert packet_samples(bytes([0x18 | 3, 2])) == 2 * 2880  # SILK 60 ms, two frames
    assert packet_samples(bytes([0x80 | 1])) == 2 * 120  # CELT 2.5 ms, two frames
    for bad in (b"", bytes([0x03]), bytes([0x1B, 0x00]), bytes([0x1B, 3])):  # 3 x 60 ms
        with pytest.raises(ValidationError) as err:
            packet_samples(bad)
        assert err.value.reason is Reason.BAD_PAYLOAD


def test_real_packets_decode_with_the_right_duration(tmp_path: Path) -> None:
    packets = opus_packets(2.0)
    path = tmp_path / "a.opus"
    position = write(path, packets)
    assert position == len(packets) * 960
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        assert stream.codec_context.name == "opus"
        assert stream.sample_rate == RATE and stream.channels == 1
    pcm = decode(path)
    assert len(pcm) == position  # pre-skip removed, nothing lost
    assert np.abs(pcm[RATE // 2 : RATE]).max() > 0.1


@pytest.mark.parametrize("frame_ms", [10, 40, 60])
def test_other_frame_durations_come_from_the_toc(tmp_path: Path, frame_ms: int) -> None:
    packets = opus_packets(1.2, frame_ms=frame_ms)
    path = tmp_path / "a.opus"
    position = write(path, packets)
    assert position == len(packets) * 48 * frame_ms
    assert len(decode(path)) == position


def test_a_gap_is_silence_and_keeps_the_timeline(tmp_path: Path) -> None:
    packets = opus_packets(2.0)
    path = tmp_path / "a.opus"
    position = write(path, packets, gap_after=49, gap=2 * RATE)  # 1 s, 2 s silence, 1 s
    assert position == 4 * RATE
    pcm = decode(path)
    assert len(pcm) == 4 * RATE
    assert np.abs(pcm[RATE + 2400 : 3 * RATE]).max() == 0.0  # silence packets: exact zeros
    # The tone comes back at 3.0 s: the first loud sample is within one frame of it.
    onset = int(np.argmax(np.abs(pcm[2 * RATE :]) > 0.05)) + 2 * RATE
    assert abs(onset - 3 * RATE) <= 960


def test_pages_are_valid_and_granules_count_samples(tmp_path: Path) -> None:
    path = tmp_path / "a.opus"
    with path.open("wb") as fh:
        w = OggOpusWriter(fh, 7)
        granules = []
        for p in opus_packets(3.0):
            w.write_packet(p)
            if w.position % RATE == 0:
                w.flush()
                granules.append(w.position + PRE_SKIP)
        w.close()
    data = path.read_bytes()
    end, last, granule = scan_pages(data)
    assert end == len(data) and granule == 3 * RATE + PRE_SKIP
    assert data[last + 5] & ogg_opus.FLAG_EOS
    assert data[5] & ogg_opus.FLAG_BOS
    found = []
    at = 0
    while at < len(data):
        nseg = data[at + 26]
        found.append(struct.unpack_from("<q", data, at + 6)[0])
        at += 27 + nseg + sum(data[at + 27 : at + 27 + nseg])
    assert found[:2] == [0, 0]  # the two header pages
    # Every flush is a page ending at that second (close() adds an empty EOS page).
    assert sorted(set(found[2:]) & set(granules)) == granules
    assert found == sorted(found)


def test_repair_cuts_a_torn_page_and_the_file_still_plays(tmp_path: Path) -> None:
    path = tmp_path / "a.opus"
    with path.open("wb") as fh:
        w = OggOpusWriter(fh, 9)
        for i, p in enumerate(opus_packets(3.0), start=1):
            w.write_packet(p)
            if i % 50 == 0:
                w.flush()  # a page a second, as the recorder does
        # Killed: no close(), and half a page at the end.
        w.flush()
    data = path.read_bytes()
    torn = data[: len(data) - 300]
    path.write_bytes(torn)
    result = repair(path)
    assert result.cut_bytes > 0
    assert result.samples == 2 * RATE  # the third second's page was torn
    pcm = decode(path)
    assert len(pcm) == result.samples
    data = path.read_bytes()
    assert scan_pages(data)[0] == len(data)  # every page checks, EOS included


def test_oversize_packet_is_refused(tmp_path: Path) -> None:
    with (tmp_path / "a.opus").open("wb") as fh:
        w = OggOpusWriter(fh, 1)
        with pytest.raises(ValidationError):
            w.write_packet(SILENCE_PACKET + bytes(70_000))


def test_repair_can_pad_to_the_recordings_end(tmp_path: Path) -> None:
    path = tmp_path / "a.opus"
    with path.open("wb") as fh:
        w = OggOpusWriter(fh, 5)
        for p in opus_packets(1.0):
            w.write_packet(p)
        w.flush()  # killed after this page: no EOS
    result = repair(path, pad_to=3 * RATE + 500)
    assert result.samples == 3 * RATE  # whole 20 ms packets
    pcm = decode(path)
    assert len(pcm) == 3 * RATE
    assert np.abs(pcm[RATE + 2400 :]).max() == 0.0
    data = path.read_bytes()
    end, last, _granule = scan_pages(data)
    assert end == len(data) and data[last + 5] & ogg_opus.FLAG_EOS


@pytest.mark.parametrize("keep", [0, 20, 60])
def test_a_file_that_lost_its_headers_is_rewritten_as_silence(tmp_path: Path, keep: int) -> None:
    path = tmp_path / "a.opus"
    with path.open("wb") as fh:
        OggOpusWriter(fh, 5)
    path.write_bytes(path.read_bytes()[:keep])  # the crash came before the first flush
    result = repair(path, pad_to=RATE)
    assert result.samples == RATE
    assert len(decode(path)) == RATE
