"""Motion log and event log of a recording: round trip, seeking, torn tails; recording ids."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from bench.clients.recording_media import TrackedFace
from rooms.errors import HirobaError, Reason, ValidationError
from server.recording import event_log, motion_log
from server.recording.event_log import EventKind, EventLogWriter, parse_events
from server.recording.ids import new_recording_id, recording_dir
from server.recording.motion_log import (
    KIND_POSE,
    KIND_POSITIONS,
    MotionLog,
    MotionLogWriter,
    MotionState,
)

HZ = 20


def record_motion(
    seconds: int, members: int = 3, *, compress: bool = True, seed: int = 1
) -> tuple[bytes, list[tuple[int, int, bytes]]]:
    """A motion log of ``members`` tracked stage avatars at 20 Hz plus 2 Hz positions,
    flushed once a second; returns the bytes and every pose fed (t, slot, record)."""
    rng = np.random.default_rng(seed)
    faces = [TrackedFace(rng) for _ in range(members)]
    fh = io.BytesIO()
    w = MotionLogWriter(fh, compress=compress, keyframe_ms=5_000)
    fed = []
    for tick in range(seconds * HZ):
        t = tick * 1000 // HZ
        for slot, face in enumerate(faces):
            face.speaking = (t // 10_000) % members == slot
            record = face.pose(t)
            w.pose(t, slot, record)
            fed.append((t, slot, record))
        if tick % (HZ // 2) == 0:
            w.positions(t, [(100 + i, i * 10, -i * 5, i) for i in range(20)])
        if (tick + 1) % HZ == 0:
            w.flush((tick + 1) * 1000 // HZ)
    return fh.getvalue(), fed


def test_motion_round_trip() -> None:
    data, fed = record_motion(12)
    log = MotionLog(data)
    assert log.torn_bytes == 0
    poses = [(t, slot, rec) for kind, t, slot, rec in log.records() if kind == KIND_POSE]
    # Keyframes restate earlier poses; the fed ones all come back, in order.
    assert sorted(set(poses), key=lambda p: (p[0], p[1])) == fed
    assert sum(1 for k, *_ in log.records() if k == KIND_POSITIONS) >= 24


def brute_state(fed: list[tuple[int, int, bytes]], t: int) -> dict[int, bytes]:
    state: dict[int, bytes] = {}
    for ft, slot, rec in fed:
        if ft <= t:
            state[slot] = rec
    return state


@pytest.mark.parametrize("t", [0, 49, 50, 999, 1000, 4_999, 5_000, 5_001, 7_777, 11_950, 60_000])
def test_state_at_matches_a_replay_from_the_start(t: int) -> None:
    data, fed = record_motion(12)
    state = MotionLog(data).state_at(t)
    assert state.poses == brute_state(fed, t)
    if t >= 0:
        assert len(state.positions) == 20


def test_a_torn_tail_is_skipped_and_repaired(tmp_path: Path) -> None:
    data, _fed = record_motion(5)
    whole = MotionLog(data)
    last_chunk = whole.chunks[-1].offset
    path = tmp_path / "motion.bin"
    path.write_bytes(data[: last_chunk + 40])  # killed in the middle of the last chunk
    torn = MotionLog.open(path)
    assert len(torn.chunks) == len(whole.chunks) - 1 and torn.torn_bytes == 40
    assert torn.last_t_ms == 3_950  # everything up to the fourth second
    assert motion_log.repair(path) == 40
    assert path.stat().st_size == last_chunk
    # A flipped bit in a chunk stops the reader there too.
    bad = bytearray(data)
    bad[whole.chunks[2].offset + 20] ^= 0x40
    assert len(MotionLog(bytes(bad)).chunks) == 2


def test_bad_pose_record_is_refused() -> None:
    w = MotionLogWriter(io.BytesIO())
    with pytest.raises(ValidationError):
        w.pose(0, 1, b"\x10" * 68)


def test_motion_size_per_stage_avatar() -> None:
    """Target: <= 3 KB/s per stage avatar at 20 Hz (issue 6). Figures in docs/recording.md."""
    seconds, members = 60, 12
    packed, _ = record_motion(seconds, members, compress=True)
    raw, _ = record_motion(seconds, members, compress=False)
    per_avatar = len(packed) / seconds / members
    assert per_avatar <= 3_000
    assert len(packed) < len(raw)
    print(f"motion: {len(raw) / seconds / members:.0f} B/s raw, {per_avatar:.0f} B/s zlib")


def test_state_apply_gone() -> None:
    s = MotionState()
    s.apply(KIND_POSE, 5, 3, b"x" * 69)
    s.apply(motion_log.KIND_GONE, 6, 3, b"")
    assert s.poses == {} and s.t_ms == 6


def test_event_log_round_trip_and_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        w = EventLogWriter(fh)
        w.write(10, EventKind.JOIN, {"pid": "p1", "name": "山田", "role": "chair"})
        w.write(5, EventKind.CHAT, {"text": "こんにちは\n改行"})  # earlier time: raised to 10
        w.write(2_000, EventKind.FLOOR, {"holder": "p1"})
    with path.open("ab") as fh:
        fh.write(b'{"t":2100,"seq":3,"kind":"cap')  # killed mid-line
    log = event_log.read_events(path)
    assert [e.kind for e in log.events] == [EventKind.JOIN, EventKind.CHAT, EventKind.FLOOR]
    assert [e.t_ms for e in log.events] == [10, 10, 2_000]
    assert [e.seq for e in log.events] == [0, 1, 2]
    assert log.events[1].data == {"text": "こんにちは\n改行"}
    assert log.torn_bytes > 0 and log.bad_lines == 0
    event_log.repair(path)
    assert path.read_bytes().endswith(b"\n")
    assert parse_events(path.read_bytes()).torn_bytes == 0


def test_event_log_refuses_bad_data() -> None:
    w = EventLogWriter(io.StringIO())
    for data in ({"t": 1}, {"x": object()}, {"x": float("nan")}, {"x": "a" * 70_000}):
        with pytest.raises(ValidationError):
            w.write(0, EventKind.CHAT, data)
    assert w.seq == 0


def test_event_log_skips_a_corrupt_middle_line() -> None:
    good = json.dumps({"t": 1, "seq": 0, "kind": "chat"}) + "\n"
    log = parse_events((good + "garbage\n" + good).encode())
    assert len(log.events) == 2 and log.bad_lines == 1


def test_recording_ids_are_random_and_url_safe() -> None:
    ids = {new_recording_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 22 and i.replace("-", "").replace("_", "").isalnum() for i in ids)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "..",
        "../../etc/passwd",
        "a" * 21 + "/",
        "a" * 21 + ".",
        "a" * 23,
        "/" + "a" * 21,
        "a" * 21 + "\x00",
        "%2e%2e%2f" + "a" * 13,
        None,
        42,
    ],
)
def test_opening_by_id_refuses_anything_else(tmp_path: Path, bad: object) -> None:
    with pytest.raises(HirobaError) as err:
        recording_dir(tmp_path, bad)
    assert err.value.reason is Reason.NOT_FOUND


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    root.mkdir()
    outside = tmp_path / "secret"
    outside.mkdir()
    rid = new_recording_id()
    os.symlink(outside, root / rid)
    with pytest.raises(HirobaError):
        recording_dir(root, rid)
    good = new_recording_id()
    assert recording_dir(root, good) == root / good


def test_recording_settings() -> None:
    from server.config.settings import load_settings

    s = load_settings({"HIROBA_RECORDING_RETENTION_DAYS": "30", "HIROBA_DATA_DIR": "/srv/h"})
    assert s.recording_retention_days == 30.0
    assert s.recordings_path == Path("/srv/h/recordings")
    assert load_settings({"HIROBA_RECORDINGS_DIR": "/r"}).recordings_path == Path("/r")
    for bad in ("-1", "40000", "soon"):
        with pytest.raises(HirobaError) as err:
            load_settings({"HIROBA_RECORDING_RETENTION_DAYS": bad})
        assert err.value.reason is Reason.BAD_FIELD
