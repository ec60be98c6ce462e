"""Schema migrations for the SQLite store, applied in order; ``PRAGMA user_version`` is
the number of migrations already applied. Append new migrations; never edit old ones.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: rooms, their notices, and small key/value facts about the installation.
    """
    CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('plaza', 'consultation', 'committee')),
        name_ja TEXT NOT NULL,
        name_en TEXT NOT NULL,
        capacity INTEGER NOT NULL CHECK (capacity > 0),
        created_at TEXT NOT NULL
    );
    CREATE TABLE notices (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
        board TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        posted_at TEXT NOT NULL
    );
    CREATE INDEX notices_by_room ON notices (room_id, posted_at);
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
)
