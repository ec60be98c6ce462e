"""The background transcription worker (issue 17, after the meeting): ONE process,
started lazily (``multiprocessing`` spawn: no copy of the server's event loop, sockets or
threads), niced by 10 so that a meeting running at the same time keeps the CPU it needs,
loading the model once and keeping it for every track it is given.

:class:`TrackWorker` runs in the server: :meth:`TrackWorker.transcribe` sends one file to
the process and awaits the answer without blocking the event loop; a process that died
(killed, out of memory) is replaced on the next call; :meth:`TrackWorker.close` kills it by
its PID. The process answers with plain data (:class:`TrackResult`): an error is a
message, never an exception to unpickle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from server.config.settings import Settings

log = logging.getLogger(__name__)

#: How much the worker process gives way to the server (added to its niceness).
NICENESS = 10


@dataclass(frozen=True, slots=True)
class TrackResult:
    """What the worker made of one file: segments (start, end, text; seconds from the
    file's start) or an error message."""

    segments: tuple[tuple[float, float, str], ...] = ()
    duration: float = 0.0
    #: Seconds spent decoding and recognising it (the model's first load not included).
    seconds: float = 0.0
    model: str = ""
    error: str = ""
    #: The model itself is unusable (every track would fail alike).
    model_error: bool = False
    pid: int = field(default=0)


# -- in the worker process ---------------------------------------------------------------

_loaded: dict[str, object] = {}


def _init() -> None:
    # Runs first in the fresh process: below the server, and no KeyboardInterrupt trace
    # when the terminal's Ctrl-C reaches the whole process group.
    os.nice(NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _transcribe(settings: Settings, path: str, language: str,
                hints: tuple[str, ...]) -> TrackResult:
    """In the worker: one file, with the model loaded once per process."""
    from rooms.errors import HirobaError, Reason
    from server.transcription.engine import Transcriber

    started = time.perf_counter()
    try:
        transcriber = _loaded.get("model")
        if not isinstance(transcriber, Transcriber):
            transcriber = Transcriber.from_settings(settings)
            _loaded["model"] = transcriber
            started = time.perf_counter()  # (the track's time, not the model's load)
        result = transcriber.transcribe_file(Path(path), language=language, hints=hints)
    except HirobaError as exc:
        return TrackResult(error=str(exc.message), seconds=time.perf_counter() - started,
                           model_error=exc.reason is Reason.MODEL_UNAVAILABLE, pid=os.getpid())
    except Exception as exc:  # a damaged file must not take the worker down
        return TrackResult(error=f"{exc.__class__.__name__}: {exc}",
                           seconds=time.perf_counter() - started, pid=os.getpid())
    return TrackResult(
        segments=tuple((s.start, s.end, s.text) for s in result.segments),
        duration=result.duration, seconds=time.perf_counter() - started,
        model=transcriber.model_dir.name, pid=os.getpid())


# -- in the server -----------------------------------------------------------------------


class TrackWorker:
    """The server's handle on the worker process (one track at a time)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: ProcessPoolExecutor | None = None
        #: Processes started since the server started (``/metrics``, tests).
        self.starts = 0

    @property
    def pids(self) -> list[int]:
        """The worker's process id while it runs (empty before the first track)."""
        pool = self._pool
        procs = getattr(pool, "_processes", None) or {}
        return [p.pid for p in procs.values() if p.pid is not None]

    def _ensure(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init)
            self.starts += 1
        return self._pool

    async def transcribe(self, path: Path, *, language: str,
                         hints: tuple[str, ...]) -> TrackResult:
        """Transcribe ``path`` in the worker process (started now if it is not running);
        a worker that died on it is replaced and the file reported as failed."""
        pool = self._ensure()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, _transcribe, self.settings, str(path),
                                               language, hints)
        except BrokenProcessPool:
            log.warning("the transcription worker died on %s; it is restarted", path)
            await self._discard(pool)
            return TrackResult(error="the transcription worker stopped while reading this "
                               "track (out of memory?)")

    async def _discard(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
        pids = [p.pid for p in (getattr(pool, "_processes", None) or {}).values()
                if p.pid is not None]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        # The pool's own threads reap the process; that may wait, so not on the loop.
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: pool.shutdown(wait=True, cancel_futures=True))

    async def close(self) -> None:
        """Kill the worker process (by its PID) and wait until it is gone."""
        pool = self._pool
        if pool is not None:
            await self._discard(pool)
