"""Staff login sessions: random ids, idle and absolute expiry, pure decisions.

The browser holds the session id (a cookie); storage holds only its SHA-256
(:func:`session_key`), so a copy of the database cannot be used to log in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace

from rooms.errors import PermissionDenied, Reason

#: A session ends after this long without use...
IDLE_SECONDS = 2 * 3600
#: ...and in any case this long after login (a long meeting day).
ABSOLUTE_SECONDS = 12 * 3600
#: ``last_seen`` is written back at most this often, to spare the database.
TOUCH_EVERY_SECONDS = 60


@dataclass(frozen=True, slots=True)
class StaffSession:
    """A session as stored: keyed by the hash of its id."""

    key: str
    account: str
    created_at: float
    last_seen: float
    expires_at: float


def session_key(session_id: str) -> str:
    """What storage keys a session by."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def new_session(account: str, now: float) -> tuple[str, StaffSession]:
    """A fresh session id (for the cookie) and its record (for storage)."""
    session_id = secrets.token_urlsafe(32)
    return session_id, StaffSession(session_key(session_id), account, now, now,
                                    now + ABSOLUTE_SECONDS)


def check_session(session: StaffSession | None, now: float) -> StaffSession:
    """The session if still valid at ``now``, else ``session_expired``."""
    if session is None:
        raise PermissionDenied(Reason.SESSION_EXPIRED, "log in again")
    if now >= session.expires_at or now - session.last_seen >= IDLE_SECONDS:
        raise PermissionDenied(Reason.SESSION_EXPIRED, "the session has expired; log in again")
    return session


def touch(session: StaffSession, now: float) -> StaffSession | None:
    """The session with ``last_seen`` moved to ``now``, or None when not worth a write."""
    if now - session.last_seen < TOUCH_EVERY_SECONDS:
        return None
    return replace(session, last_seen=now)
