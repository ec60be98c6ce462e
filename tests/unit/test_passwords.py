"""Staff password hashing: argon2id for new hashes, scrypt still verified and replaced."""

from __future__ import annotations

import time

import argon2
import pytest

from moderation import accounts
from moderation.accounts import ScryptHasher, ScryptParams
from rooms.errors import HirobaError, Reason
from server.staff.passwords import STAFF_HASHER, Argon2idHasher

PASSWORD = "kouen-no-benchi-2026"
FAST_SCRYPT = ScryptParams(n=2**10, r=8, p=1)


def test_new_hashes_are_argon2id_with_the_chosen_cost() -> None:
    encoded = STAFF_HASHER.hash(PASSWORD)
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert STAFF_HASHER.verify(PASSWORD, encoded)
    assert not STAFF_HASHER.verify(PASSWORD + "!", encoded)
    assert not STAFF_HASHER.needs_rehash(encoded)
    assert STAFF_HASHER.hash(PASSWORD) != encoded  # a fresh salt each time


def test_the_same_password_typed_decomposed_still_matches() -> None:
    encoded = STAFF_HASHER.hash("パスワードが長い")
    assert STAFF_HASHER.verify("パスワードか\u3099長い", encoded)  # が as か + voiced mark


def test_scrypt_hashes_still_verify_and_ask_to_be_replaced() -> None:
    encoded = accounts.hash_password(PASSWORD, params=FAST_SCRYPT)
    assert STAFF_HASHER.verify(PASSWORD, encoded)
    assert not STAFF_HASHER.verify("wrong password!!", encoded)
    assert STAFF_HASHER.needs_rehash(encoded)


def test_a_lower_argon2_cost_asks_to_be_replaced() -> None:
    cheaper = Argon2idHasher(time_cost=1, memory_kib=8 * 1024).hash(PASSWORD)
    assert STAFF_HASHER.verify(PASSWORD, cheaper)  # the cost is in the hash
    assert STAFF_HASHER.needs_rehash(cheaper)


def test_bad_and_tampered_hashes_are_refused_untried() -> None:
    encoded = STAFF_HASHER.hash(PASSWORD)
    *_, salt, digest = encoded.split("$")
    greedy = f"$argon2id$v=19$m={4 * 1024 * 1024},t=1,p=1${salt}${digest}"  # 4 GiB a try
    started = time.perf_counter()
    assert not STAFF_HASHER.verify(PASSWORD, greedy)
    assert time.perf_counter() - started < 0.5  # refused before any hashing
    argon2i = argon2.PasswordHasher(type=argon2.Type.I, memory_cost=8192).hash(PASSWORD)
    flipped = encoded[:-4] + ("AAAA" if not encoded.endswith("AAAA") else "BBBB")
    for bad in (greedy, argon2i, flipped, encoded + "$x", "", "garbage", "bcrypt$x"):
        assert not STAFF_HASHER.verify(PASSWORD, bad), bad
        # Another algorithm or cost would be replaced (were it ever to verify).
        assert STAFF_HASHER.needs_rehash(bad) is (bad != flipped), bad
    assert not STAFF_HASHER.verify("x" * (accounts.MAX_PASSWORD + 1), encoded)


def test_authenticate_through_a_hasher() -> None:
    account = accounts.new_account("tanaka", PASSWORD, 0, hasher=STAFF_HASHER)
    assert account.password_hash.startswith("$argon2id$")
    assert accounts.authenticate(account, PASSWORD, STAFF_HASHER) is account
    old = accounts.new_account("suzuki", PASSWORD, 0, hasher=ScryptHasher(FAST_SCRYPT))
    assert accounts.authenticate(old, PASSWORD, STAFF_HASHER) is old
    for acc, given in ((account, "wrong password!!"), (None, PASSWORD), (old, None)):
        with pytest.raises(HirobaError) as err:
            accounts.authenticate(acc, given, STAFF_HASHER)
        assert err.value.reason is Reason.BAD_CREDENTIALS
