"""Rendered minutes, kept in memory once a recording has stopped (issue 14 finding 5).

Building the minutes of a two-hour meeting reads every speaker's audio file and walks the
whole event log: about a third of a CPU second. The public asks for the same few documents
over and over, so each rendered document is kept, keyed by (recording, format, language,
staff version), and built once:

- **in memory, bounded** (:data:`MAX_BYTES` in all, least recently used dropped first),
  not on disk: nothing to clean up when a recording is deleted or unpublished, no stale
  file that outlives a change, and a restart simply rebuilds on demand. The documents are
  small (tens of KB for hours of meeting), so a few MB hold every recording anyone reads.
- **only once stopped**: a recording still being written changes with every line.
- **invalidated by what it was built from**: each entry remembers its *version*, the
  index row (published or not, when, the title, the state) and the size and modification
  time of ``recording.json``, ``events.jsonl`` and the ``audio`` folder. A request whose
  version differs (re-published, unpublished, retitled, the log rewritten) builds anew
  and replaces the entry; :meth:`MinutesCache.drop` forgets a recording at once.
- **one build at a time per document**: concurrent requests for the same uncached
  document wait for the one build in the executor instead of starting their own; a
  request that goes away does not cancel the build the others wait for.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from server.recording.recorder import AUDIO, EVENTS, MANIFEST

#: The most bytes of rendered text kept (UTF-8 length, roughly; least recently used out).
MAX_BYTES = 32 * 1024 * 1024

#: (recording id, format, language, staff version).
Key = tuple[str, str, str, bool]


@dataclass(frozen=True)
class Rendered:
    """One rendered minutes document and its own Content-Security-Policy (HTML)."""

    text: str
    csp: str | None = None

    @property
    def size(self) -> int:
        return len(self.text) * 2  # (a bound, not an exact count: no encoding pass)


def folder_stamp(folder: Path) -> tuple[tuple[int, int], ...]:
    """Size and modification time of what the minutes are built from (blocking: stat)."""
    stamp = []
    for name in (MANIFEST, EVENTS, AUDIO):
        try:
            st = (folder / name).stat()
            stamp.append((st.st_size, st.st_mtime_ns))
        except OSError:
            stamp.append((-1, 0))
    return tuple(stamp)


@dataclass
class _Entry:
    version: Hashable
    value: Rendered


class MinutesCache:
    """The rendered minutes of one server process."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._bytes = 0
        self._flights: dict[tuple[Key, Hashable], asyncio.Future[Rendered]] = {}
        #: Builds run and requests answered from memory since start (``/metrics``, tests).
        self.builds = 0
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        """Bytes held (as :attr:`Rendered.size` counts them)."""
        return self._bytes

    async def get(self, key: Key, version: Hashable, build: Callable[[], Rendered], *,
                  keep: bool) -> Rendered:
        """The document for ``key`` as of ``version``: from memory, from a build already
        running for it, or built now in the executor by ``build`` (blocking). ``keep``:
        whether it may be kept (the recording has stopped)."""
        entry = self._entries.get(key)
        if entry is not None and entry.version == version:
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.value
        flight_key = (key, version)
        flight = self._flights.get(flight_key)
        if flight is None:
            flight = asyncio.ensure_future(self._build(key, version, build, keep))
            self._flights[flight_key] = flight
            flight.add_done_callback(lambda done: self._landed(flight_key, done))
        # Shielded: a request that goes away does not cancel what the others wait for.
        return await asyncio.shield(flight)

    def has(self, key: Key, version: Hashable) -> bool:
        """Whether ``key`` is kept as of ``version`` (a caller skips gathering what a build
        would need, such as the transcript, when it is)."""
        entry = self._entries.get(key)
        return entry is not None and entry.version == version

    def _landed(self, flight_key: tuple[Key, Hashable],
                done: asyncio.Future[Rendered]) -> None:
        self._flights.pop(flight_key, None)
        if not done.cancelled():
            done.exception()  # retrieved: waiters that went away must not leave a warning

    async def _build(self, key: Key, version: Hashable, build: Callable[[], Rendered],
                     keep: bool) -> Rendered:
        self.builds += 1
        value = await asyncio.get_running_loop().run_in_executor(None, build)
        if keep:
            self._put(key, _Entry(version, value))
        return value

    def _put(self, key: Key, entry: _Entry) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.value.size
        if entry.value.size > self.max_bytes:
            return
        self._entries[key] = entry
        self._bytes += entry.value.size
        while self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.value.size

    def drop(self, recording_id: str) -> None:
        """Forget every document of ``recording_id`` (published or unpublished: the next
        request builds from what is there then)."""
        for key in [k for k in self._entries if k[0] == recording_id]:
            self._bytes -= self._entries.pop(key).value.size
