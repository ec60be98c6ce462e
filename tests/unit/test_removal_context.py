"""A removal is the person's, in the pure core: every seat of the device leaves, and an
active removal from the room counts as a ban in that room's policy context."""

from __future__ import annotations

import pytest

from moderation.meeting import Meeting
from moderation.roster import Left, MeetingRules
from moderation.sanctions import SanctionBook, SanctionKind
from moderation.wordfilter import WordFilter
from rooms.errors import HirobaError, Reason
from rooms.model import Role, RoomKind


def committee(book: SanctionBook) -> Meeting:
    m = Meeting("dx", RoomKind.COMMITTEE, book, WordFilter([]),
                MeetingRules(floor_limit=60, grace=5))
    m.join("staff", "事務局", Role.STAFF, 0, account="jimukyoku", device="d_s")
    for pid in ("tab1", "tab2"):  # two tabs of one member's browser
        m.join(pid, "佐藤委員", Role.MEMBER, 1, device="d_m")
        m.admit("staff", pid, 2)
    return m


def test_a_removal_drops_every_seat_of_the_device() -> None:
    m = committee(SanctionBook())
    events = m.remove("staff", "tab1", 3, reason="妨害")
    assert {(e.pid, e.cause) for e in events if isinstance(e, Left)} == {
        ("tab1", "removed"), ("tab2", "removed")}
    assert set(m.people) == {"staff"}


def test_an_active_removal_is_a_ban_in_the_policy_context() -> None:
    book = SanctionBook()
    m = committee(book)
    # A removal the ejection did not reach (recorded elsewhere, or racing a join).
    book.impose(SanctionKind.REMOVE, 3, room="dx", participant="tab1", device="d_m",
                by="jimukyoku", duration=600)
    for act in (lambda: m.chat_send("tab2", "まだいます", 4), lambda: m.raise_hand("tab2", 4)):
        with pytest.raises(HirobaError) as err:
            act()
        assert err.value.reason is Reason.BANNED
    # Another room's removal is not a ban here.
    other = Meeting("other", RoomKind.COMMITTEE, book, WordFilter([]), MeetingRules())
    other.join("s", "事務局", Role.STAFF, 0, account="jimukyoku")
    other.join("m", "佐藤委員", Role.MEMBER, 5, device="d_m")
    other.admit("s", "m", 6)
    other.chat_send("m", "こちらでは話せます", 7)
