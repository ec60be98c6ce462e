"""Staff accounts and their passwords.

How a password is hashed is a :class:`PasswordHasher`: the server's is argon2id
(``server/staff/passwords.py``, through argon2-cffi, which this pure package may not import);
this module keeps :class:`ScryptHasher`, the standard library's, which older installations
stored and which the server still verifies until it re-hashes such an account at its next
successful login (``needs_rehash``).

scrypt hashes are stored as a self-describing string ``scrypt$n$r$p$salt$hash`` (salt and
hash base64url, unpadded), so that the cost can be raised later: :func:`needs_rehash`
tells the server to re-hash at the next successful login.

Default cost: n = 2**14, r = 8, p = 1: 16 MiB of memory and ~65 ms on one core of our
2-core server (measured with ``hashlib.scrypt``; 2**15 takes ~130 ms). That bounds a
login burst at ~15 logins per second per core. OWASP suggests n = 2**17 where the
hardware allows it; raise :data:`DEFAULT_PARAMS` on a larger machine. Hashing blocks its
thread: the server runs it off the event loop.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Protocol

from rooms.errors import PermissionDenied, Reason, ValidationError

SALT_BYTES = 16
KEY_BYTES = 32
MIN_PASSWORD = 12
MAX_PASSWORD = 256
_ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")


@dataclass(frozen=True, slots=True)
class ScryptParams:
    n: int
    r: int
    p: int

    def valid(self) -> bool:
        """Within the bounds a stored hash may ask for (guards against a tampered string
        that would make verification take minutes or gigabytes)."""
        return (
            2**10 <= self.n <= 2**20 and self.n & (self.n - 1) == 0
            and 1 <= self.r <= 32 and 1 <= self.p <= 16 and 128 * self.n * self.r <= 2**28
        )


DEFAULT_PARAMS = ScryptParams(n=2**14, r=8, p=1)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, params: ScryptParams) -> bytes:
    # NFC so that the same password typed on two keyboards (composed or decomposed kana
    # voicing marks, accented letters) gives the same bytes.
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    return hashlib.scrypt(
        secret, salt=salt, n=params.n, r=params.r, p=params.p,
        maxmem=256 * params.n * params.r + 2**20, dklen=KEY_BYTES,
    )


def hash_password(password: str, *, params: ScryptParams = DEFAULT_PARAMS) -> str:
    """A new self-describing hash of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, params)
    return f"scrypt${params.n}${params.r}${params.p}${_b64(salt)}${_b64(key)}"


def _parse(encoded: str) -> tuple[ScryptParams, bytes, bytes] | None:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        params = ScryptParams(int(parts[1]), int(parts[2]), int(parts[3]))
        salt, key = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error):
        return None
    if not params.valid() or len(salt) < SALT_BYTES or len(key) != KEY_BYTES:
        return None
    return params, salt, key


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``; False for a malformed or tampered hash."""
    if len(password) > MAX_PASSWORD:
        return False
    parsed = _parse(encoded)
    if parsed is None:
        return False
    params, salt, key = parsed
    return hmac.compare_digest(_derive(password, salt, params), key)


def needs_rehash(encoded: str, params: ScryptParams = DEFAULT_PARAMS) -> bool:
    """Whether a stored hash uses other parameters than ``params`` (re-hash at login)."""
    parsed = _parse(encoded)
    return parsed is None or parsed[0] != params


class PasswordHasher(Hashable, Protocol):
    """Hashes new passwords and checks stored hashes. Every call may take tens of
    milliseconds of CPU and memory: the server runs them off the event loop. Hashable
    (a frozen dataclass of its parameters), so that each has one dummy hash."""

    def hash(self, password: str) -> str:
        """A new self-describing hash of ``password`` with a fresh random salt."""
        ...

    def verify(self, password: str, encoded: str) -> bool:
        """Whether ``password`` matches ``encoded``; False for a malformed or tampered hash."""
        ...

    def needs_rehash(self, encoded: str) -> bool:
        """Whether ``encoded`` should be replaced by a new :meth:`hash` at the next
        successful login (another algorithm, or other parameters)."""
        ...


@dataclass(frozen=True, slots=True)
class ScryptHasher:
    """scrypt with ``params``: the standard library's :class:`PasswordHasher`."""

    params: ScryptParams = DEFAULT_PARAMS

    def hash(self, password: str) -> str:
        return hash_password(password, params=self.params)

    def verify(self, password: str, encoded: str) -> bool:
        return verify_password(password, encoded)

    def needs_rehash(self, encoded: str) -> bool:
        return needs_rehash(encoded, self.params)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    # One per hasher: an unknown name must cost what a real account of that hasher costs.
    return hasher.hash(secrets.token_urlsafe(16))


def normalise_account_name(raw: object) -> str:
    """An account name: 1–32 of lowercase ASCII letters, digits, ``.``, ``_``, ``-``."""
    if not isinstance(raw, str) or not _ACCOUNT_NAME.fullmatch(raw.strip().lower()):
        raise ValidationError(
            Reason.BAD_NAME, "account names are 1-32 lowercase letters, digits, '.', '_', '-'"
        )
    return raw.strip().lower()


def check_new_password(password: object, account: str) -> str:
    """A password acceptable for a new or changed account, or ``ValidationError``."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationError(
            Reason.BAD_FIELD, f"passwords are {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )
    if account.casefold() in password.casefold() or len(set(password)) < 5:
        raise ValidationError(Reason.BAD_FIELD, "choose a password that is harder to guess")
    return password


#: Kinds of console account: ``staff`` (the secretariat, every staff right) and
#: ``signer`` (会議録署名: the chair or a signing member, who may only read and approve the
#: minutes' drafts naming them; no staff right at all).
STAFF_KIND = "staff"
SIGNER_KIND = "signer"
ACCOUNT_KINDS = (STAFF_KIND, SIGNER_KIND)


@dataclass(frozen=True, slots=True)
class StaffAccount:
    """A console account as stored (staff, or a signing account: :data:`ACCOUNT_KINDS`)."""

    name: str
    password_hash: str
    created_at: float
    display_name: str = ""
    disabled: bool = False
    kind: str = STAFF_KIND


def new_account(
    name: object, password: object, now: float, *, display_name: str = "",
    params: ScryptParams = DEFAULT_PARAMS, hasher: PasswordHasher | None = None,
    kind: str = STAFF_KIND,
) -> StaffAccount:
    """``hiroba staff add NAME [--role signer]``: a new account with a checked password,
    hashed by ``hasher`` (the server passes its argon2id; default: scrypt with ``params``)."""
    account = normalise_account_name(name)
    if kind not in ACCOUNT_KINDS:
        raise ValidationError(Reason.BAD_FIELD, f"an account is one of {ACCOUNT_KINDS}")
    hashed = (hasher or ScryptHasher(params)).hash(check_new_password(password, account))
    return StaffAccount(account, hashed, now, display_name or account, kind=kind)


def authenticate(
    account: StaffAccount | None, password: object, hasher: PasswordHasher | None = None
) -> StaffAccount:
    """The account if ``password`` is right (checked by ``hasher``, default scrypt), else
    ``bad_credentials``.

    An unknown or disabled account costs the same hash as a known one, so timing does not
    tell which account names exist.
    """
    checker = hasher or ScryptHasher()
    given = password if isinstance(password, str) else ""
    stored = account.password_hash if account is not None else _dummy_hash(checker)
    ok = checker.verify(given, stored)
    if account is None or account.disabled or not ok:
        raise PermissionDenied(Reason.BAD_CREDENTIALS, "wrong account name or password")
    return account
