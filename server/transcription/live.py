"""Live automatic captions (issue 17, in the meeting): the phrase logic and the worker
process that turns speakers' Opus packets into caption text.

The server hands every forwarded Opus packet of a room's speakers, still encoded, to ONE
worker process (``server/captions`` starts it). In there:

- a receiving thread decodes each speaker's packets (PyAV's libopus) to 16 kHz mono and
  cuts them into phrases with :class:`PhraseCutter` (a phrase ends at ``silence`` seconds
  of quiet, or of no packets at all, or when it reaches ``longest`` seconds);
- finished phrases wait in :class:`PhraseQueue`, at most ``waiting`` of them: when the
  recogniser is behind, the oldest waiting phrase is dropped (and counted), so the newest
  speech is captioned first and nothing is ever delayed without limit;
- the main thread recognises one phrase at a time with the room's hints and sends the
  text back as a :class:`Caption`.

No asyncio here: this module is imported by the server only for its plain data types and
the process entry point :func:`run_worker`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from server.transcription.engine import SAMPLE_RATE, hint_terms

log = logging.getLogger(__name__)

Audio = npt.NDArray[np.float32]

#: A phrase ends after this much quiet (seconds).
SILENCE_SECONDS = 0.6
#: ... or when it is this long (seconds): a long speech is captioned in pieces.
LONGEST_SECONDS = 8.0
#: Shorter voiced stretches (a cough, a click) are not phrases.
SHORTEST_VOICED = 0.3
#: Audio kept before the first loud frame, so that a soft first syllable is not cut.
PREROLL_SECONDS = 0.3
#: A 20 ms frame quieter than this (RMS, dB below full scale) counts as silence.
QUIET_DBFS = -40.0
#: A waiting phrase older than this (seconds since it ended) is dropped, not captioned.
STALE_SECONDS = 15.0


def level_dbfs(samples: Audio) -> float:
    """RMS level of ``samples`` (float, full scale 1.0) in dB below full scale."""
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * float(np.log10(max(rms, 1e-6)))


@dataclass(frozen=True, slots=True)
class Phrase:
    """One speaker's stretch of speech: 16 kHz mono audio and the wall-clock times (as the
    server received its first and last voiced packets)."""

    room: str
    speaker: str
    audio: Audio
    started_at: float
    ended_at: float

    @property
    def seconds(self) -> float:
        return self.audio.size / SAMPLE_RATE


@dataclass
class PhraseCutter:
    """Cuts one speaker's audio into phrases. Pure: fed frames with their times, it
    returns each phrase as it ends."""

    room: str
    speaker: str
    silence: float = SILENCE_SECONDS
    longest: float = LONGEST_SECONDS
    quiet_dbfs: float = QUIET_DBFS
    _pre: deque[Audio] = field(default_factory=deque)
    _parts: list[Audio] = field(default_factory=list)
    _samples: int = 0
    _voiced: float = 0.0
    _quiet_run: float = 0.0
    _started_at: float = 0.0
    _last_voiced_at: float = 0.0
    _last_at: float = 0.0

    @property
    def speaking(self) -> bool:
        return bool(self._parts)

    def feed(self, frame: Audio, at: float) -> Phrase | None:
        """Add a frame (16 kHz mono) received at ``at``; the phrase it ends, if any."""
        seconds = frame.size / SAMPLE_RATE
        loud = level_dbfs(frame) > self.quiet_dbfs
        self._last_at = at
        if not self._parts:
            if not loud:
                self._pre.append(frame)
                while sum(p.size for p in self._pre) > PREROLL_SECONDS * SAMPLE_RATE:
                    self._pre.popleft()
                return None
            self._parts = [*self._pre, frame]
            self._pre.clear()
            self._samples = sum(p.size for p in self._parts)
            self._started_at, self._voiced, self._quiet_run = at - seconds, 0.0, 0.0
        else:
            self._parts.append(frame)
            self._samples += frame.size
        if loud:
            self._voiced += seconds
            self._quiet_run = 0.0
            self._last_voiced_at = at
        else:
            self._quiet_run += seconds
            if self._quiet_run >= self.silence:
                return self._finish()
        if self._samples >= self.longest * SAMPLE_RATE:
            return self._finish()
        return None

    def idle(self, now: float) -> Phrase | None:
        """No packet since the last frame: a phrase under way ends once ``silence``
        seconds have passed (a speaker who stops sending is quiet too)."""
        if self._parts and now - self._last_at >= self.silence:
            return self._finish()
        return None

    def gap(self, seconds: float) -> Phrase | None:
        """The speaker's stream skipped ``seconds`` (RTP timestamps jumped): as quiet."""
        if self._parts and seconds >= self.silence:
            return self._finish()
        return None

    def _finish(self) -> Phrase | None:
        # The trailing quiet is mostly left out (a little kept: Whisper likes an ending).
        keep_quiet = int(min(self._quiet_run, 0.2) * SAMPLE_RATE)
        drop = int(self._quiet_run * SAMPLE_RATE) - keep_quiet
        audio = np.concatenate(self._parts)
        if drop > 0:
            audio = audio[: max(0, audio.size - drop)]
        voiced = self._voiced
        phrase = Phrase(self.room, self.speaker, audio.astype(np.float32, copy=False),
                        self._started_at, self._last_voiced_at)  # fmt: skip
        self._parts, self._samples, self._voiced, self._quiet_run = [], 0, 0.0, 0.0
        return phrase if voiced >= SHORTEST_VOICED else None


class PhraseQueue:
    """Finished phrases waiting for the recogniser: at most ``waiting``; a new phrase when
    full pushes out the oldest (counted in :attr:`dropped`). Thread-safe."""

    def __init__(self, waiting: int) -> None:
        self.waiting = max(1, waiting)
        self._items: deque[Phrase] = deque()
        self._cond = threading.Condition()
        self.dropped = 0
        self.stale = 0

    def put(self, phrase: Phrase) -> None:
        with self._cond:
            while len(self._items) >= self.waiting:
                self._items.popleft()
                self.dropped += 1
            self._items.append(phrase)
            self._cond.notify()

    def get(self, timeout: float, now: Callable[[], float] = time.time) -> Phrase | None:
        """The oldest phrase still fresh (older ones are dropped as stale), or None."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            while self._items:
                phrase = self._items.popleft()
                if now() - phrase.ended_at <= STALE_SECONDS:
                    return phrase
                self.stale += 1
            return None

    def __len__(self) -> int:
        return len(self._items)


# -- messages between the server and the worker (plain tuples and dataclasses) -----------


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What the worker process needs (picklable: it crosses into a spawned process)."""

    model_dir: Path
    threads: int = 1
    waiting: int = 2
    glossary: tuple[str, ...] = ()
    niceness: int = 10


@dataclass(frozen=True, slots=True)
class Caption:
    """The text of one phrase, with the worker's running totals."""

    room: str
    speaker: str
    text: str
    lang: str
    started_at: float
    ended_at: float
    #: Seconds of audio and CPU seconds (all threads) the worker spent on it.
    audio_seconds: float
    cpu_seconds: float
    #: Totals since the worker started: phrases dropped (queue full, stale).
    dropped: int
    stale: int


@dataclass(frozen=True, slots=True)
class WorkerReady:
    pid: int
    load_seconds: float


@dataclass(frozen=True, slots=True)
class WorkerFailed:
    """The worker cannot run (no model...): it says why and exits."""

    error: str


# Messages to the worker: ("p", room, speaker, payload, rtp_timestamp, received_at),
# ("room", room, lang, hints) and ("stop",).


class _Decoder:
    """One speaker's Opus decoder and resampler to 16 kHz mono."""

    def __init__(self) -> None:
        import av

        self._av = av
        self.codec: Any = av.CodecContext.create("libopus", "r")
        self.codec.sample_rate = 48_000
        self.codec.layout = "mono"
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        self.last_ts: int | None = None

    def decode(self, payload: bytes) -> list[Audio]:
        out: list[Audio] = []
        try:
            for frame in self.codec.decode(self._av.Packet(payload)):
                for res in self.resampler.resample(frame):
                    out.append(res.to_ndarray().reshape(-1).astype(np.float32, copy=False))
        except (self._av.error.FFmpegError, ValueError):
            return []  # a damaged packet is a moment of silence, not the end of captions
        return out


class _Receiver:
    """The worker's receiving side: packets in, phrases out to the queue."""

    def __init__(self, conn: Connection, queue: PhraseQueue) -> None:
        self.conn = conn
        self.queue = queue
        self.cutters: dict[tuple[str, str], PhraseCutter] = {}
        self.decoders: dict[tuple[str, str], _Decoder] = {}
        self.rooms: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def room(self, room: str) -> tuple[str, tuple[str, ...]]:
        with self.lock:
            return self.rooms.get(room, ("ja", ()))

    def run(self) -> None:
        parent = os.getppid()
        try:
            while not self.stopped.is_set():
                if self.conn.poll(0.1):
                    msg = self.conn.recv()
                    if msg[0] == "p":
                        self._packet(*msg[1:])
                    elif msg[0] == "room":
                        with self.lock:
                            self.rooms[msg[1]] = (msg[2], tuple(msg[3]))
                    elif msg[0] == "stop":
                        break
                    if self.conn.poll(0):
                        continue  # a backlog (the model was loading): its times are old
                now = time.time()
                for cutter in self.cutters.values():
                    if (phrase := cutter.idle(now)) is not None:
                        self.queue.put(phrase)
                if os.getppid() != parent:
                    break  # the server is gone: so is this worker
        except (EOFError, OSError):
            pass  # the server closed its end
        self.stopped.set()

    def _packet(self, room: str, speaker: str, payload: bytes, ts: int | None,
                at: float) -> None:  # fmt: skip
        key = (room, speaker)
        decoder = self.decoders.get(key)
        if decoder is None:
            decoder = self.decoders[key] = _Decoder()
            self.cutters[key] = PhraseCutter(room, speaker)
        cutter = self.cutters[key]
        if ts is not None and decoder.last_ts is not None:
            skipped = ((ts - decoder.last_ts) & 0xFFFFFFFF) / 48_000 - 0.02
            if 0 < skipped < 3600 and (phrase := cutter.gap(skipped)) is not None:
                self.queue.put(phrase)
        decoder.last_ts = ts
        for frame in decoder.decode(payload):
            if (phrase := cutter.feed(frame, at)) is not None:
                self.queue.put(phrase)


def run_worker(config: WorkerConfig, inbox: Connection, outbox: Connection) -> None:
    """The worker process: load the model once, then caption phrases until told to stop
    or the server goes away. Every answer is plain data (never an exception)."""
    with contextlib.suppress(OSError):  # already as nice as it may be
        os.nice(config.niceness)
    from rooms.errors import HirobaError
    from server.transcription.engine import Transcriber

    try:
        model = Transcriber(config.model_dir, threads=config.threads)
    except HirobaError as exc:
        outbox.send(WorkerFailed(exc.message if hasattr(exc, "message") else str(exc)))
        return
    outbox.send(WorkerReady(os.getpid(), model.load_seconds))
    queue = PhraseQueue(config.waiting)
    receiver = _Receiver(inbox, queue)
    thread = threading.Thread(target=receiver.run, name="captions-receive", daemon=True)
    thread.start()
    while not receiver.stopped.is_set():
        phrase = queue.get(0.2)
        if phrase is None:
            continue
        lang, hints = receiver.room(phrase.room)
        cpu = time.process_time()
        try:
            segments = model.transcribe(phrase.audio, language=lang,
                                        hints=hint_terms((*hints, *config.glossary)))
        except Exception:  # one phrase's failure is one caption missing, not the worker
            log.exception("captioning a phrase failed")
            continue
        text = "".join(s.text for s in segments).strip()
        if not text:
            continue
        try:
            outbox.send(Caption(phrase.room, phrase.speaker, text, lang, phrase.started_at,
                                phrase.ended_at, round(phrase.seconds, 3),
                                round(time.process_time() - cpu, 3), queue.dropped,
                                queue.stale))
        except (OSError, EOFError):
            break
