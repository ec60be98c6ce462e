"""Property-based fuzzing of every binary decoder and recording reader.

Arbitrary bytes and mutations of valid messages (bit flips, truncation, extension) may
only ever raise the decoder's documented error, a ``HirobaError`` with a ``Reason``:
never ``IndexError``, ``struct.error``, ``zlib.error`` or a bare ``ValueError``, which
would become an unhandled exception in whatever adapter called the decoder. Valid
inputs round-trip. Example counts are bounded per test (see ``docs/security.md``,
"Fuzzing") so the whole file stays within a few seconds.
"""

from __future__ import annotations

import json
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from avatar import codec as pose_codec
from avatar.codec import POSE_SIZE
from avatar.pose import N_BLENDSHAPES, Pose, TrackingState
from rooms.errors import HirobaError, Reason
from server.motion import codec as motion_codec
from server.recording import event_log, motion_log, ogg_opus

T = TypeVar("T")
# Per-test example budget: enough to cover the decoders' branches (hypothesis shrinks and
# replays failures from its database), small enough to keep the unit suite fast.
CASES = 150
FUZZ = settings(max_examples=CASES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def only_reasoned(decode: Callable[[bytes], T], data: bytes) -> T | None:
    """Run ``decode``: a result, or ``None`` when it refused with a reason code."""
    try:
        return decode(data)
    except HirobaError as exc:
        assert isinstance(exc.reason, Reason) and exc.message, exc
        return None


def canonical(record: bytes) -> bytes:
    """``record`` with roll and yaw of -180 degrees written as +180: the same angle, and
    the form the encoder picks (a value that rounds to -180.00 keeps its sign)."""
    out = bytearray(record)
    for at in (5, 9):  # roll, yaw (pitch at 7 is clamped, not wrapped)
        if struct.unpack_from("<h", out, at)[0] == -18000:
            struct.pack_into("<h", out, at, 18000)
    return bytes(out)


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[bytes]) -> bytes:
    """A valid message damaged the way a bad network or a hostile client would."""
    data = bytearray(draw(valid))
    for _ in range(draw(st.integers(0, 4))):
        how = draw(st.sampled_from(["flip", "truncate", "extend", "byte"]))
        if how == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif how == "truncate" and data:
            del data[draw(st.integers(0, len(data) - 1)) :]
        elif how == "extend":
            data += draw(st.binary(min_size=1, max_size=80))
        elif how == "byte" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


angles = st.floats(-180.0, 180.0, allow_nan=False)
poses = st.builds(
    Pose,
    timestamp_ms=st.integers(0, 2**32 - 1),
    state=st.sampled_from(list(TrackingState)),
    roll=angles,
    pitch=st.floats(-90.0, 90.0, allow_nan=False),
    yaw=angles,
    position=st.tuples(*[st.floats(-0.5, 0.5, allow_nan=False)] * 3),
    weights=st.tuples(*[st.floats(0.0, 1.0, allow_nan=False)] * N_BLENDSHAPES),
)
records = poses.map(pose_codec.encode)
coords = st.floats(-300.0, 300.0, allow_nan=False)
uplinks = st.builds(
    motion_codec.encode_uplink, coords, coords, st.floats(-3.1, 3.1), st.none() | records
)


# A frame as written: its tick, then (slot, x, z, h, pose record or None) per entry, the
# posed ones first as on the wire.
FrameSpec = tuple[int, list[tuple[int, float, float, float, bytes | None]]]
places = st.tuples(st.integers(0, 999), coords, coords, st.floats(-3.14, 3.14))


@st.composite
def frame_specs(draw: st.DrawFn) -> FrameSpec:
    posed = draw(st.lists(st.tuples(places, records), max_size=4))
    plain = draw(st.lists(places, max_size=6))
    entries: list[tuple[int, float, float, float, bytes | None]] = [
        (*place, rec) for place, rec in posed
    ]
    return draw(st.integers(0, 2**32 - 1)), entries + [(*place, None) for place in plain]


def encode_frame(spec: FrameSpec) -> bytes:
    tick, entries = spec
    n_posed = sum(rec is not None for *_, rec in entries)
    out = motion_codec.frame_header(tick, n_posed, len(entries) - n_posed)
    for slot, x, z, h, rec in entries:
        out += struct.pack("<H3h", *motion_codec.plain_entry(slot, x, z, h))
        if rec is not None:
            out += motion_codec.compact_pose(rec)
    return out


def frames() -> st.SearchStrategy[bytes]:
    return frame_specs().map(encode_frame)


def assert_compact_is(compact: motion_codec.CompactPose, record: bytes) -> None:
    """``compact`` says what the 69-byte ``record`` says, to the compact form's steps."""
    roll, pitch, yaw, *position_mm = struct.unpack_from("<3h3h", record, 5)
    assert compact.state == record[0] & 0x0F
    assert (compact.roll, compact.pitch, compact.yaw) == (roll / 100, pitch / 100, yaw / 100)
    assert all(abs(got - mm) <= 2 for got, mm in zip(compact.position_mm, position_mm,
                                                      strict=True))
    assert all(abs(got - raw / 255) <= 1 / 30 + 1e-9
               for got, raw in zip(compact.weights, record[17:], strict=True))


# --- the pose record (avatar/codec.py) -------------------------------------------------


@FUZZ
@given(st.binary(max_size=200) | mutated(records))
@example(b"")
@example(b"\x10" + b"\xff" * (POSE_SIZE - 1))
@example(b"\x10" + b"\x00" * 15 + b"\x80" + b"\x00" * 52)  # z = -32768 mm: found by CI
def test_pose_decode_refuses_with_a_reason(data: bytes) -> None:
    pose = only_reasoned(pose_codec.decode, data)
    if pose is not None:
        assert pose_codec.encode(pose) == canonical(data)  # accepted means exact
    batch = only_reasoned(pose_codec.decode_batch, data)
    if batch is not None:
        expected = b"".join(canonical(data[i : i + POSE_SIZE])
                            for i in range(0, len(data), POSE_SIZE))
        assert pose_codec.encode_batch(batch) == expected


@FUZZ
@given(poses)
def test_pose_record_round_trips(pose: Pose) -> None:
    record = pose_codec.encode(pose)
    assert pose_codec.encode(pose_codec.decode(record)) == canonical(record)


# --- the motion plane (server/motion/codec.py) ------------------------------------------


@FUZZ
@given(st.binary(max_size=200) | mutated(uplinks))
@example(b"\x01\x01" + b"\x00" * 6)  # a pose announced, none sent
def test_uplink_decode_refuses_with_a_reason(data: bytes) -> None:
    up = only_reasoned(motion_codec.decode_uplink, data)
    if up is not None:
        # Not byte-exact: -32768 cm and headings outside ±pi are accepted, then clamped
        # or wrapped by the plane; the pose, when there is one, is a valid record.
        assert up.pose is None or pose_codec.decode(up.pose)


@FUZZ
@given(uplinks)
def test_uplink_round_trips(data: bytes) -> None:
    up = motion_codec.decode_uplink(data)
    assert motion_codec.encode_uplink(up.x, up.z, up.h, up.pose) == data


@FUZZ
@given(st.binary(max_size=400) | mutated(frames()))
@example(motion_codec.frame_header(1, 1, 0) + b"\x00" * 8)  # a posed entry, no pose
def test_frame_decode_refuses_with_a_reason(data: bytes) -> None:
    only_reasoned(motion_codec.decode_frame, data)


@FUZZ
@given(frame_specs())
def test_frame_round_trips(spec: FrameSpec) -> None:
    written_tick, written = spec
    tick, entries = motion_codec.decode_frame(encode_frame(spec))
    assert tick == written_tick and len(entries) == len(written)
    for entry, (slot, x, z, h, rec) in zip(entries, written, strict=True):
        # Positions go to the centimetre, headings to 1e-4 rad.
        assert entry.slot == slot
        assert abs(entry.x - x) <= 0.005 + 1e-9 and abs(entry.z - z) <= 0.005 + 1e-9
        assert abs(entry.h - h) <= 0.00005 + 1e-9
        if rec is None:
            assert entry.pose is None
        else:
            assert entry.pose is not None
            assert_compact_is(entry.pose, rec)


@FUZZ
@given(st.binary(max_size=60) | mutated(records.map(motion_codec.compact_pose)))
@example(b"")
@example(b"\x00" * 10 + b"\xff" * 7)  # every weight announced, none sent
def test_compact_decode_refuses_with_a_reason(data: bytes) -> None:
    def whole(d: bytes) -> motion_codec.CompactPose:
        return motion_codec.decode_compact(d)[0]

    only_reasoned(whole, data)


@FUZZ
@given(records)
def test_compact_pose_round_trips_within_its_steps(record: bytes) -> None:
    pose = pose_codec.decode(record)
    compact, end = motion_codec.decode_compact(motion_codec.compact_pose(record))
    assert end == len(motion_codec.compact_pose(record))
    assert compact.state == int(pose.state)
    assert all(abs(a - b) <= 1 / 30 + 1e-9 for a, b in zip(compact.weights, pose.weights,
                                                              strict=True))


# --- recording readers (server/recording/) ----------------------------------------------


# One record as the reader yields it: (kind, t_ms, slot, payload), slot 0 for positions.
MotionRecord = tuple[int, int, int, bytes | list[motion_log.Position]]
i16 = st.integers(-32768, 32767)


@st.composite
def motion_records(draw: st.DrawFn) -> list[MotionRecord]:
    out: list[MotionRecord] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from([1, 2, 3]))
        t = draw(st.integers(0, 2**32 - 1))
        slot = draw(st.integers(0, 999))
        if kind == motion_log.KIND_POSE:
            out.append((kind, t, slot, draw(records)))
        elif kind == motion_log.KIND_POSITIONS:
            positions = st.tuples(st.integers(0, 999), i16, i16, i16)
            out.append((kind, t, 0, draw(st.lists(positions, max_size=3))))
        else:
            out.append((kind, t, slot, b""))
    return out


def encode_body(written: list[MotionRecord]) -> bytes:
    body = b""
    for kind, t, slot, payload in written:
        if kind == motion_log.KIND_POSE:
            assert isinstance(payload, bytes)
            body += motion_log.pose_record(t, slot, payload)
        elif kind == motion_log.KIND_POSITIONS:
            assert isinstance(payload, list)
            body += motion_log.positions_record(t, payload)
        else:
            body += motion_log.gone_record(t, slot)
    return body


def motion_bodies() -> st.SearchStrategy[bytes]:
    return motion_records().map(encode_body)


@st.composite
def motion_logs(draw: st.DrawFn, bodies: st.SearchStrategy[bytes]) -> bytes:
    out = motion_log.FILE_HEADER.pack(motion_log.MAGIC, motion_log.VERSION, 0, 0)
    for i in range(draw(st.integers(1, 3))):
        out += motion_log.encode_chunk(
            i * 1000, draw(bodies), compress=draw(st.booleans()), keyframe=draw(st.booleans())
        )
    return out


# A log as written: its bytes, and (t0_ms, keyframe, records) of each of its chunks.
WrittenLog = tuple[bytes, list[tuple[int, bool, list[MotionRecord]]]]


@st.composite
def written_motion_logs(draw: st.DrawFn) -> WrittenLog:
    out = motion_log.FILE_HEADER.pack(motion_log.MAGIC, motion_log.VERSION, 0, 0)
    chunks = []
    for i in range(draw(st.integers(1, 3))):
        written, keyframe = draw(motion_records()), draw(st.booleans())
        out += motion_log.encode_chunk(
            i * 1000, encode_body(written), compress=draw(st.booleans()), keyframe=keyframe
        )
        chunks.append((i * 1000, keyframe, written))
    return out, chunks


def read_motion_log(data: bytes) -> int:
    log = motion_log.MotionLog(data)
    records = list(log.records())
    log.state_at(10**9)
    return len(records) + log.last_t_ms


@FUZZ
@given(st.binary(max_size=300) | mutated(motion_logs(motion_bodies())))
def test_motion_log_reader_refuses_with_a_reason(data: bytes) -> None:
    only_reasoned(read_motion_log, data)


# A chunk whose CRC is right but whose body is not (a bug in a writer, or a file edited by
# hand): its CRC cannot protect the reader.
@FUZZ
@given(motion_logs(st.binary(max_size=120) | mutated(motion_bodies())))
@example(motion_log.FILE_HEADER.pack(motion_log.MAGIC, 1, 0, 0)
         + motion_log.encode_chunk(0, b"\x01\x00", compress=False, keyframe=True))
@example(motion_log.FILE_HEADER.pack(motion_log.MAGIC, 1, 0, 0)
         + motion_log.encode_chunk(0, b"\x01" + b"\x00" * 6, compress=False, keyframe=True))
def test_motion_log_with_valid_crcs_and_bad_bodies(data: bytes) -> None:
    only_reasoned(read_motion_log, data)


@FUZZ
@given(written_motion_logs())
def test_motion_log_reads_what_was_written(written: WrittenLog) -> None:
    data, chunks = written
    log = motion_log.MotionLog(data)
    assert log.torn_bytes == 0
    assert [(c.t0_ms, c.keyframe) for c in log.chunks] == [(t0, kf) for t0, kf, _ in chunks]
    assert list(log.records()) == [record for *_, recs in chunks for record in recs]
    assert log.last_t_ms == max((t for _, t, _, _ in chunks[-1][2]), default=0)


def event_lines() -> st.SearchStrategy[bytes]:
    kinds = [k.value for k in event_log.EventKind]
    good = st.builds(
        lambda t, seq, kind, text: json.dumps(
            {"t": t, "seq": seq, "kind": kind, "text": text}, ensure_ascii=False
        ),
        st.integers(0, 10**9), st.integers(0, 10**6), st.sampled_from(kinds), st.text(max_size=20),
    ).map(lambda s: s.encode() + b"\n")
    return st.lists(good, max_size=5).map(b"".join)


@FUZZ
@given(st.binary(max_size=300) | mutated(event_lines()) | st.text(max_size=200).map(str.encode))
@example(b'{"t": 1e999, "seq": 0, "kind": "join"}\n')  # json reads 1e999 as inf
@example(b"[" * 100_000 + b"\n")  # nested deeper than json's recursion limit
def test_event_log_reader_skips_what_does_not_parse(data: bytes) -> None:
    log = event_log.parse_events(data)
    assert log.end <= len(data) and log.torn_bytes >= 0


def ogg_file() -> bytes:
    import io

    fh = io.BytesIO()
    writer = ogg_opus.OggOpusWriter(fh, 0x1234)
    for _ in range(3):
        writer.write_packet(ogg_opus.SILENCE_PACKET)
        writer.flush()
    writer.close()
    return fh.getvalue()


OGG = ogg_file()


@settings(max_examples=60, deadline=None)  # real file I/O with fsync: fewer cases
@given(mutated(st.just(OGG)) | st.binary(max_size=200))
def test_ogg_repair_survives_any_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "01.opus"
        path.write_bytes(data)
        result = ogg_opus.repair(path, pad_to=48_000)
        # Whatever it found, what it leaves is a readable stream.
        end, _last, _granule = ogg_opus.scan_pages(path.read_bytes())
        assert end == path.stat().st_size and result.samples >= 0


@FUZZ
@given(st.binary(max_size=40))
def test_opus_packet_samples_refuses_with_a_reason(data: bytes) -> None:
    only_reasoned(ogg_opus.packet_samples, data)
