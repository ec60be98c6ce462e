"""The SQLite store: migrations from the first version on, and round trips."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rooms.model import RoomKind
from rooms.room import RoomInfo
from server.storage.migrations import MIGRATIONS
from server.storage.seed import DEMO_ROOMS, seed_demo
from server.storage.store import SQLiteStore


async def test_fresh_database_is_migrated_and_seeded_once(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = SQLiteStore(path)
    await store.open()
    assert await seed_demo(store) is True
    await store.add_room(RoomInfo("extra", RoomKind.PLAZA, "追加", "Extra", 10))
    notice = await store.add_notice("extra", "b1", "題", "本文")
    await store.close()

    store = SQLiteStore(path)
    await store.open()
    assert await seed_demo(store) is False, "seeding is idempotent"
    rooms = await store.list_rooms()
    assert [r.id for r in rooms] == [r.id for r in DEMO_ROOMS] + ["extra"]
    assert await store.list_notices("extra") == [notice]
    assert len(await store.list_notices("plaza")) == 3
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    store = SQLiteStore(path)
    with pytest.raises(RuntimeError, match="newer"):
        await store.open()
    await store.close()


async def test_deleted_demo_room_is_not_recreated(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = SQLiteStore(path)
    await store.open()
    await seed_demo(store)
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM rooms WHERE id = 'plaza'")
    store = SQLiteStore(path)
    await store.open()
    await seed_demo(store)
    assert "plaza" not in {r.id for r in await store.list_rooms()}
    assert await store.list_notices("plaza") == []
    await store.close()
