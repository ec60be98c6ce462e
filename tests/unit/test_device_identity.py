"""Device identities are issued and signed by the server, and issued sparingly per address
(issue 14, finding 2): the pure parts in moderation/credentials.py and rate_limit.py."""

from __future__ import annotations

import pytest

from moderation.credentials import (
    DeviceMinter,
    MintRefused,
    ResidentCodes,
    check_device_identity,
    is_device_token,
    issue_device_identity,
    new_device_token,
    new_resident_code,
    person_key,
    resident_code_hash,
)
from moderation.rate_limit import KeyedBuckets, MinuteCounts
from moderation.tokens import verify_token
from rooms.errors import HirobaError, PermissionDenied, Reason
from server.observe.metrics import device_families, render

SECRET = b"s" * 32
OTHER = b"o" * 32


def test_an_issued_identity_is_signed_and_fits_the_join_field() -> None:
    device = issue_device_identity(SECRET)
    assert is_device_token(device) and len(device) <= 64
    assert check_device_identity(SECRET, device)
    assert issue_device_identity(SECRET) != device


def test_forged_or_foreign_identities_are_refused() -> None:
    device = issue_device_identity(SECRET)
    ident, signature = device.split(".")[1:]
    forged = [
        f"dv.{ident}.{'A' * 32}",                          # a made-up signature
        f"dv.{'B' * 16}.{signature}",                      # a signature moved to another id
        issue_device_identity(OTHER),                      # another server's secret
    ]
    for text in forged:
        with pytest.raises(PermissionDenied) as refused:
            check_device_identity(SECRET, text)
        assert refused.value.reason is Reason.BAD_DEVICE, text


def test_an_old_unsigned_token_is_not_refused_but_not_trusted() -> None:
    assert check_device_identity(SECRET, new_device_token()) is False
    assert check_device_identity(SECRET, None) is False


def test_an_identity_is_not_a_role_token() -> None:
    with pytest.raises(HirobaError):
        verify_token(SECRET, issue_device_identity(SECRET), "plaza", 0.0)


def test_one_address_is_issued_only_its_allowance_then_told_when_to_come_back() -> None:
    minter = DeviceMinter(per_window=3, window=600.0)
    got = [minter.identify(SECRET, new_device_token(), "198.51.100.7", "plaza", 0.0)
           for _ in range(3)]
    assert all(minted for _, minted in got) and len({d for d, _ in got}) == 3
    with pytest.raises(MintRefused) as refused:
        minter.identify(SECRET, None, "198.51.100.7", "plaza", 1.0)
    ack = refused.value.to_ack()
    assert ack["reason"] == "rate_limited" and ack["retry_after"] == 199  # 600/3 - 1 s
    # A kept identity needs no new one; another address has its own allowance; an
    # unlimited peer (loopback, another node's socket) is not counted.
    assert minter.identify(SECRET, got[0][0], "198.51.100.7", "plaza", 1.0) == (got[0][0], False)
    assert minter.identify(SECRET, None, "198.51.100.8", "plaza", 1.0)[1]
    assert minter.identify(SECRET, None, None, "plaza", 1.0)[1]
    assert minter.refused == 1 and minter.minted == 5
    # The allowance comes back with time.
    assert minter.identify(SECRET, None, "198.51.100.7", "plaza", 201.0)[1]


def test_rotating_identities_are_different_people() -> None:
    # (why the allowance matters: each identity is one person for ballots and limits)
    a, b = issue_device_identity(SECRET), issue_device_identity(SECRET)
    assert person_key(account=None, device=a, participant="p") != person_key(
        account=None, device=b, participant="p")


def test_a_surge_is_reported_once_per_burst() -> None:
    minter = DeviceMinter(per_window=0, window=600.0, surge_per_minute=3)
    reports = []
    for t in range(8):
        minter.identify(SECRET, None, "192.0.2.1", "plaza", float(t))
        reports.append(minter.surging("plaza", float(t)))
    assert reports == [0, 0, 3, 0, 0, 0, 0, 0]
    assert minter.per_room.current("plaza", 7.0) == 8
    assert minter.per_room.current("plaza", 70.0) == 0
    minter.identify(SECRET, None, None, "plaza", 100.0)
    minter.identify(SECRET, None, None, "plaza", 100.5)
    minter.identify(SECRET, None, None, "plaza", 101.0)
    assert minter.surging("plaza", 101.0) == 3  # a new burst, a minute later
    text = render(device_families(minter))
    assert 'hiroba_device_identities_minted_total{room="plaza"} 11' in text


def test_minute_counts_slide() -> None:
    counts = MinuteCounts()
    assert [counts.add("r", t) for t in (0.0, 30.0, 59.0, 61.0)] == [1, 2, 3, 3]
    assert counts.totals["r"] == 4


def test_retry_after_is_the_time_to_the_next_token() -> None:
    buckets = KeyedBuckets(rate=0.5, burst=1.0)
    assert buckets.retry_after("k", 0.0) == 0.0
    assert buckets.allow("k", 0.0) and not buckets.allow("k", 0.5)
    assert buckets.retry_after("k", 0.5) == pytest.approx(1.5)


def test_a_resident_code_belongs_to_the_first_identity_that_uses_it() -> None:
    codes = ResidentCodes("park")
    code = new_resident_code()
    codes.add(resident_code_hash("park", code))
    with pytest.raises(PermissionDenied) as missing:
        codes.admit(None, "h_a")
    assert missing.value.reason is Reason.CODE_REQUIRED
    assert codes.admit(code.lower(), "h_a") == resident_code_hash("park", code)
    assert codes.admit(None, "h_a") is None  # its owner needs it no more
    for other in (code, "ABCD-EFGH-JKLM"):  # used by another identity, or unknown: alike
        with pytest.raises(PermissionDenied) as refused:
            codes.admit(other, "h_b")
        assert refused.value.reason is Reason.BAD_CODE
    assert codes.unused == 0
    # A code of one room is nothing in another.
    assert resident_code_hash("park", code) != resident_code_hash("hall", code)
