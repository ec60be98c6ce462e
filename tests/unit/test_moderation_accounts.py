"""Staff accounts, sessions, invitations, registration codes and device tokens."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace

import pytest

from moderation import accounts, sessions
from moderation.accounts import ScryptParams
from moderation.credentials import (
    check_registration_code,
    is_device_token,
    new_device_token,
    new_registration_code,
    person_key,
)
from moderation.invitations import REVOKED, issue_invitation, redeem, revoke
from moderation.tokens import issue_token, verify_token
from rooms.errors import HirobaError, Reason
from rooms.model import Role

FAST = ScryptParams(n=2**10, r=8, p=1)
SECRET = b"k" * 64


def reason_of(fn, *args, **kwargs) -> Reason:  # type: ignore[no-untyped-def]
    with pytest.raises(HirobaError) as err:
        fn(*args, **kwargs)
    return err.value.reason


def test_hash_and_verify_with_default_cost() -> None:
    encoded = accounts.hash_password("correct horse battery")
    assert encoded.startswith("scrypt$16384$8$1$")
    assert accounts.verify_password("correct horse battery", encoded)
    assert not accounts.verify_password("correct horse batterY", encoded)
    assert not accounts.needs_rehash(encoded)
    # The cost is the work scrypt was asked for, not a stopwatch reading (which a busy
    # machine stretches): the stored key is scrypt's at the cost the string states, which
    # is memory-hard (128 * n * r bytes: 16 MiB) yet quick enough for a login (n * r * p
    # block mixes: 2**17, ~65 ms on one core of the 2-core server, moderation/accounts.py).
    _, n, r, p, salt, key = encoded.split("$")
    cost = ScryptParams(n=int(n), r=int(r), p=int(p))
    padded = salt + "=" * (-len(salt) % 4), key + "=" * (-len(key) % 4)
    assert hashlib.scrypt(
        b"correct horse battery", salt=base64.urlsafe_b64decode(padded[0]), n=cost.n,
        r=cost.r, p=cost.p, maxmem=2**26, dklen=32,
    ) == base64.urlsafe_b64decode(padded[1])
    assert 128 * cost.n * cost.r >= 16 * 2**20
    assert cost.n * cost.r * cost.p <= 2**17


def test_salts_differ_and_nfc_is_applied() -> None:
    a = accounts.hash_password("パスワードが長い", params=FAST)
    b = accounts.hash_password("パスワードが長い", params=FAST)
    assert a != b
    decomposed = "パスワードか\u3099長い"  # が typed as か + combining voiced mark
    assert accounts.verify_password(decomposed, a)


def test_tampered_hash_strings_are_refused() -> None:
    encoded = accounts.hash_password("a long password!", params=FAST)
    parts = encoded.split("$")
    flipped = parts[5][:-2] + ("AA" if not parts[5].endswith("AA") else "BB")
    variants = [
        "$".join([*parts[:5], flipped]),
        "$".join(["bcrypt", *parts[1:]]),
        "$".join([parts[0], str(2**24), *parts[2:]]),  # absurd cost
        "$".join([parts[0], "1000", *parts[2:]]),  # not a power of two
        "$".join([*parts[:4], "!!", parts[5]]),
        encoded + "$x",
        "",
    ]
    for bad in variants:
        assert not accounts.verify_password("a long password!", bad), bad
    assert accounts.needs_rehash(encoded)  # FAST is not the default
    assert accounts.needs_rehash("garbage")


def test_accounts_and_authentication() -> None:
    account = accounts.new_account(" Tanaka ", "kouen-no-benchi-2026", 0, params=FAST)
    assert account.name == "tanaka"
    assert accounts.authenticate(account, "kouen-no-benchi-2026") is account
    for acc, pw in ((account, "wrong password!!"), (None, "kouen-no-benchi-2026"),
                    (account, None)):
        assert reason_of(accounts.authenticate, acc, pw) is Reason.BAD_CREDENTIALS
    disabled = accounts.StaffAccount(account.name, account.password_hash, 0, disabled=True)
    assert reason_of(accounts.authenticate, disabled, "kouen-no-benchi-2026") is (
        Reason.BAD_CREDENTIALS
    )
    assert reason_of(accounts.new_account, "名前", "x" * 20, 0, params=FAST) is Reason.BAD_NAME
    assert reason_of(accounts.new_account, "ok", "short", 0, params=FAST) is Reason.BAD_FIELD
    assert reason_of(accounts.new_account, "ok", "aaaaaaaaaaaaaaa", 0) is Reason.BAD_FIELD
    assert reason_of(accounts.new_account, "suzuki", "suzuki-1234567", 0) is Reason.BAD_FIELD


def test_sessions_expire_when_idle_or_old() -> None:
    session_id, record = sessions.new_session("tanaka", 1000)
    assert record.key == sessions.session_key(session_id) and session_id not in record.key
    assert sessions.check_session(record, 1000 + 60) is record
    assert sessions.touch(record, 1010) is None
    touched = sessions.touch(record, 1000 + 3600)
    assert touched is not None and touched.last_seen == 4600
    idle = 1000 + sessions.IDLE_SECONDS
    assert reason_of(sessions.check_session, record, idle) is Reason.SESSION_EXPIRED
    assert sessions.check_session(touched, idle)
    # Kept busy, a session still ends at its absolute expiry.
    late = record.created_at + sessions.ABSOLUTE_SECONDS
    busy = replace(touched, last_seen=late - 1)
    assert reason_of(sessions.check_session, busy, late) is Reason.SESSION_EXPIRED
    assert reason_of(sessions.check_session, None, 0) is Reason.SESSION_EXPIRED
    assert sessions.new_session("a", 0)[0] != sessions.new_session("a", 0)[0]


def test_invitation_single_use() -> None:
    token, invitation = issue_invitation(SECRET, "dx", Role.MEMBER, "田中委員", 1000, 3600,
                                         issued_by="staff1")
    used: dict[str, str] = {}
    grant = redeem(SECRET, token, "dx", used, "d_phone", 1010)
    assert (grant.role, grant.name, grant.room) == (Role.MEMBER, "田中委員", "dx")
    assert grant.redemption is not None and grant.redemption.token_id == invitation.token_id
    used[grant.redemption.token_id] = grant.redemption.device
    again = redeem(SECRET, token, "dx", used, "d_phone", 1020)  # the same phone reloads
    assert again.redemption is None
    assert reason_of(redeem, SECRET, token, "dx", used, "d_other", 1030) is Reason.BAD_TOKEN


def test_invitation_forged_expired_revoked_or_misused() -> None:
    token, invitation = issue_invitation(SECRET, "dx", Role.CHAIR, None, 1000, 600,
                                         issued_by="s")
    body, sig = token.split(".")
    for args in (
        (b"x" * 64, token, "dx", 1001),  # forged: another secret
        (SECRET, body + "." + sig[::-1], "dx", 1001),  # tampered signature
        (SECRET, token, "other", 1001),  # another room
        (SECRET, token, "dx", 1600),  # expired
    ):
        assert reason_of(redeem, args[0], args[1], args[2], {}, "d", args[3]) is Reason.BAD_TOKEN
    revoked = revoke(invitation, 1002)
    assert revoked.device == REVOKED
    with pytest.raises(HirobaError) as err:
        redeem(SECRET, token, "dx", {revoked.token_id: REVOKED}, "d", 1003)
    assert "revoked" in err.value.message
    # An invitation is not a reusable role token, and a role token is no invitation.
    assert reason_of(verify_token, SECRET, token, "dx", 1001) is Reason.BAD_TOKEN
    role_token = issue_token(SECRET, "dx", Role.MEMBER, None, 1000, 600)
    assert reason_of(redeem, SECRET, role_token, "dx", {}, "d", 1001) is Reason.BAD_TOKEN


@pytest.mark.parametrize("role", [Role.STAFF, Role.CITIZEN])
def test_only_invitable_roles(role: Role) -> None:
    assert reason_of(issue_invitation, SECRET, "dx", role, None, 0, 600, issued_by="s") is (
        Reason.BAD_FIELD
    )


def test_invitation_ttl_bounds() -> None:
    for ttl in (10, 10**9):
        assert reason_of(issue_invitation, SECRET, "dx", Role.OBSERVER, None, 0, ttl,
                         issued_by="s") is Reason.BAD_FIELD


def test_registration_codes() -> None:
    code = new_registration_code()
    assert len(code) == 9 and code[4] == "-" and not set(code) & set("O0I1")
    check_registration_code(None, None)
    check_registration_code(code, code)
    check_registration_code("ABCD-EFGH", " abcd efgh ")
    check_registration_code("ABCD-EFGH", "ＡＢＣＤ－ＥＦＧＨ")
    assert reason_of(check_registration_code, "ABCD-EFGH", None) is Reason.CODE_REQUIRED
    assert reason_of(check_registration_code, "ABCD-EFGH", "ABCD-EFGX") is Reason.BAD_CODE
    assert reason_of(check_registration_code, "ABCD-EFGH", 12345678) is Reason.BAD_CODE
    assert reason_of(check_registration_code, "ABCD-EFGH", "A" * 1000) is Reason.BAD_CODE


def test_device_tokens_and_person_keys() -> None:
    token = new_device_token()
    assert is_device_token(token) and token != new_device_token()
    assert not is_device_token("d_short") and not is_device_token(None)
    key = person_key(account=None, device=token, participant="p1")
    assert key == person_key(account=None, device=token, participant="p2")
    assert token not in key
    assert key != person_key(account=None, device=None, participant="p1")
    assert person_key(account="a", device=token, participant="p") != key
