"""Persistence of identities: staff accounts, login sessions (hashed ids), invitations and
their redemptions, and registration codes. The command line and the server share it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from moderation.accounts import StaffAccount
from moderation.invitations import Invitation, Redemption
from moderation.sessions import StaffSession
from rooms.errors import ProcedureError, Reason
from server.storage.store import SQLiteStore


def _account(row: tuple[object, ...]) -> StaffAccount:
    return StaffAccount(str(row[0]), str(row[1]), float(row[3]),  # type: ignore[arg-type]
                        str(row[2]), bool(row[4]), str(row[5]))


_ACCOUNT_COLUMNS = "name, password_hash, display_name, created_at, disabled, kind"


def invitation_write(inv: Invitation) -> tuple[str, tuple[object, ...]]:
    """The SQL that records an issued invitation (the token itself is never stored)."""
    return ("INSERT INTO invitations (token_id, room_id, role, name, expires_at, issued_by,"
            " issued_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (inv.token_id, inv.room, inv.role, inv.name, inv.expires_at, inv.issued_by,
             inv.issued_at))


@dataclass(frozen=True, slots=True)
class InvitationStatus:
    """An issued invitation and, if any, its redemption (``device`` hidden)."""

    invitation: Invitation
    redeemed_at: float | None
    revoked: bool


class StaffStore:
    """The identity tables of a :class:`SQLiteStore`."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    # -- accounts ---------------------------------------------------------------------

    async def account(self, name: str) -> StaffAccount | None:
        row = await self.store.run(lambda c: c.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM staff_accounts WHERE name = ?", (name,)).fetchone())
        return None if row is None else _account(row)

    async def accounts(self) -> list[StaffAccount]:
        rows = await self.store.run(lambda c: c.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM staff_accounts ORDER BY name").fetchall())
        return [_account(r) for r in rows]

    async def add_account(self, account: StaffAccount) -> None:
        """Store a new account; ``duplicate`` if the name is taken."""

        def insert(c: sqlite3.Connection) -> None:
            try:
                c.execute(f"INSERT INTO staff_accounts ({_ACCOUNT_COLUMNS})"
                          " VALUES (?, ?, ?, ?, ?, ?)",
                          (account.name, account.password_hash, account.display_name,
                           account.created_at, int(account.disabled), account.kind))
            except sqlite3.IntegrityError as exc:
                raise ProcedureError(Reason.DUPLICATE,
                                     f"account {account.name!r} already exists") from exc

        await self.store.run(insert)

    async def set_disabled(self, name: str, disabled: bool) -> bool:
        """Disable (or enable) an account; disabling ends its sessions. False: no account."""

        def update(c: sqlite3.Connection) -> bool:
            cur = c.execute("UPDATE staff_accounts SET disabled = ? WHERE name = ?",
                            (int(disabled), name))
            if disabled:
                c.execute("DELETE FROM staff_sessions WHERE account = ?", (name,))
            return cur.rowcount > 0

        return await self.store.run(update)

    async def set_password_hash(self, name: str, password_hash: str) -> None:
        await self.store.run(lambda c: c.execute(
            "UPDATE staff_accounts SET password_hash = ? WHERE name = ?", (password_hash, name)))

    # -- sessions ---------------------------------------------------------------------

    async def add_session(self, s: StaffSession) -> None:
        await self.store.run(lambda c: c.execute(
            "INSERT INTO staff_sessions (key, account, created_at, last_seen, expires_at)"
            " VALUES (?, ?, ?, ?, ?)", (s.key, s.account, s.created_at, s.last_seen, s.expires_at)))

    async def session(self, key: str) -> tuple[StaffSession, StaffAccount] | None:
        """The session stored under ``key`` and its account, if both exist."""
        row = await self.store.run(lambda c: c.execute(
            "SELECT s.key, s.account, s.created_at, s.last_seen, s.expires_at,"
            f" {', '.join('a.' + n for n in _ACCOUNT_COLUMNS.split(', '))}"
            " FROM staff_sessions s JOIN staff_accounts a ON a.name = s.account"
            " WHERE s.key = ?", (key,)).fetchone())
        if row is None:
            return None
        session = StaffSession(str(row[0]), str(row[1]), float(row[2]), float(row[3]),
                               float(row[4]))
        return session, _account(row[5:])

    async def touch_session(self, key: str, last_seen: float) -> None:
        await self.store.run(lambda c: c.execute(
            "UPDATE staff_sessions SET last_seen = ? WHERE key = ?", (last_seen, key)))

    async def delete_session(self, key: str) -> None:
        await self.store.run(lambda c: c.execute(
            "DELETE FROM staff_sessions WHERE key = ?", (key,)))

    async def purge_sessions(self, now: float, idle_seconds: float) -> None:
        """Forget sessions that can no longer be used."""
        await self.store.run(lambda c: c.execute(
            "DELETE FROM staff_sessions WHERE expires_at <= ? OR last_seen <= ?",
            (now, now - idle_seconds)))

    # -- invitations ------------------------------------------------------------------

    async def add_invitation(self, inv: Invitation) -> None:
        sql, params = invitation_write(inv)
        await self.store.run(lambda c: c.execute(sql, params))

    async def invitation(self, token_id: str) -> Invitation | None:
        row = await self.store.run(lambda c: c.execute(
            "SELECT token_id, room_id, role, name, expires_at, issued_by, issued_at"
            " FROM invitations WHERE token_id = ?", (token_id,)).fetchone())
        return None if row is None else Invitation(
            str(row[0]), str(row[1]), str(row[2]), row[3], int(row[4]), str(row[5]),
            float(row[6]))

    async def invitations(self, room: str) -> list[InvitationStatus]:
        rows = await self.store.run(lambda c: c.execute(
            "SELECT i.token_id, i.room_id, i.role, i.name, i.expires_at, i.issued_by,"
            " i.issued_at, r.at, r.device FROM invitations i"
            " LEFT JOIN redemptions r ON r.token_id = i.token_id"
            " WHERE i.room_id = ? ORDER BY i.issued_at DESC", (room,)).fetchall())
        return [InvitationStatus(
            Invitation(str(r[0]), str(r[1]), str(r[2]), r[3], int(r[4]), str(r[5]),
                       float(r[6])),
            None if r[7] is None or r[8] == "" else float(r[7]), r[8] == "") for r in rows]

    async def redemptions(self) -> dict[str, str]:
        """token id → device reference (empty: revoked), of every redeemed invitation."""
        rows = await self.store.run(lambda c: c.execute(
            "SELECT token_id, device FROM redemptions").fetchall())
        return {str(r[0]): str(r[1]) for r in rows}

    async def add_redemption(self, r: Redemption) -> None:
        await self.store.run(lambda c: c.execute(
            "INSERT OR IGNORE INTO redemptions (token_id, room_id, device, at) VALUES (?, ?, ?, ?)",
            (r.token_id, r.room, r.device, r.at)))

    # -- registration codes -----------------------------------------------------------

    async def registration_codes(self) -> dict[str, str]:
        rows = await self.store.run(lambda c: c.execute(
            "SELECT room_id, code FROM registration_codes").fetchall())
        return {str(r[0]): str(r[1]) for r in rows}

    async def set_registration_code(
        self, room: str, code: str | None, by: str, now: float
    ) -> None:
        """Require ``code`` in ``room`` from now on (None: no code needed)."""
        if code is None:
            await self.store.run(lambda c: c.execute(
                "DELETE FROM registration_codes WHERE room_id = ?", (room,)))
            return
        await self.store.run(lambda c: c.execute(
            "INSERT INTO registration_codes (room_id, code, created_by, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET code = excluded.code,"
            " created_by = excluded.created_by, created_at = excluded.created_at",
            (room, code, by, now)))
