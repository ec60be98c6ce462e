"""Persistence behind a small interface; SQLite is the embedded default.

SQLite calls run on one dedicated thread so that the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

from rooms.model import Notice, RoomKind
from rooms.room import RoomInfo
from server.storage.migrations import MIGRATIONS

T = TypeVar("T")


def utc_now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Store(Protocol):
    """What the rest of the server needs from persistence."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def list_rooms(self) -> list[RoomInfo]: ...
    async def add_room(self, info: RoomInfo) -> None: ...
    async def list_notices(self, room_id: str) -> list[Notice]: ...
    async def add_notice(self, room_id: str, board: str, title: str, body: str) -> Notice: ...
    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...


class SQLiteStore:
    """A :class:`Store` in one SQLite file, migrated to the latest schema on open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            if self._conn is None:
                raise RuntimeError("store is not open")
            with self._conn:  # one transaction per call
                return fn(self._conn)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one transaction on the store's thread (for the modules that keep
        their own tables: ``server/meetings/store.py``, ``server/staff/store.py``)."""
        return await self._run(fn)

    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` has run and :meth:`close` has not (for ``/readyz``)."""
        return self._conn is not None

    async def open(self) -> None:
        def connect() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 5000")
            migrate(conn)
            conn.isolation_level = "DEFERRED"
            self._conn = conn

        await asyncio.get_running_loop().run_in_executor(self._executor, connect)

    async def close(self) -> None:
        if self._closed:
            return  # a second close (a failed start-up, then the app's clean-up) is harmless
        self._closed = True

        def disconnect() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, disconnect)
        self._executor.shutdown(wait=True)

    async def list_rooms(self) -> list[RoomInfo]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT id, kind, name_ja, name_en, capacity FROM rooms ORDER BY rowid"
            ).fetchall()
        )
        return [RoomInfo(r[0], RoomKind(r[1]), r[2], r[3], int(r[4])) for r in rows]

    async def add_room(self, info: RoomInfo) -> None:
        await self._run(
            lambda c: c.execute(
                "INSERT INTO rooms (id, kind, name_ja, name_en, capacity, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    info.id,
                    info.kind.value,
                    info.name_ja,
                    info.name_en,
                    info.capacity,
                    utc_now_iso(),
                ),
            )
        )

    async def list_notices(self, room_id: str) -> list[Notice]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT id, board, title, body, posted_at FROM notices"
                " WHERE room_id = ? ORDER BY posted_at DESC, id DESC",
                (room_id,),
            ).fetchall()
        )
        return [Notice(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    async def add_notice(self, room_id: str, board: str, title: str, body: str) -> Notice:
        posted_at = utc_now_iso()

        def insert(c: sqlite3.Connection) -> int:
            cur = c.execute(
                "INSERT INTO notices (room_id, board, title, body, posted_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (room_id, board, title, body, posted_at),
            )
            return int(cur.lastrowid or 0)

        notice_id = await self._run(insert)
        return Notice(notice_id, board, title, body, posted_at)

    async def get_meta(self, key: str) -> str | None:
        row = await self._run(
            lambda c: c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        )
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        await self._run(
            lambda c: c.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        )


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations in one transaction each; return the schema version."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema {version} is newer than this Hiroba ({len(MIGRATIONS)})"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    return len(MIGRATIONS)
