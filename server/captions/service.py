"""The server's side of live automatic captions: which packets go to the worker, the
worker process's life, and its text turned into caption lines.

On the event loop there is only :meth:`LiveCaptions.on_packet` (a set lookup and a
bounded ``deque.append``: a full outbox drops the packet and counts it) and the posting
of a caption line. A sender thread writes the outbox into the worker's pipe; a reader
thread waits for the worker's answers and hands them to the loop. The worker is started
lazily (the first packet of a captioned room's speaker), with ``multiprocessing``'s spawn
context (no copy of the server's loop, sockets or threads), niced by 10; when it dies
(killed, out of memory) the reader sees its pipe close and a new one is started: the
meeting goes on, a phrase or two is not captioned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from moderation.limits import CAPTION_MAX
from moderation.meeting import Meeting
from rooms.errors import HirobaError
from rooms.model import Role
from server.config.settings import Settings
from server.meetings.service import MeetingService
from server.sockets.hub import Hub
from server.transcription.engine import read_glossary
from server.transcription.live import (
    Caption,
    WorkerConfig,
    WorkerFailed,
    WorkerReady,
    run_worker,
)
from server.transcription.model import verified_folder

log = logging.getLogger(__name__)

#: Packets waiting for the sender thread (about 10 s of two speakers at 50 a second).
OUTBOX_PACKETS = 1000
#: A worker is not started again sooner than this after the last start (seconds).
RESTART_INTERVAL = 2.0
#: After the worker said it cannot run (no model), no new one for this long (seconds).
FAILED_BACKOFF = 60.0
#: Caption delays kept for the figures (end of phrase to the line posted).
DELAYS_KEPT = 1000


def room_hints(meeting: Meeting) -> tuple[str, ...]:
    """A room's words for the recogniser: the agenda's titles (the current item first),
    then the names of the chair and the members present."""
    current = meeting.agenda.current
    titles = [current.title] if current is not None else []
    titles += [item.title for item in meeting.agenda.items]
    names = [p.name for p in meeting.people.values()
             if p.role in (Role.CHAIR, Role.MEMBER)]  # fmt: skip
    return tuple(dict.fromkeys(t for t in (*titles, *names) if t))


class _Link:
    """One running worker: its process, pipes and the two threads that serve them."""

    def __init__(self, process: Any, send: Connection, receive: Connection) -> None:
        self.process = process
        self.send = send
        self.receive = receive
        self.outbox: deque[tuple[object, ...]] = deque()
        self.wake = threading.Event()
        self.closed = False

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)


class LiveCaptions:
    """Automatic captions of every room of this process (one worker for all)."""

    def __init__(self, settings: Settings, hub: Hub, meetings: MeetingService,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.settings = settings
        self.hub = hub
        self.meetings = meetings
        self.clock = clock
        #: room → the speakers captioned there now (rooms with auto_captions on only).
        self._heard: dict[str, frozenset[str]] = {}
        #: room → the (lang, hints) last sent to the worker.
        self._sent: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._link: _Link | None = None
        #: The running worker has loaded its model.
        self._ready = False
        self._starting = False
        self._started_at = -1e9
        self._failed_until = -1e9
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        # Counters (/metrics, the bench).
        self.packets_dropped = 0
        self.phrases_dropped = 0
        self.phrases_stale = 0
        self.captions = 0
        self.restarts = 0
        self.worker_cpu_seconds = 0.0
        self.audio_seconds = 0.0
        self.delays: deque[float] = deque(maxlen=DELAYS_KEPT)
        self._dropped_base = (0, 0)

    # -- the hot path (event loop) -------------------------------------------------------

    def on_packet(self, room: str, speaker: str, payload: bytes, timestamp: int | None) -> None:
        """AudioPlane.on_packet: a forwarded Opus packet. Cheap: a lookup and an append."""
        heard = self._heard.get(room)
        if heard is None or speaker not in heard:
            return
        link = self._link
        if link is None:
            self.packets_dropped += 1
            self._want_worker()
            return
        if len(link.outbox) >= OUTBOX_PACKETS:
            self.packets_dropped += 1  # the worker's pipe is full: never wait for it
            return
        link.outbox.append(("p", room, speaker, payload, timestamp, self.clock()))
        link.wake.set()

    def on_change(self, room: str) -> None:
        """MeetingService.change_listeners: the floor, the mutes, the agenda or the
        room's settings may have changed; who is captioned follows."""
        names = [room] if room else list(self.meetings.meetings)
        for name in names:
            meeting = self.meetings.meetings.get(name)
            if meeting is None or not meeting.rules.auto_captions:
                self._heard.pop(name, None)
                continue
            self._heard[name] = self.hub.speakers(name)
            wanted = (meeting.rules.caption_lang, room_hints(meeting))
            if self._sent.get(name) != wanted and self._link is not None:
                self._sent[name] = wanted
                self._control(("room", name, *wanted))
        if self._heard and self._link is None:
            # Captions are on somewhere: the model loads now, not when the first phrase
            # is spoken. Loading can take longer than a phrase stays fresh (STALE_SECONDS)
            # on a busy machine, and the worker runs at a lower priority.
            self._want_worker()

    # -- the worker's life ---------------------------------------------------------------

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id while one runs."""
        return None if self._link is None else self._link.pid

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.on_change("")

    async def stop(self) -> None:
        """End the worker (by its PID) and its threads."""
        self._closing = True
        link, self._link = self._link, None
        if link is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._end, link)
        for task in list(self._tasks):
            task.cancel()

    def _want_worker(self) -> None:
        now = time.monotonic()
        if (self._starting or self._closing or self._loop is None
                or now - self._started_at < RESTART_INTERVAL or now < self._failed_until):
            return
        self._starting, self._started_at = True, now
        task = self._loop.create_task(self._spawn())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            link = await loop.run_in_executor(None, self._start_process)
        except HirobaError as exc:
            log.error("automatic captions cannot start: %s", exc.message)
            self._failed_until = time.monotonic() + FAILED_BACKOFF
            return
        finally:
            self._starting = False
        if self._closing:
            await loop.run_in_executor(None, self._end, link)
            return
        self._link = link
        self._ready = False
        self._sent.clear()
        self._dropped_base = (self.phrases_dropped, self.phrases_stale)
        self.on_change("")  # every captioned room's language and hints, first
        threading.Thread(target=self._send_loop, args=(link,), name="captions-send",
                         daemon=True).start()  # fmt: skip
        threading.Thread(target=self._receive_loop, args=(link, loop), name="captions-receive",
                         daemon=True).start()  # fmt: skip
        log.info("automatic captions worker started (pid %d)", link.pid)

    def _start_process(self) -> _Link:
        """Blocking (an executor): verify the model, read the glossary, start the process."""
        glossary: tuple[str, ...] = ()
        if self.settings.transcription_glossary is not None:
            glossary = read_glossary(self.settings.transcription_glossary)
        config = WorkerConfig(verified_folder(self.settings),
                              threads=self.settings.live_captions_threads,
                              waiting=self.settings.live_captions_waiting, glossary=glossary)
        ctx = multiprocessing.get_context("spawn")
        to_worker_r, to_worker_w = ctx.Pipe(duplex=False)
        from_worker_r, from_worker_w = ctx.Pipe(duplex=False)
        process = ctx.Process(target=run_worker, args=(config, to_worker_r, from_worker_w),
                              name="hiroba-captions", daemon=True)  # fmt: skip
        process.start()
        # The worker's ends live in the worker now: closed here, so that either side
        # sees the pipe end (EOF, broken pipe) when the other dies.
        to_worker_r.close()
        from_worker_w.close()
        return _Link(process, to_worker_w, from_worker_r)

    def _end(self, link: _Link) -> None:
        """Blocking: stop a worker and reap it (killed by its PID if it does not stop)."""
        link.closed = True
        link.wake.set()
        with contextlib.suppress(OSError):
            link.send.close()
        link.process.join(2.0)
        if link.process.is_alive() and link.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(link.pid, signal.SIGKILL)
            link.process.join(2.0)
        with contextlib.suppress(OSError):
            link.receive.close()

    def _control(self, message: tuple[object, ...]) -> None:
        # Room settings are never dropped (a handful, against thousands of packets).
        link = self._link
        if link is not None:
            link.outbox.append(message)
            link.wake.set()

    def _send_loop(self, link: _Link) -> None:
        """Sender thread: the outbox into the worker's pipe (a blocking write, here only)."""
        try:
            while not link.closed:
                link.wake.wait(0.5)
                link.wake.clear()
                while link.outbox and not link.closed:
                    link.send.send(link.outbox.popleft())
        except (OSError, ValueError):
            pass  # the worker is gone: the reader reports it

    def _receive_loop(self, link: _Link, loop: asyncio.AbstractEventLoop) -> None:
        """Reader thread: the worker's answers to the loop; its death too."""
        try:
            while True:
                message = link.receive.recv()
                loop.call_soon_threadsafe(self._received, link, message)
        except (EOFError, OSError, ValueError):
            pass
        with contextlib.suppress(RuntimeError):  # the loop closed: the server is stopping
            loop.call_soon_threadsafe(self._died, link)

    def _died(self, link: _Link) -> None:
        if link is not self._link or self._closing:
            return
        self._link = None
        self._ready = False
        self.restarts += 1
        code = link.process.exitcode
        log.warning("the automatic captions worker (pid %d) ended (exit %s); starting another",
                    link.pid, code)
        loop = asyncio.get_running_loop()
        loop.run_in_executor(None, self._end, link)
        self._want_worker()
        # Started again now if the last start is long enough ago; otherwise by the next
        # packet after RESTART_INTERVAL (lazily, like the first).

    # -- answers -------------------------------------------------------------------------

    def _received(self, link: _Link, message: object) -> None:
        if isinstance(message, Caption):
            self.worker_cpu_seconds += message.cpu_seconds
            self.audio_seconds += message.audio_seconds
            self.phrases_dropped = self._dropped_base[0] + message.dropped
            self.phrases_stale = self._dropped_base[1] + message.stale
            task = asyncio.get_running_loop().create_task(self._post(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif isinstance(message, WorkerReady):
            self._ready = link is self._link
            log.info("automatic captions model loaded in %.1f s (pid %d)",
                     message.load_seconds, message.pid)
        elif isinstance(message, WorkerFailed):
            log.error("automatic captions worker cannot run: %s", message.error)
            self._failed_until = time.monotonic() + FAILED_BACKOFF

    async def _post(self, caption: Caption) -> None:
        meeting = self.meetings.meetings.get(caption.room)
        if meeting is None or not meeting.rules.auto_captions:
            return  # switched off while the phrase was being recognised
        now = self.clock()
        try:
            happened = meeting.caption_auto(
                caption.speaker, caption.text[:CAPTION_MAX], now, lang=caption.lang,
                spoken_from=round(caption.started_at, 3), spoken_to=round(caption.ended_at, 3))
        except HirobaError as refused:  # e.g. text the caption rules refuse
            log.info("an automatic caption was not posted: %s", refused.message)
            return
        if not happened:
            return
        await self.meetings.commit(caption.room, happened)
        self.captions += 1
        self.delays.append(max(0.0, now - caption.ended_at))

    def stats(self) -> dict[str, float]:
        """Counters for /metrics and the bench (no personal data)."""
        return {
            "captions": self.captions, "packets_dropped": self.packets_dropped,
            "phrases_dropped": self.phrases_dropped, "phrases_stale": self.phrases_stale,
            "restarts": self.restarts, "worker_cpu_seconds": round(self.worker_cpu_seconds, 3),
            "audio_seconds": round(self.audio_seconds, 3),
            "worker_running": 1.0 if self._link is not None else 0.0,
            "worker_ready": 1.0 if self._ready else 0.0,
        }
