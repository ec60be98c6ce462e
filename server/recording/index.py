"""The recordings index in SQLite (migration 3), the retention sweep, and recovery at start.

The ``*_sql`` functions are plain functions of a connection, run in one transaction on the
store's thread through :meth:`server.storage.store.SQLiteStore.run`; :class:`RecordingIndex` wraps
them for the event loop. Folder work (deleting, recovering) runs in an executor thread.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from rooms.errors import HirobaError, Reason
from server.recording.ids import is_recording_id, recording_dir
from server.recording.recorder import (
    MANIFEST,
    Manifest,
    RecordingState,
    folder_bytes,
    read_manifest,
    recover,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
DAY = 86_400.0


class _Runner(Protocol):
    """What the index needs of the store (``SQLiteStore.run``)."""

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...


@dataclass(frozen=True)
class RecordingRow:
    """One row of the ``recordings`` table."""

    id: str
    room_id: str
    title: str
    started: float
    stopped: float | None
    state: RecordingState
    published: bool
    published_at: float | None
    duration_ms: int
    bytes: int
    started_by: str
    recovered: bool


_COLUMNS = (
    "id, room_id, title, started, stopped, state, published, published_at, duration_ms,"
    " bytes, started_by, recovered"
)


def _row(r: tuple[object, ...]) -> RecordingRow:
    return RecordingRow(
        str(r[0]),
        str(r[1]),
        str(r[2]),
        float(r[3]),  # type: ignore[arg-type]
        None if r[4] is None else float(r[4]),  # type: ignore[arg-type]
        RecordingState(str(r[5])),
        bool(r[6]),
        None if r[7] is None else float(r[7]),  # type: ignore[arg-type]
        int(r[8]),  # type: ignore[call-overload]
        int(r[9]),  # type: ignore[call-overload]
        str(r[10]),
        bool(r[11]),
    )


def add_sql(conn: sqlite3.Connection, manifest: Manifest, started_by: str = "") -> None:
    """Index a recording that has just started."""
    conn.execute(
        "INSERT INTO recordings (id, room_id, title, started, state, started_by)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            manifest.id,
            manifest.room,
            manifest.title,
            manifest.started,
            manifest.state.value,
            started_by,
        ),
    )


def finish_sql(conn: sqlite3.Connection, manifest: Manifest, size: int) -> None:
    """Record the end of a recording (stopped, failed or recovered) and its size; inserts
    the row if the index lost it (a crash between the folder and the row)."""
    conn.execute(
        "INSERT INTO recordings (id, room_id, title, started, state) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO NOTHING",
        (manifest.id, manifest.room, manifest.title, manifest.started, manifest.state.value),
    )
    conn.execute(
        "UPDATE recordings SET stopped = ?, state = ?, duration_ms = ?, bytes = ?,"
        " recovered = ? WHERE id = ?",
        (
            manifest.stopped,
            manifest.state.value,
            manifest.duration_ms,
            size,
            int(manifest.recovered),
            manifest.id,
        ),
    )


def get_sql(conn: sqlite3.Connection, recording_id: str) -> RecordingRow:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM recordings WHERE id = ?", (recording_id,)
    ).fetchone()
    if row is None:
        raise HirobaError(Reason.NOT_FOUND, "no such recording")
    return _row(row)


def list_sql(
    conn: sqlite3.Connection, *, room_id: str | None = None, published_only: bool = False
) -> list[RecordingRow]:
    """Recordings, newest first; ``published_only`` for the public archive."""
    where, args = [], []
    if room_id is not None:
        where.append("room_id = ?")
        args.append(room_id)
    if published_only:
        where.append("published = 1")
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM recordings{clause} ORDER BY started DESC", args
    ).fetchall()
    return [_row(r) for r in rows]


def set_published_sql(
    conn: sqlite3.Connection, recording_id: str, published: bool, at: float
) -> RecordingRow:
    """Publish or unpublish a stopped recording."""
    row = get_sql(conn, recording_id)
    if row.state is not RecordingState.STOPPED:
        raise HirobaError(
            Reason.WRONG_STATE, f"a recording that is {row.state} cannot be published"
        )
    conn.execute(
        "UPDATE recordings SET published = ?, published_at = ? WHERE id = ?",
        (int(published), at if published else None, recording_id),
    )
    return get_sql(conn, recording_id)


def expired_sql(conn: sqlite3.Connection, now: float, retention_days: float) -> list[str]:
    """Ids of the unpublished, finished recordings started more than ``retention_days``
    ago (none when retention is 0: keep everything)."""
    if retention_days <= 0:
        return []
    rows = conn.execute(
        "SELECT id FROM recordings WHERE published = 0 AND state != 'recording'"
        " AND started < ? ORDER BY started",
        (now - retention_days * DAY,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def delete_sql(conn: sqlite3.Connection, recording_id: str) -> None:
    conn.execute("DELETE FROM recordings WHERE id = ? AND published = 0", (recording_id,))


class RecordingIndex:
    """The index for the event loop: SQL on the store's thread, folders in an executor."""

    def __init__(self, store: _Runner, root: Path) -> None:
        self.store = store
        self.root = root

    async def add(self, manifest: Manifest, started_by: str = "") -> None:
        await self.store.run(lambda c: add_sql(c, manifest, started_by))

    async def finish(self, manifest: Manifest) -> None:
        loop = asyncio.get_running_loop()
        size = await loop.run_in_executor(None, folder_bytes, recording_dir(self.root, manifest.id))
        await self.store.run(lambda c: finish_sql(c, manifest, size))

    async def get(self, recording_id: str) -> RecordingRow:
        if not is_recording_id(recording_id):
            raise HirobaError(Reason.NOT_FOUND, "no such recording")
        return await self.store.run(lambda c: get_sql(c, recording_id))

    async def list_all(
        self, *, room_id: str | None = None, published_only: bool = False
    ) -> list[RecordingRow]:
        return await self.store.run(
            lambda c: list_sql(c, room_id=room_id, published_only=published_only)
        )

    async def set_published(self, recording_id: str, published: bool, at: float) -> RecordingRow:
        if not is_recording_id(recording_id):
            raise HirobaError(Reason.NOT_FOUND, "no such recording")
        return await self.store.run(lambda c: set_published_sql(c, recording_id, published, at))

    async def sweep(self, now: float, retention_days: float) -> list[str]:
        """Delete the expired unpublished recordings (folder first, then the row, so a
        crash half-way leaves a row whose folder is gone, which the next sweep finishes);
        returns their ids."""
        loop = asyncio.get_running_loop()
        ids = await self.store.run(lambda c: expired_sql(c, now, retention_days))
        for recording_id in ids:
            path = recording_dir(self.root, recording_id)
            await loop.run_in_executor(None, _remove_folder, path)
            await self.store.run(_deleter(recording_id))
            log.info("recording %s deleted after %g days unpublished", recording_id, retention_days)
        return ids

    async def recover_open(self) -> list[Manifest]:
        """At start: close every recording a crash left open, and bring the index up to
        date with it; returns the recordings recovered."""
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, open_folders, self.root)
        recovered = []
        for path in found:
            manifest = await loop.run_in_executor(None, recover, path)
            await self.finish(manifest)
            recovered.append(manifest)
        return recovered


def _remove_folder(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _deleter(recording_id: str) -> Callable[[sqlite3.Connection], None]:
    return lambda c: delete_sql(c, recording_id)


def open_folders(root: Path) -> list[Path]:
    """Recording folders under ``root`` whose manifest still says ``recording``."""
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.iterdir()):
        if not is_recording_id(path.name) or not (path / MANIFEST).is_file():
            continue
        try:
            if read_manifest(path).state is RecordingState.RECORDING:
                out.append(path)
        except HirobaError:
            log.warning("recording folder %s has no readable manifest", path.name)
    return out
