"""Staff login: passwords checked off the event loop, session cookies, CSRF tokens.

Passwords are argon2id (:mod:`server.staff.passwords`); a scrypt hash of an older installation is
checked as it is and replaced by argon2id at that account's next successful login.

The session cookie (:data:`COOKIE`) is HttpOnly, SameSite=Strict, Secure over TLS, and
holds a random id whose SHA-256 alone is stored. State-changing HTTP calls must carry
the header :data:`CSRF_HEADER` with the session's CSRF token (an HMAC of the session key
under the installation secret, given to the page by ``POST /api/login`` and
``GET /api/session``) and, when the browser sends one, an ``Origin`` equal to the page's
own: a synchroniser token plus an origin check.

Password guessing is slowed twice: per client address (a token bucket) and per account
(:class:`AccountBackoff`), so that many addresses guessing at one account gain nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import TypeVar

from moderation import accounts, sessions
from moderation.accounts import SIGNER_KIND, PasswordHasher, StaffAccount
from moderation.rate_limit import KeyedBuckets
from moderation.sessions import StaffSession
from rooms.errors import HirobaError, PermissionDenied, Reason, ValidationError
from server.staff.passwords import STAFF_HASHER
from server.staff.store import StaffStore

log = logging.getLogger(__name__)
T = TypeVar("T")

COOKIE = "hiroba_session"
CSRF_HEADER = "X-CSRF-Token"
#: Password checks and re-hashes running at once, at most (argon2id: ~50 ms and 19 MiB
#: each; a scrypt account's last check: ~65 ms and 16 MiB).
CONCURRENT_HASHES = 2
#: Account names whose failures :class:`AccountBackoff` keeps at most: names are the
#: attacker's to choose, so memory must not grow with them.
MAX_TRACKED_ACCOUNTS = 10_000


@dataclass(slots=True)
class _Failures:
    count: int = 0
    last: float = 0.0
    #: Logins of the account are refused until then.
    until: float = 0.0
    #: This burst was logged already (once per burst).
    warned: bool = False


@dataclass
class AccountBackoff:
    """Per-account back-off of staff logins, whatever address they come from.

    After ``failures`` wrong passwords in a row (a success, or ``window`` seconds without a
    failure, starts again), each further one shuts the account's logins for 1 s, then 2,
    4, ... up to ``max_seconds``; attempts then are refused before any password check.
    Unknown account names are counted the same way, so the answers do not tell which
    accounts exist. Kept in this process's memory: in a cluster each node counts its own.
    """

    failures: int
    max_seconds: float
    window: float
    _by_name: dict[str, _Failures] = field(default_factory=dict)
    #: Back-off bursts begun and attempts refused during one, since the start (metrics).
    bursts: int = 0
    refused: int = 0

    def retry_after(self, name: str, now: float) -> float:
        """Seconds until ``name`` may try again (0: now), counting a refusal if not 0."""
        entry = self._by_name.get(name)
        if entry is None or now >= entry.until:
            return 0.0
        self.refused += 1
        return entry.until - now

    def failed(self, name: str, now: float) -> bool:
        """Count a wrong password for ``name``; True when this begins a burst's back-off
        (the moment to warn, once)."""
        entry = self._by_name.get(name)
        if entry is None or now - entry.last > self.window:
            entry = self._by_name[name] = _Failures()
            self._bound(now)
        entry.count += 1
        entry.last = now
        if entry.count < self.failures:
            return False
        entry.until = now + min(self.max_seconds, 2.0 ** (entry.count - self.failures))
        if entry.warned:
            return False
        entry.warned = True
        self.bursts += 1
        return True

    def succeeded(self, name: str) -> None:
        self._by_name.pop(name, None)

    def backed_off(self, now: float) -> int:
        """Accounts whose logins are refused at ``now``."""
        return sum(1 for e in self._by_name.values() if now < e.until)

    def _bound(self, now: float) -> None:
        if len(self._by_name) <= MAX_TRACKED_ACCOUNTS:
            return
        for name in [n for n, e in self._by_name.items() if now - e.last > self.window]:
            del self._by_name[name]
        while len(self._by_name) > MAX_TRACKED_ACCOUNTS:  # the oldest burst goes first
            del self._by_name[min(self._by_name, key=lambda n: self._by_name[n].last)]


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

    @property
    def is_signer(self) -> bool:
        """A signing account (会議録署名): no staff right, only the minutes naming it."""
        return self.account.kind == SIGNER_KIND


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
        hasher: PasswordHasher = STAFF_HASHER, backoff: AccountBackoff | None = None,
    ) -> None:
        self.store = store
        self.secret = secret
        self.hasher = hasher
        self.attempts = KeyedBuckets(attempts_per_minute / 60.0, max(1.0, attempts_per_minute))
        self.backoff = backoff or AccountBackoff(5, 900.0, 1800.0)
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
        # Before any password check: while backed off, even the right password waits.
        wait = self.backoff.retry_after(account_name, now) if account_name else 0.0
        if wait:
            raise HirobaError(Reason.RATE_LIMITED, f"too many wrong passwords for this account; "
                              f"try again in {max(1, round(wait))} s")
        stored = await self.store.account(account_name) if account_name else None
        try:
            account: StaffAccount = await self._off_loop(
                accounts.authenticate, stored, password, self.hasher
            )
        except PermissionDenied:
            if account_name and self.backoff.failed(account_name, now):
                log.warning("staff login: %d wrong passwords in a row for account %r; its "
                            "logins are backed off (client %s)", self.backoff.failures,
                            account_name, client)
            raise
        self.backoff.succeeded(account_name)
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

    async def identify_key(
        self, key: str, now: float, *, signer_ok: bool = False
    ) -> StaffIdentity:
        """The identity of a stored session, or ``session_expired``. A signing account is
        refused (``forbidden``) unless ``signer_ok``: every staff entry point (console
        calls, staff sockets) asks without it, so a signer holds no staff right by
        default; only the session calls and the minutes-approval routes let it in."""
        found = await self.store.session(key)
        session = sessions.check_session(found[0] if found else None, now)
        assert found is not None
        account = found[1]
        if account.disabled:
            raise PermissionDenied(Reason.SESSION_EXPIRED, "this account is disabled")
        if account.kind == SIGNER_KIND and not signer_ok:
            raise PermissionDenied(Reason.FORBIDDEN, "a signing account may only approve "
                                   "the minutes naming it")
        touched = sessions.touch(session, now)
        if touched is not None:
            await self.store.touch_session(key, now)
            session = touched
        return StaffIdentity(session, account)

    async def identify(
        self, cookie_header: str | None, now: float, *, signer_ok: bool = False
    ) -> StaffIdentity:
        """The identity behind a ``Cookie`` header, or ``session_expired`` (a signing
        account: ``forbidden`` unless ``signer_ok``, see :meth:`identify_key`)."""
        session_id = session_id_from_cookies(cookie_header)
        if session_id is None:
            raise PermissionDenied(Reason.SESSION_EXPIRED, "log in first")
        return await self.identify_key(sessions.session_key(session_id), now,
                                       signer_ok=signer_ok)

    async def logout(self, identity: StaffIdentity) -> None:
        await self.store.delete_session(identity.session.key)
        log.info("staff %s logged out", identity.name)
