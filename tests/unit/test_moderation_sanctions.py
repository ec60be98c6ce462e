"""Sanctions: mute, removal and bans; expiry; device-token and account reach."""

from __future__ import annotations

import pytest

from moderation.sanctions import SanctionBook, SanctionKind
from rooms.errors import HirobaError, Reason


def reason_of(fn, *args, **kwargs) -> Reason:  # type: ignore[no-untyped-def]
    with pytest.raises(HirobaError) as err:
        fn(*args, **kwargs)
    return err.value.reason


def test_temporary_ban_by_device_expires() -> None:
    book = SanctionBook()
    event = book.impose(SanctionKind.BAN, 100, room="ignored", device="d_1", name="荒らし",
                        reason="spam", by="staff1", duration=3600)
    assert event.sanction.room is None and event.sanction.expires_at == 3700
    assert "d_1" not in repr(event.sanction)  # records hold a hash of the device token
    assert book.is_banned("d_1", None, 200)
    assert not book.is_banned("d_2", None, 200)
    assert reason_of(book.check_entry, "plaza", 200, device="d_1", account=None) is Reason.BANNED
    assert book.expire(3699) == []
    (expired,) = book.expire(3700)
    assert expired.sanction.id == event.sanction.id and book.expire(4000) == []
    assert not book.is_banned("d_1", None, 3700)
    book.check_entry("plaza", 3700, device="d_1", account=None)


def test_permanent_account_ban_and_lift() -> None:
    book = SanctionBook()
    record = book.impose(SanctionKind.BAN, 0, room=None, account="suzuki", by="operator").sanction
    assert book.is_banned(None, "suzuki", 10**9) and book.is_banned("d_any", "suzuki", 1)
    assert reason_of(book.impose, SanctionKind.BAN, 1, room=None, account="suzuki",
                     by="operator") is Reason.DUPLICATE
    lifted = book.lift(record.id, 50, by="operator").sanction
    assert lifted.lifted_at == 50 and not book.is_banned(None, "suzuki", 51)
    assert reason_of(book.lift, record.id, 52, by="x") is Reason.WRONG_STATE
    assert reason_of(book.lift, 99, 52, by="x") is Reason.NO_SUCH_ITEM
    assert book.expire(10**9) == []  # lifted sanctions are not announced as expired


def test_removal_is_per_room_and_mute_may_reach_a_connection() -> None:
    book = SanctionBook()
    book.impose(SanctionKind.REMOVE, 0, room="dx", device="d_1", by="chair", duration=600)
    assert reason_of(book.check_entry, "dx", 1, device="d_1", account=None) is Reason.BANNED
    book.check_entry("plaza", 1, device="d_1", account=None)
    book.check_entry("dx", 600, device="d_1", account=None)
    book.impose(SanctionKind.MUTE, 0, room="dx", participant="p_1", by="chair")
    assert book.is_muted("dx", 5, participant="p_1")
    assert not book.is_muted("plaza", 5, participant="p_1")
    assert not book.is_muted("dx", 5, participant="p_2")


@pytest.mark.parametrize(
    ("kind", "kwargs"),
    [
        (SanctionKind.BAN, {"participant": "p_1"}),  # would not outlast a reconnect
        (SanctionKind.REMOVE, {"participant": "p_1", "room": "dx"}),
        (SanctionKind.MUTE, {"room": None, "device": "d"}),
        (SanctionKind.BAN, {"device": "d", "duration": 0}),
        (SanctionKind.BAN, {"device": "d", "duration": 10**12}),
    ],
)
def test_bad_sanctions(kind: SanctionKind, kwargs: dict) -> None:
    args = {"room": None, "by": "s", **kwargs}
    assert reason_of(SanctionBook().impose, kind, 0, **args) is Reason.BAD_FIELD


def test_records_round_trip_and_ids_continue() -> None:
    book = SanctionBook()
    book.impose(SanctionKind.BAN, 0, room=None, device="d_1", by="s", duration=10)
    book.impose(SanctionKind.MUTE, 0, room="dx", participant="p", by="s")
    second = book.impose(SanctionKind.REMOVE, 0, room="dx", account="a", by="s").sanction
    book.lift(second.id, 5, by="s")
    again = SanctionBook.from_records(book.to_records(), now=20)
    assert again.to_records() == book.to_records()
    assert again.expire(30) == []  # ended before the restart: not announced again
    assert again.active(20, room="dx")[0].kind == "mute"
    assert again.impose(SanctionKind.BAN, 30, room=None, device="d_2", by="s").sanction.id == 4
