"""Staff passwords: argon2id (argon2-cffi) for every new hash, scrypt still understood.

Installations from before argon2id stored scrypt hashes (``scrypt$…``,
:mod:`moderation.accounts`). :class:`Argon2idHasher` verifies both, and says a scrypt hash
needs re-hashing, so :meth:`server.staff.auth.StaffAuth.login` replaces it with argon2id at
that account's next successful login, the only moment the password is known. Nothing else
has to migrate: an account that never logs in again keeps a scrypt hash that still works.

Cost: OWASP's first argon2id configuration, m = 19 MiB, t = 2, p = 1: ~50 ms on one core of
our 2-core server (measured with argon2-cffi 25.1, like scrypt's ~65 ms before), so two
concurrent logins (``CONCURRENT_HASHES``) hold ~38 MiB. Raise it on a larger machine: a
changed cost is itself a reason to re-hash at the next login. Hashing and verifying block
their thread for that long: the server calls them in an executor.

A stored hash names its own cost, so a tampered database row could ask for gigabytes or
minutes per attempt; hashes beyond :data:`LIMITS` are refused without being tried.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from moderation import accounts

ARGON2ID_PREFIX = "$argon2id$"
SCRYPT_PREFIX = "scrypt$"


@dataclass(frozen=True, slots=True)
class Limits:
    """The most a stored argon2id hash may ask for before it is refused untried."""

    memory_kib: int = 256 * 1024
    time_cost: int = 10
    parallelism: int = 8


LIMITS = Limits()


def _nfc(password: str) -> str:
    # As for scrypt: the same password typed on two keyboards (composed or decomposed kana
    # voicing marks, accented letters) must give the same bytes.
    return unicodedata.normalize("NFC", password)


@functools.cache
def _argon2(time_cost: int, memory_kib: int, parallelism: int) -> argon2.PasswordHasher:
    return argon2.PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
        hash_len=32, salt_len=16, type=argon2.Type.ID,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Argon2idHasher:
    """argon2id with these parameters for new hashes; verifies argon2id and scrypt."""

    time_cost: int = 2
    memory_kib: int = 19 * 1024
    parallelism: int = 1

    @property
    def _hasher(self) -> argon2.PasswordHasher:
        return _argon2(self.time_cost, self.memory_kib, self.parallelism)

    def hash(self, password: str) -> str:
        return self._hasher.hash(_nfc(password))

    def verify(self, password: str, encoded: str) -> bool:
        if len(password) > accounts.MAX_PASSWORD:
            return False
        if encoded.startswith(SCRYPT_PREFIX):
            return accounts.verify_password(password, encoded)
        if not encoded.startswith(ARGON2ID_PREFIX):
            return False
        try:
            params = argon2.extract_parameters(encoded)
        except InvalidHashError:
            return False
        if (params.memory_cost > LIMITS.memory_kib or params.time_cost > LIMITS.time_cost
                or params.parallelism > LIMITS.parallelism):
            return False
        try:
            return self._hasher.verify(encoded, _nfc(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        if not encoded.startswith(ARGON2ID_PREFIX):
            return True  # scrypt (or anything else): replaced by argon2id at next login
        try:
            return self._hasher.check_needs_rehash(encoded)
        except InvalidHashError:
            return True


#: The server's hasher: every new staff password, and every re-hash at login.
STAFF_HASHER = Argon2idHasher()
