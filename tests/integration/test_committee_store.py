"""What a committee stores for its hottest changes, on a real SQLite store: a ballot (a hand
raised, then lowered) is its own small row, not a rewrite of the whole record, and reads
back; gallery visitors are their own rows, and their counts and keys read back (issue 19:
thousands watching one committee)."""

from __future__ import annotations

from pathlib import Path

from moderation.committee import Committee
from moderation.events import DomainEvent
from moderation.meeting import Meeting
from moderation.sanctions import SanctionBook
from moderation.wordfilter import WordFilter
from rooms.model import Role, RoomKind
from server.meetings.store import MeetingStore, writes_for
from server.storage.store import SQLiteStore

SEATS = ("m:chair", "m:a", "m:b")


def sitting() -> tuple[Meeting, int, list[DomainEvent]]:
    """A committee with a quorum and a show of hands open; its vote id and events."""
    m = Meeting("dx", RoomKind.COMMITTEE, SanctionBook(), WordFilter([]))
    c = m.committee
    events = c.set_roster([(s, s[2:], "chair" if s == "m:chair" else "member")
                           for s in SEATS], 1.0)
    for i, seat in enumerate(SEATS):
        events += c.arrive(seat, f"p{i}", 1.0)
    events += c.open_rollcall(True, 2.0, by="staff")
    for seat in SEATS:
        events += c.answer(seat, 3.0)
        events += c.verify(seat, "video", None, 4.0, by="staff")
    events += c.open_rollcall(False, 5.0, by="staff")
    events += c.propose("議案", 6.0, by="chair")
    opened = c.open_vote(1, "hands", 7.0, by="chair")
    return m, int(opened[0].vote), [*events, *opened]  # type: ignore[attr-defined]


async def loaded(records: MeetingStore) -> Committee:
    back = await records.load("dx")
    return Committee.from_record("dx", back.committee)


async def test_ballots_and_gallery_visits_are_small_rows(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "hiroba.db")
    await store.open()
    try:
        records = MeetingStore(store)
        m, vote, events = sitting()
        await records.apply(writes_for(m, events))
        for choice, at in (("yes", 8.0), ("none", 9.0), ("yes", 10.0)):
            writes = writes_for(m, m.committee.cast("m:a", vote, choice, at))
            assert not any("committees" in sql for sql, _ in writes), "the record rewritten"
            await records.apply(writes)
            assert dict((await loaded(records)).votes[vote].choices) == {"m:a": choice}

        for i in range(5):
            happened = m.join(f"g{i}", "傍聴", Role.CITIZEN, 11.0, device=f"dv{i % 4}",
                              gallery=True)
            writes = writes_for(m, happened)
            assert not any("committees" in sql for sql, _ in writes), "the record rewritten"
            await records.apply(writes)
        await records.apply(writes_for(m, m.leave("g0", 12.0)))
        back = await loaded(records)
        # Five joins from four devices: at most five at once, four people in all.
        assert (back.gallery_peak, back.gallery_total) == (5, 4)
        back.arrive(None, "g9", 13.0, gallery_key=next(iter(back.gallery_keys)))
        assert back.gallery_total == 4, "a visitor seen before the restart is not new"
    finally:
        await store.close()
