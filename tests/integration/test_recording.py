"""Recorder on disk: a clean recording, a SIGKILL mid-recording and recovery, the SQLite
index and its retention sweep."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from bench.clients.recording_media import RATE, TrackedFace, decode, opus_packets
from rooms.errors import HirobaError, Reason
from server.recording import event_log
from server.recording.event_log import EventKind
from server.recording.ids import new_recording_id
from server.recording.index import DAY, RecordingIndex
from server.recording.motion_log import KIND_POSE, MotionLog
from server.recording.recorder import (
    EVENTS,
    MOTION,
    Manifest,
    Recorder,
    RecordingState,
    read_manifest,
    recover,
    write_manifest,
)
from server.storage.store import SQLiteStore
from tests.conftest import ROOT


def audio_seconds(path: Path) -> float:
    return len(decode(path)) / RATE


@pytest.fixture
def packets() -> list[bytes]:
    # Encoded before the test's loop starts: encoding is not what the test measures.
    return opus_packets(1.0)


async def test_a_recording_fed_from_the_loop(
    tmp_path: Path, no_blocking: None, packets: list[bytes]
) -> None:
    faces = [TrackedFace(np.random.default_rng(i)) for i in range(2)]
    rec = Recorder(tmp_path / "r", new_recording_id(), "dx-committee", "委員会")
    rec.start()
    rec.feed_event(EventKind.JOIN, {"pid": "p1", "name": "山田"})
    for i in range(100):  # 2 s: p1 talks the first second, p2 from 1.4 s
        if i < 50:
            rec.feed_audio("p1", packets[i], 5_000 + i * 960)
        if i >= 70:
            if i == 70:
                p2_start = rec.now_ms() / 1000
            rec.feed_audio("p2", packets[i - 50], None)  # no RTP timestamp: arrival time
        if i % 2 == 0:
            for slot, face in enumerate(faces):
                rec.feed_pose(slot, face.pose(i * 20))
        await asyncio.sleep(0.02)
    manifest = await asyncio.get_running_loop().run_in_executor(None, rec.stop)
    assert manifest.state is RecordingState.STOPPED and not manifest.recovered
    assert 1_900 <= manifest.duration_ms <= 3_500
    assert list(manifest.speakers.values()) == ["p1", "p2"]
    assert read_manifest(rec.directory) == manifest
    # Every speaker's file is padded to the end of the recording, so they line up.
    for name in manifest.speakers:
        assert audio_seconds(rec.directory / name) == pytest.approx(
            manifest.duration_ms / 1000, abs=0.021
        )
    p2 = decode(rec.directory / "audio/02.opus")
    onset = int(np.argmax(np.abs(p2) > 0.05)) / RATE
    assert p2_start - 0.03 <= onset <= p2_start + 0.1  # placed by arrival time
    events = event_log.read_events(rec.directory / EVENTS).events
    assert [e.kind for e in events][:2] == [EventKind.RECORDING, EventKind.JOIN]
    assert events[-1].data == {"action": "stopped"}
    assert rec.stats().dropped == 0 and rec.stats().rejected == 0


def test_a_bad_packet_is_skipped_not_fatal(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "r", new_recording_id(), "plaza", flush_interval=0.05)
    rec.start()
    rec.feed_audio("p1", b"", 0)  # empty: no TOC byte
    rec.feed_pose(1, b"short")
    rec.feed_event(EventKind.CHAT, {"t": "reserved key"})
    rec.feed_positions([(1, 40_000, 0, 0)])  # x out of the i16 centimetre range
    rec.feed_audio("p1", opus_packets(0.1)[0], 960)
    manifest = rec.stop()
    assert rec.stats().rejected == 4
    assert manifest.state is RecordingState.STOPPED


def test_a_folder_that_cannot_be_made_fails_the_recording(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    rec = Recorder(tmp_path / "file" / "r", new_recording_id(), "plaza")
    rec.start()
    rec.feed_event(EventKind.CHAT, {"text": "x"})
    manifest = rec.stop()
    assert manifest.state is RecordingState.FAILED
    assert isinstance(rec.error, OSError)


def test_sigkill_mid_recording_then_recover(tmp_path: Path) -> None:
    """Killed at any moment, a recording is complete up to at most the last second."""
    directory = tmp_path / "rec"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.recording_child", str(directory)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        hello = json.loads(child.stdout.readline())
        time.sleep(3.6)
        killed_at = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    elapsed = killed_at - hello["t0"]
    assert read_manifest(directory).state is RecordingState.RECORDING  # left open

    manifest = recover(directory)
    assert manifest.state is RecordingState.STOPPED and manifest.recovered
    assert manifest.duration_ms >= (elapsed - 1.0) * 1000
    assert recover(directory) == manifest  # idempotent

    # Audio: both speakers' files open in PyAV; p1 talked throughout.
    assert list(manifest.speakers.values()) == ["p1", "p2"]
    p1 = directory / "audio/01.opus"
    with av.open(str(p1)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
    assert audio_seconds(p1) >= elapsed - 1.0
    pcm = decode(p1)
    last_voice = int(np.nonzero(np.abs(pcm) > 0.05)[0][-1])  # speech, not the padding
    assert last_voice >= (elapsed - 1.0) * RATE - 960
    # Recovery ends every speaker's file at the recording's end, as stop() does.
    for name in manifest.speakers:
        assert audio_seconds(directory / name) == pytest.approx(
            manifest.duration_ms / 1000, abs=0.021
        )
    p2 = decode(directory / "audio/02.opus")
    assert np.abs(p2[: RATE - 2000]).max() == 0.0  # silent in its first second
    assert np.abs(p2[RATE + 2000 : 2 * RATE - 2000]).max() > 0.05  # talking in the second

    # Motion: every avatar's poses (their own 50 ms timestamps) with no gap to the end.
    log = MotionLog.open(directory / MOTION)
    assert log.torn_bytes == 0
    for slot in range(3):
        stamps = sorted(
            {
                struct.unpack_from("<I", rec, 1)[0]
                for kind, _t, s, rec in log.records()
                if kind == KIND_POSE and s == slot and isinstance(rec, bytes)
            }
        )
        assert stamps == list(range(0, stamps[-1] + 1, 50))
        assert stamps[-1] >= (elapsed - 1.0) * 1000 - 50

    # Events: every chat numbered from 0 without a gap, then the recovery note.
    events = event_log.read_events(directory / EVENTS)
    assert events.torn_bytes == 0 and events.bad_lines == 0
    assert [e.seq for e in events.events] == list(range(len(events.events)))
    chats = [e.data["n"] for e in events.events if e.kind is EventKind.CHAT]
    assert chats == list(range(len(chats)))
    assert (chats[-1] + 1) * 100 >= (elapsed - 1.0) * 1000
    assert events.events[-1].data == {"action": "recovered"}


def _manifest(root: Path, started: float, state: RecordingState) -> Manifest:
    m = Manifest(new_recording_id(), "dx-committee", "t", started, state)
    (root / m.id).mkdir(parents=True)
    write_manifest(root / m.id, m)
    (root / m.id / "motion.bin").write_bytes(b"HRBM\x01\x00\x00\x00")
    return m


async def test_index_retention_and_recovery_at_start(tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    store = SQLiteStore(tmp_path / "hiroba.sqlite3")
    await store.open()
    try:
        index = RecordingIndex(store, root)
        now = time.time()
        old = _manifest(root, now - 100 * DAY, RecordingState.STOPPED)
        old_published = _manifest(root, now - 100 * DAY, RecordingState.STOPPED)
        new = _manifest(root, now - 10 * DAY, RecordingState.STOPPED)
        left_open = _manifest(root, now - 200 * DAY, RecordingState.RECORDING)
        for m in (old, old_published, new, left_open):
            await index.add(m, "jimu")
        for m in (old, old_published, new):
            await index.finish(m)
        await index.set_published(old_published.id, True, now)
        with pytest.raises(HirobaError) as err:
            await index.set_published(left_open.id, True, now)
        assert err.value.reason is Reason.WRONG_STATE

        assert await index.sweep(now, 0) == []  # 0: keep everything
        # An open recording is never swept, however old.
        assert await index.sweep(now, 90) == [old.id]
        assert not (root / old.id).exists()
        assert {r.id for r in await index.list_all()} == {old_published.id, new.id, left_open.id}
        assert [r.id for r in await index.list_all(published_only=True)] == [old_published.id]

        # A restart closes the recording a crash left open, and the index follows.
        recovered = await index.recover_open()
        assert [m.id for m in recovered] == [left_open.id]
        row = await index.get(left_open.id)
        assert row.state is RecordingState.STOPPED and row.recovered and row.bytes > 0
        assert await index.recover_open() == []
        # Now stopped and 200 days old: the next sweep takes it.
        assert await index.sweep(now, 90) == [left_open.id]

        for bad in ("../x", "a" * 22, "x"):
            with pytest.raises(HirobaError) as err:
                await index.get(bad)
            assert err.value.reason is Reason.NOT_FOUND
    finally:
        await store.close()
