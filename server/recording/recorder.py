"""One recording on disk: audio per speaker, the motion log, the event log, a manifest.

A :class:`Recorder` is fed from the event loop (``feed_*`` only stamp the time and put an
item on a bounded queue: they never touch the disk and never block) and writes everything
from **one worker thread**, which also flushes every file at least once a second. So a
killed process loses at most the last second, and :func:`recover` closes a recording a
crash left open. Folder layout (``docs/recording.md``)::

    <recordings_dir>/<id>/recording.json   manifest (replaced atomically)
                          audio/NN.opus    one Ogg Opus file per speaker (ogg_opus.py)
                          motion.bin       pose records and positions (motion_log.py)
                          events.jsonl     joins, floor, captions, chat... (event_log.py)
"""

from __future__ import annotations

import json
import logging
import os
import queue
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from rooms.errors import HirobaError, Reason
from server.recording import event_log, motion_log, ogg_opus
from server.recording.event_log import EventKind, EventLogWriter
from server.recording.motion_log import MotionLogWriter, Position
from server.recording.ogg_opus import SAMPLE_RATE, OggOpusWriter

log = logging.getLogger(__name__)

MANIFEST = "recording.json"
MOTION = "motion.bin"
EVENTS = "events.jsonl"
AUDIO = "audio"
_SAMPLES_PER_MS = SAMPLE_RATE // 1000
#: Without RTP timestamps, arrival jitter below this is not taken for a pause.
_WALL_CLOCK_TOLERANCE = 3 * ogg_opus.SILENCE_SAMPLES
#: An RTP timestamp further than this from the arrival time starts a new anchor (a new
#: uplink, or a sender whose clock ran away).
_RTP_MAX_SKEW = SAMPLE_RATE


class RecordingState(StrEnum):
    RECORDING = "recording"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class Manifest:
    """``recording.json``: what the folder holds. Times are Unix seconds."""

    id: str
    room: str
    title: str
    started: float
    state: RecordingState = RecordingState.RECORDING
    stopped: float | None = None
    duration_ms: int = 0
    #: audio file (relative path) -> speaker id, in the order they first spoke.
    speakers: dict[str, str] = field(default_factory=dict)
    recovered: bool = False
    version: int = 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        raw["state"] = RecordingState(raw["state"])
        return cls(**raw)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically (write, fsync, rename): a crash leaves the old one
    or the new one, never half of each."""
    tmp = directory / (MANIFEST + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(manifest.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, directory / MANIFEST)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_manifest(directory: Path) -> Manifest:
    try:
        return Manifest.from_json((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise HirobaError(Reason.NOT_FOUND, f"no readable recording in {directory.name}") from exc


def folder_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


@dataclass
class _Track:
    """One speaker's audio file and where their last packet went."""

    name: str
    fh: BinaryIO
    writer: OggOpusWriter
    last_rtp: int | None = None
    last_start: int = 0


@dataclass(frozen=True)
class RecorderStats:
    """Counters for tests, benchmarks and the console."""

    queued: int
    dropped: int
    rejected: int
    audio_packets: int
    motion_records: int
    events: int


# Items on the worker's queue: (kind, t_ms, *arguments).
_Item = tuple[Any, ...]
_STOP = "stop"


class Recorder:
    """Records one meeting into ``directory`` (created by :meth:`start`).

    Thread-safe feeding; all file work on one worker thread. ``clock`` is a monotonic
    clock in seconds and ``wall`` a Unix-time clock (both injectable for benchmarks).
    """

    def __init__(
        self,
        directory: Path,
        recording_id: str,
        room: str,
        title: str = "",
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        flush_interval: float = 1.0,
        fsync_interval: float = 5.0,
        positions_hz: float = 2.0,
        compress_motion: bool = True,
        max_queue: int = 50_000,
    ) -> None:
        self.directory = directory
        self.clock = clock
        self.flush_interval = flush_interval
        self.fsync_interval = fsync_interval
        self.positions_interval_ms = 1000.0 / positions_hz
        self.compress_motion = compress_motion
        self._wall = wall
        self.manifest = Manifest(recording_id, room, title, started=0.0)
        self._queue: queue.Queue[_Item] = queue.Queue(max_queue)
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._last_positions_ms = -1e9
        self.error: BaseException | None = None
        self._queued = self._dropped = self._rejected = 0
        self._audio_packets = self._motion_records = self._events = 0
        # Worker-thread state.
        self._tracks: dict[str, _Track] = {}
        self._motion: MotionLogWriter | None = None
        self._motion_fh: BinaryIO | None = None
        self._events_fh: TextIO | None = None
        self._event_writer: EventLogWriter | None = None

    # -- feeding (any thread; never blocks) ------------------------------------------------

    def now_ms(self) -> int:
        """Milliseconds since the recording started (monotonic)."""
        return int((self.clock() - self._t0) * 1000)

    def _put(self, item: _Item) -> None:
        if self._thread is None or self.manifest.state is not RecordingState.RECORDING:
            return
        try:
            self._queue.put_nowait(item)
            self._queued += 1
        except queue.Full:
            # The disk is not keeping up; losing data beats stalling the meeting.
            self._dropped += 1

    def feed_audio(self, speaker_id: str, payload: bytes, rtp_timestamp: int | None = None) -> None:
        """An encoded Opus packet of ``speaker_id`` (and its RTP timestamp, when known:
        it places packets exactly across the speaker's own pauses)."""
        self._put(("audio", self.now_ms(), speaker_id, bytes(payload), rtp_timestamp))

    def feed_pose(self, slot: int, record: bytes) -> None:
        """A stage avatar's 69-byte pose record."""
        self._put(("pose", self.now_ms(), slot, bytes(record)))

    def feed_positions(self, entries: list[Position]) -> None:
        """Plaza positions ``(slot, x_cm, z_cm, heading)``; thinned to ``positions_hz``."""
        t = self.now_ms()
        if t - self._last_positions_ms < self.positions_interval_ms:
            return
        self._last_positions_ms = t
        self._put(("positions", t, list(entries)))

    def feed_gone(self, slot: int) -> None:
        """A stage avatar left the stage or the room."""
        self._put(("gone", self.now_ms(), slot))

    def feed_event(self, kind: EventKind, data: Mapping[str, Any]) -> None:
        """A meeting event (join, floor, caption, chat...); ``data`` must be JSON."""
        self._put(("event", self.now_ms(), EventKind(kind), dict(data)))

    def stats(self) -> RecorderStats:
        return RecorderStats(
            self._queued,
            self._dropped,
            self._rejected,
            self._audio_packets,
            self._motion_records,
            self._events,
        )

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker; the folder and files are created on it."""
        if self._thread is not None:
            raise HirobaError(Reason.WRONG_STATE, "this recorder has already started")
        self._t0 = self.clock()
        self.manifest = replace(self.manifest, started=self._wall())
        self._thread = threading.Thread(
            target=self._run, name=f"recorder-{self.manifest.id[:6]}", daemon=True
        )
        self._thread.start()
        log.info("recording %s started in room %s", self.manifest.id, self.manifest.room)

    def stop(self) -> Manifest:
        """Stop: pad every speaker's audio to the end, close the files and mark the
        manifest stopped (indexing it is the caller's: :meth:`RecordingIndex.finish`).
        Blocks until the worker is done: call it through ``run_in_executor`` from the loop."""
        if self._thread is None:
            raise HirobaError(Reason.WRONG_STATE, "this recorder has not started")
        stop = (_STOP, self.now_ms())
        while self._thread.is_alive():
            try:  # the stop must get in even when the queue is full; a dead worker won't
                self._queue.put(stop, timeout=0.2)
                break
            except queue.Full:
                continue
        self._thread.join()
        return self.manifest

    # -- worker thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._open()
            next_flush = self.clock() + self.flush_interval
            next_sync = self.clock() + self.fsync_interval
            while True:
                try:
                    item = self._queue.get(timeout=max(0.0, next_flush - self.clock()))
                except queue.Empty:
                    item = None
                if item is not None and item[0] == _STOP:
                    self._close(int(item[1]))
                    return
                if item is not None:
                    self._handle(item)
                now = self.clock()
                if now >= next_flush:
                    self._flush(self.now_ms(), sync=now >= next_sync)
                    next_flush = now + self.flush_interval
                    if now >= next_sync:
                        next_sync = now + self.fsync_interval
        except Exception as exc:  # a full disk, or a bug: never die silently
            self.error = exc
            self.manifest = replace(self.manifest, state=RecordingState.FAILED)
            log.error("recording %s failed: %r", self.manifest.id, exc)

    def _open(self) -> None:
        (self.directory / AUDIO).mkdir(parents=True, exist_ok=True)
        write_manifest(self.directory, self.manifest)
        self._motion_fh = (self.directory / MOTION).open("ab")
        self._motion = MotionLogWriter(self._motion_fh, compress=self.compress_motion)
        self._events_fh = (self.directory / EVENTS).open("a", encoding="utf-8")
        self._event_writer = EventLogWriter(self._events_fh)
        self._event_writer.write(0, EventKind.RECORDING, {"action": "started"})

    def _handle(self, item: _Item) -> None:
        kind, t_ms = item[0], int(item[1])
        assert self._motion is not None and self._event_writer is not None
        try:
            if kind == "audio":
                self._audio(t_ms, item[2], item[3], item[4])
                self._audio_packets += 1
            elif kind == "pose":
                self._motion.pose(t_ms, item[2], item[3])
                self._motion_records += 1
            elif kind == "positions":
                self._motion.positions(t_ms, item[2])
                self._motion_records += 1
            elif kind == "gone":
                self._motion.gone(t_ms, item[2])
            elif kind == "event":
                self._event_writer.write(t_ms, item[2], item[3])
                self._events += 1
        except (HirobaError, struct.error, ValueError, TypeError) as exc:
            # A malformed packet, record or event (or a value out of its field's range):
            # skip that item, keep recording.
            self._rejected += 1
            log.debug("recording %s skipped a %s: %s", self.manifest.id, kind, exc)

    def _track(self, speaker_id: str, t_ms: int) -> _Track:
        track = self._tracks.get(speaker_id)
        if track is None:
            name = f"{AUDIO}/{len(self._tracks) + 1:02d}.opus"
            fh = (self.directory / name).open("wb")
            serial = int.from_bytes(os.urandom(4), "little")
            writer = OggOpusWriter(fh, serial, {"TITLE": self.manifest.title})
            track = _Track(name, fh, writer)
            self._tracks[speaker_id] = track
            speakers = {**self.manifest.speakers, name: speaker_id}
            self.manifest = replace(self.manifest, speakers=speakers)
            write_manifest(self.directory, self.manifest)
            assert self._event_writer is not None
            self._event_writer.write(t_ms, EventKind.SPEAKER, {"speaker": speaker_id, "file": name})
        return track

    def _audio(self, t_ms: int, speaker_id: str, payload: bytes, rtp: int | None) -> None:
        track = self._track(speaker_id, t_ms)
        writer = track.writer
        wall_pos = t_ms * _SAMPLES_PER_MS
        pos = wall_pos
        tolerance = _WALL_CLOCK_TOLERANCE
        if rtp is not None and track.last_rtp is not None:
            delta = (rtp - track.last_rtp) % (1 << 32)
            expected = track.last_start + delta
            if delta > 0 and abs(expected - wall_pos) < _RTP_MAX_SKEW:
                pos, tolerance = expected, ogg_opus.SILENCE_SAMPLES - 1
        if pos - writer.position > tolerance:
            writer.pad_to(pos)
        track.last_start = writer.position
        track.last_rtp = rtp
        writer.write_packet(payload)

    def _flush(self, now_ms: int, *, sync: bool) -> None:
        assert self._motion is not None and self._motion_fh is not None
        assert self._events_fh is not None
        files: list[BinaryIO | TextIO] = []
        for track in self._tracks.values():
            track.writer.flush()
            files.append(track.fh)
        self._motion.flush(now_ms)
        files += [self._motion_fh, self._events_fh]
        for fh in files:
            fh.flush()  # into the kernel: survives a killed process
            if sync:
                os.fsync(fh.fileno())  # onto the disk: survives a power cut

    def _close(self, t_ms: int) -> None:
        assert self._event_writer is not None
        self._event_writer.write(t_ms, EventKind.RECORDING, {"action": "stopped"})
        for track in self._tracks.values():
            track.writer.pad_to(t_ms * _SAMPLES_PER_MS)
            track.writer.close()
        self._flush(t_ms, sync=True)
        for track in self._tracks.values():
            track.fh.close()
        assert self._motion_fh is not None and self._events_fh is not None
        self._motion_fh.close()
        self._events_fh.close()
        self.manifest = replace(
            self.manifest,
            state=RecordingState.STOPPED,
            stopped=self.manifest.started + t_ms / 1000,
            duration_ms=t_ms,
        )
        write_manifest(self.directory, self.manifest)
        log.info("recording %s stopped after %d s", self.manifest.id, t_ms // 1000)


def recover(directory: Path) -> Manifest:
    """Close a recording a crash left open: cut every file back to its last complete page,
    chunk or line, note the recovery in the event log and mark the manifest stopped at the
    end of the data that survived (at most a second before the crash, since the recorder
    flushes every second). A recording already closed is returned as it is. Blocking."""
    manifest = read_manifest(directory)
    if manifest.state is not RecordingState.RECORDING:
        return manifest
    # Every audio file, also one opened just before a crash kept it out of the manifest.
    audio = sorted((directory / AUDIO).glob("*.opus"))
    end_ms = max((ogg_opus.stream_samples(p) // _SAMPLES_PER_MS for p in audio), default=0)
    motion_path = directory / MOTION
    if motion_path.exists():
        motion_log.repair(motion_path)
        end_ms = max(end_ms, motion_log.MotionLog.open(motion_path).last_t_ms)
    events_path = directory / EVENTS
    seq = 0
    if events_path.exists():
        events = event_log.repair(events_path)
        if events.events:
            end_ms = max(end_ms, events.events[-1].t_ms)
            seq = events.events[-1].seq + 1
    for path in audio:  # ended together, as a stopped recording's are
        ogg_opus.repair(path, pad_to=end_ms * _SAMPLES_PER_MS)
    with events_path.open("a", encoding="utf-8") as fh:
        EventLogWriter(fh, seq, end_ms).write(end_ms, EventKind.RECORDING, {"action": "recovered"})
        fh.flush()
        os.fsync(fh.fileno())
    manifest = replace(
        manifest,
        state=RecordingState.STOPPED,
        stopped=manifest.started + end_ms / 1000,
        duration_ms=end_ms,
        recovered=True,
    )
    write_manifest(directory, manifest)
    log.info("recording %s recovered: %d s kept", manifest.id, end_ms // 1000)
    return manifest
