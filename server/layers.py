"""Which parts of ``server`` may import which: the one table that
``tests/unit/test_import_graph.py`` enforces and each subpackage's ``__init__`` docstring
repeats in its "May import:" paragraph.

A part is a subpackage of ``server`` (``server.meetings``) or one of its top-level modules
(``server.app``, the composition root; ``server.layers``, this table). Its modules may import
their own part, the parts :data:`MAY_IMPORT` lists for it, the package root ``server`` (its
``__init__`` holds only the version and imports nothing), the pure packages (``rooms``,
``moderation``, ``avatar``), the standard library and third-party libraries. The pure packages
never import ``server``. Read as a graph the table has no cycle: a part never reaches back
down into one that uses it, so a newcomer can read the parts from the bottom up.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

_FOUNDATION = frozenset({"config", "common"})
_FEATURES = frozenset({
    "sockets", "storage", "rtc", "http", "staff", "meetings", "console", "motion", "audio",
    "tracking", "plaza", "recording", "cluster", "identity", "transcription", "captions",
    "avatars", "gallery",
})

#: Part → the other parts of ``server`` its modules may import, lowest layer first.
MAY_IMPORT: Final[Mapping[str, frozenset[str]]] = MappingProxyType({
    "layers": frozenset(),
    "config": frozenset(),
    "common": frozenset({"config"}),
    "sockets": _FOUNDATION,
    "storage": _FOUNDATION,
    "rtc": _FOUNDATION,
    "http": _FOUNDATION | {"sockets"},
    "staff": _FOUNDATION | {"storage"},
    "meetings": _FOUNDATION | {"sockets", "storage", "staff"},
    "motion": _FOUNDATION | {"sockets", "rtc"},
    "audio": _FOUNDATION | {"sockets", "rtc", "meetings"},
    # Identity-check video: the same plumbing as audio, its own peers.
    "identity": _FOUNDATION | {"sockets", "rtc", "meetings"},
    "tracking": _FOUNDATION | {"sockets", "rtc", "http", "motion"},
    "plaza": _FOUNDATION | {"sockets", "meetings", "motion"},
    # The staff console's HTTP API: staff sessions over the meetings they run.
    "console": _FOUNDATION | {"storage", "http", "staff", "meetings"},
    # VRM avatars (issue 18): uploads through the console's staff sessions, the store,
    # the public files; the meetings ask it (through app.py) which model a joiner wears.
    "avatars": _FOUNDATION | {"storage", "http", "staff", "meetings", "console"},
    "recording": _FOUNDATION | {
        "sockets", "storage", "http", "staff", "meetings", "console", "motion",
        # Transcripts of recordings (issue 17): jobs, the transcript store, minutes 発言.
        "transcription",
    },
    "cluster": _FOUNDATION | {"sockets", "motion", "audio"},
    # Speech to text: pure computation over files; meetings and recordings will call it.
    "transcription": _FOUNDATION,
    # Live automatic captions: the speakers' packets to the recogniser's worker process,
    # its text back as caption lines of the meeting.
    "captions": _FOUNDATION | {"sockets", "meetings", "transcription"},
    # The public gallery (issue 19): the motion plane's stage, the floor audio and the
    # meeting's public state, fanned out to thousands of watch-only WebSockets.
    # Its staff routes use the console's staff sessions (as the avatars do).
    "gallery": _FOUNDATION | {"sockets", "motion", "meetings", "http", "staff", "console"},
    # It reads every feature's counts; no feature imports it.
    "observe": _FOUNDATION | _FEATURES,
    # The composition root builds every component; only the command line imports it.
    "app": _FOUNDATION | _FEATURES | {"observe"},
    "cli": _FOUNDATION | _FEATURES | {"observe", "app"},
})

#: Imports that break the layering today, each waiting to be moved: (importing module, part
#: it imports) → why it is there. The test fails on an entry no longer needed, so a fix
#: removes its line.
KNOWN_EXCEPTIONS: Final[Mapping[tuple[str, str], str]] = MappingProxyType({
})
