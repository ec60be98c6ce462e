"""The uploaded VRM avatars: their rows (SQLite table ``avatars``, migration 13) and their
files (``DATA_DIR/avatars/<sha256>.vrm``, named by the sha256 of their bytes).

A file is written to a temporary name in the same folder and renamed into place, off the
event loop: a reader never sees half a file, and a crash leaves at most a temporary file
(removed at the next start). Which model each principal wears (its most recently approved
upload) is kept in memory, so that a join looks it up without a store read.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.storage.store import SQLiteStore

_COLUMNS = ("sha256, uploaded_by, bound_to, label, status, report, created_at, approved_at, "
            "approved_by")
#: Bytes read from a file per executor call while serving it.
CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class AvatarRow:
    """One uploaded file: whose, for whom, its validator report and its state."""

    sha256: str
    uploaded_by: str
    bound_to: str
    label: str
    status: str
    report: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    approved_at: float | None = None
    approved_by: str | None = None

    def to_json(self) -> dict[str, object]:
        """The console's view of the row (``GET /api/avatars``)."""
        return {"sha256": self.sha256, "uploaded_by": self.uploaded_by,
                "for": self.bound_to, "label": self.label, "status": self.status,
                "report": self.report, "created_at": self.created_at,
                "approved_at": self.approved_at, "approved_by": self.approved_by}


def _row(r: tuple[Any, ...]) -> AvatarRow:
    return AvatarRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), float(r[6]),
                     None if r[7] is None else float(r[7]), r[8])


def _write_file(folder: Path, name: str, data: bytes) -> None:
    """``data`` into ``folder/name`` through a temporary file and a rename (blocking)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists() and target.stat().st_size == len(data):
        return  # the same content (it is named by its hash): already there
    temp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
    try:
        with temp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _clear_temporaries(folder: Path) -> None:
    if folder.is_dir():
        for temp in folder.glob(".*.tmp"):
            temp.unlink(missing_ok=True)


class AvatarStore:
    """The avatars table and folder of one server."""

    def __init__(self, db: SQLiteStore, folder: Path) -> None:
        self.db = db
        self.folder = folder
        #: principal → the sha256 of the model it wears (its latest approved upload).
        self.worn: dict[str, str] = {}

    async def load(self) -> None:
        """Read which model each principal wears (once the store is open) and clear
        temporary files a crash left behind."""
        rows = await self.db.run(lambda c: c.execute(
            "SELECT bound_to, sha256 FROM avatars WHERE status = 'approved' "
            "ORDER BY approved_at, sha256").fetchall())
        self.worn = {str(bound): str(sha) for bound, sha in rows}
        await asyncio.get_running_loop().run_in_executor(None, _clear_temporaries, self.folder)

    def model_of(self, principal: str) -> str | None:
        """The sha256 of the approved model ``principal`` wears, or None."""
        return self.worn.get(principal)

    def path(self, sha256: str) -> Path:
        return self.folder / f"{sha256}.vrm"

    async def rows(self) -> list[AvatarRow]:
        found = await self.db.run(lambda c: c.execute(
            f"SELECT {_COLUMNS} FROM avatars ORDER BY created_at DESC").fetchall())
        return [_row(r) for r in found]

    async def row(self, sha256: str) -> AvatarRow | None:
        found = await self.db.run(lambda c: c.execute(
            f"SELECT {_COLUMNS} FROM avatars WHERE sha256 = ?", (sha256,)).fetchone())
        return None if found is None else _row(found)

    async def save_file(self, sha256: str, data: bytes) -> None:
        """Write the file (off the loop) before its row names it."""
        await asyncio.get_running_loop().run_in_executor(
            None, _write_file, self.folder, f"{sha256}.vrm", data)

    async def add(self, row: AvatarRow) -> None:
        await self.db.run(lambda c: c.execute(
            f"INSERT INTO avatars ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row.sha256, row.uploaded_by, row.bound_to, row.label, row.status,
             json.dumps(row.report, ensure_ascii=False), row.created_at, row.approved_at,
             row.approved_by)))

    async def set_status(self, row: AvatarRow, status: str, at: float, by: str) -> AvatarRow:
        """Approve or withdraw ``row``; the principal's worn model follows."""
        approved = status == "approved"

        def change(c: sqlite3.Connection) -> str | None:
            if approved:
                c.execute("UPDATE avatars SET status = ?, approved_at = ?, approved_by = ? "
                          "WHERE sha256 = ?", (status, at, by, row.sha256))
            else:
                c.execute("UPDATE avatars SET status = ? WHERE sha256 = ?",
                          (status, row.sha256))
            latest = c.execute(
                "SELECT sha256 FROM avatars WHERE bound_to = ? AND status = 'approved' "
                "ORDER BY approved_at DESC, sha256 DESC LIMIT 1", (row.bound_to,)).fetchone()
            return None if latest is None else str(latest[0])

        worn = await self.db.run(change)
        if worn is None:
            self.worn.pop(row.bound_to, None)
        else:
            self.worn[row.bound_to] = worn
        if approved:
            return AvatarRow(row.sha256, row.uploaded_by, row.bound_to, row.label, status,
                             row.report, row.created_at, at, by)
        return AvatarRow(row.sha256, row.uploaded_by, row.bound_to, row.label, status,
                         row.report, row.created_at, row.approved_at, row.approved_by)
