"""Staff login: passwords checked off the event loop, session cookies, CSRF tokens.

Passwords are argon2id (:mod:`server.passwords`); a scrypt hash of an older installation is
checked as it is and replaced by argon2id at that account's next successful login.

The session cookie (:data:`COOKIE`) is HttpOnly, SameSite=Strict, Secure over TLS, and
holds a random id whose SHA-256 alone is stored. State-changing HTTP calls must carry
the header :data:`CSRF_HEADER` with the session's CSRF token (an HMAC of the session key
under the installation secret, given to the page by ``POST /api/login`` and
``GET /api/session``) and, when the browser sends one, an ``Origin`` equal to the page's
own: a synchroniser token plus an origin check.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import TypeVar

from moderation import accounts, sessions
from moderation.accounts import PasswordHasher, StaffAccount
from moderation.rate_limit import KeyedBuckets
from moderation.sessions import StaffSession
from rooms.errors import HirobaError, PermissionDenied, Reason, ValidationError
from server.passwords import STAFF_HASHER
from server.staff_store import StaffStore

log = logging.getLogger(__name__)
T = TypeVar("T")

COOKIE = "hiroba_session"
CSRF_HEADER = "X-CSRF-Token"
#: Password checks and re-hashes running at once, at most (argon2id: ~50 ms and 19 MiB
#: each; a scrypt account's last check: ~65 ms and 16 MiB).
CONCURRENT_HASHES = 2


@dataclass(frozen=True, slots=True)
class StaffIdentity:
    """A logged-in staff account, as a request or socket presents it."""

    session: StaffSession
    account: StaffAccount

    @property
    def name(self) -> str:
        return self.account.name

    @property
    def display_name(self) -> str:
        return self.account.display_name or self.account.name


def session_id_from_cookies(header: str | None) -> str | None:
    """The session id in a ``Cookie`` header, if any."""
    if not header:
        return None
    try:
        jar = SimpleCookie(header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    if morsel is None or not 16 <= len(morsel.value) <= 128:
        return None
    return morsel.value


class StaffAuth:
    """Logs staff in and recognises them again, for HTTP requests and sockets alike."""

    def __init__(
        self, store: StaffStore, secret: bytes, attempts_per_minute: float,
        hasher: PasswordHasher = STAFF_HASHER,
    ) -> None:
        self.store = store
        self.secret = secret
        self.hasher = hasher
        self.attempts = KeyedBuckets(attempts_per_minute / 60.0, max(1.0, attempts_per_minute))
        self._hashing = asyncio.Semaphore(CONCURRENT_HASHES)

    def csrf_token(self, session_key: str) -> str:
        return hmac.new(self.secret, b"csrf:" + session_key.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, identity: StaffIdentity, given: str | None) -> None:
        expected = self.csrf_token(identity.session.key)
        if not given or not hmac.compare_digest(expected.encode(), given.encode()):
            raise PermissionDenied(Reason.BAD_CSRF, f"missing or wrong {CSRF_HEADER} header")

    async def _off_loop(self, fn: Callable[..., T], *args: object) -> T:
        async with self._hashing:
            return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def login(
        self, name: object, password: object, now: float, *, client: str
    ) -> tuple[str, StaffIdentity]:
        """Check a password; return a new session id (for the cookie) and the identity.
        ``client`` (the peer address) keys the attempt limit."""
        if not self.attempts.allow(client, now):
            raise HirobaError(Reason.RATE_LIMITED, "too many login attempts; wait a minute")
        try:
            account_name = accounts.normalise_account_name(name)
        except ValidationError:
            account_name = ""
        stored = await self.store.account(account_name) if account_name else None
        account: StaffAccount = await self._off_loop(
            accounts.authenticate, stored, password, self.hasher
        )
        if self.hasher.needs_rehash(account.password_hash):
            # The only moment the password is known: an older hash (scrypt, or a lower
            # cost) becomes the current one. authenticate() succeeded, so it is a str.
            fresh = await self._off_loop(self.hasher.hash, password)
            await self.store.set_password_hash(account.name, fresh)
            log.info("staff %s: password re-hashed (argon2id)", account.name)
        session_id, session = sessions.new_session(account.name, now)
        await self.store.add_session(session)
        log.info("staff %s logged in", account.name)
        return session_id, StaffIdentity(session, account)

    async def identify_key(self, key: str, now: float) -> StaffIdentity:
        """The identity of a stored session, or ``session_expired``."""
        found = await self.store.session(key)
        session = sessions.check_session(found[0] if found else None, now)
        assert found is not None
        account = found[1]
        if account.disabled:
            raise PermissionDenied(Reason.SESSION_EXPIRED, "this account is disabled")
        touched = sessions.touch(session, now)
        if touched is not None:
            await self.store.touch_session(key, now)
            session = touched
        return StaffIdentity(session, account)

    async def identify(self, cookie_header: str | None, now: float) -> StaffIdentity:
        """The identity behind a ``Cookie`` header, or ``session_expired``."""
        session_id = session_id_from_cookies(cookie_header)
        if session_id is None:
            raise PermissionDenied(Reason.SESSION_EXPIRED, "log in first")
        return await self.identify_key(sessions.session_key(session_id), now)

    async def logout(self, identity: StaffIdentity) -> None:
        await self.store.delete_session(identity.session.key)
        log.info("staff %s logged out", identity.name)
