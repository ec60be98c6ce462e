"""A meeting end to end, in the pure core: committee and consultation flows, the policy
enforced on every operation, speakers for the audio plane, records and the audit log."""

from __future__ import annotations

import csv
import io
import json

import pytest

from moderation import audit
from moderation.audit import AuditEntry
from moderation.captions import Captions
from moderation.chat import ChatPosted
from moderation.floor import AutoMuted, FloorExpired, FloorGiven
from moderation.lobby import LobbyEntered, LobbyLeft, Place, placement
from moderation.meeting import Meeting, MeetingRecords, authorize_account
from moderation.policy import Action
from moderation.roster import Joined, Left, MeetingRules, PlaceChanged
from moderation.sanctions import SanctionBook, SanctionImposed
from moderation.wordfilter import WordFilter
from rooms.errors import HirobaError, Reason
from rooms.model import Role, RoomKind

WORDS = WordFilter(["しね*", "fuck*"])


def reason_of(fn, *args, **kwargs) -> Reason:  # type: ignore[no-untyped-def]
    with pytest.raises(HirobaError) as err:
        fn(*args, **kwargs)
    return err.value.reason


def of(events: list, kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


def committee(book: SanctionBook | None = None) -> Meeting:
    m = Meeting("dx", RoomKind.COMMITTEE, book or SanctionBook(), WORDS,
                MeetingRules(floor_limit=60, grace=5))
    m.join("staff", "事務局", Role.STAFF, 0, account="jimukyoku", device="d_s")
    m.join("chair", "委員長", Role.CHAIR, 0, device="d_c")
    return m


def test_committee_meeting_flow() -> None:
    m = committee()
    events = m.join("mem", "田中委員", Role.MEMBER, 1, device="d_m")
    assert of(events, Joined)[0].person.place == "lobby" and of(events, LobbyEntered)
    assert reason_of(m.chat_send, "mem", "hello", 2) is Reason.IN_LOBBY
    assert reason_of(m.admit, "chair", "mem", 2) is Reason.FORBIDDEN  # staff admit
    events = m.admit("staff", "mem", 3)
    assert of(events, LobbyLeft)[0].outcome == "admitted"
    assert of(events, PlaceChanged)[0].place == "room"
    assert of(events, AuditEntry)[0].actor == "jimukyoku"

    m.join("cit", "さくら", Role.CITIZEN, 4, device="d_1")
    m.admit("staff", "cit", 5)
    m.agenda_add("chair", "議題1", 600, 6)
    m.agenda_advance("chair", 10)
    assert m.agenda.current is not None and m.agenda.current.title == "議題1"

    m.raise_hand("cit", 20)
    m.raise_hand("mem", 21)  # members raise hands in committee rooms
    assert m.floor.queue == ("cit", "mem")
    assert reason_of(m.give_floor, "cit", 22) is Reason.FORBIDDEN
    events = m.give_floor("chair", 22, limit=30)
    assert of(events, FloorGiven)[0].pid == "cit"
    assert m.speakers(23) == {"cit", "chair", "staff"}
    assert of(m.tick(52), FloorExpired)
    tick = m.tick(57)
    assert of(tick, AutoMuted)[0].pid == "cit"
    assert m.speakers(58) == {"chair", "staff"} and m.floor.spoken("cit") == 35

    m.join("troll", "荒らし", Role.CITIZEN, 60, device="d_troll")
    m.admit("staff", "troll", 61)
    events = m.remove("staff", "troll", 62, reason="不規則発言")
    assert of(events, SanctionImposed) and of(events, Left)[0].cause == "removed"
    assert "troll" not in m.people
    assert reason_of(m.join, "troll2", "荒らし", Role.CITIZEN, 63, device="d_troll") is (
        Reason.BANNED
    )


def test_consultation_flow_and_export() -> None:
    m = Meeting("park", RoomKind.CONSULTATION, SanctionBook(), WORDS,
                MeetingRules(categories=("公園",), registration_code="ABCD-EFGH"))
    m.join("staff", "事務局", Role.STAFF, 0, account="jimu", console=True)
    assert reason_of(m.join, "a", "A", Role.CITIZEN, 1, device="d_a") is Reason.CODE_REQUIRED
    assert reason_of(m.join, "a", "A", Role.CITIZEN, 1, device="d_a", code="x") is (
        Reason.BAD_CODE
    )
    for pid in ("a", "b", "c"):
        events = m.join(pid, pid.upper(), Role.CITIZEN, 1, device=f"d_{pid}", code="abcdefgh")
        assert of(events, Joined)[0].person.place == "room"  # consultations have no lobby
    (submitted,) = m.opinion_submit("a", "公園", "ベンチを増やして", 2)
    assert submitted.opinion.id == 1
    m.opinion_support("b", 1, 3)
    assert reason_of(m.opinion_support, "b", 1, 4) is Reason.DUPLICATE
    # Reconnecting under a new participant id is still the same person.
    m.leave("b", 5)
    m.join("b2", "B", Role.CITIZEN, 6, device="d_b", code="ABCD-EFGH")
    assert reason_of(m.opinion_support, "b2", 1, 7) is Reason.DUPLICATE
    m.opinion_mark("staff", 1, "under_review", 8)

    m.poll_create("staff", "どちらが良い?", ["A", "B"], 10)
    m.poll_vote("a", 1, [0], 11)
    m.poll_vote("c", 1, [1], 11)
    m.poll_vote("b2", 1, [1], 11)
    m.poll_close("staff", 1, 12)
    assert reason_of(m.poll_vote, "a", 1, [1], 13) is Reason.WRONG_STATE
    assert reason_of(m.authorize, "a", Action.POLL_EXPORT, 14) is Reason.FORBIDDEN
    (entry,) = m.authorize("staff", Action.POLL_EXPORT, 14, details={"poll": 1})
    assert isinstance(entry, AuditEntry) and entry.action == "poll.export"
    rows = list(csv.reader(io.StringIO(m.polls.export_csv(1))))
    assert [r[4] for r in rows[1:]] == ["1", "2"]
    assert m.speakers(15) == frozenset()  # a console is not an avatar


def test_citizens_cannot_run_the_meeting() -> None:
    m = committee()
    m.join("cit", "さくら", Role.CITIZEN, 1, device="d_1")
    m.admit("staff", "cit", 1)
    m.join("mem", "委員", Role.MEMBER, 1, device="d_m")
    m.admit("staff", "mem", 1)
    for call in (
        lambda: m.give_floor("cit", 2, "cit"),
        lambda: m.agenda_add("cit", "x", 0, 2),
        lambda: m.mute("cit", "mem", 2),
        lambda: m.chat_hide("cit", 1, 2),
        lambda: m.poll_create("cit", "q", ["a", "b"], 2),
        lambda: m.caption_post("cit", "x", 2),
        lambda: m.lower_hand("cit", 2, target="mem"),
        lambda: m.authorize("cit", Action.DATA_EXPORT, 2),
        lambda: m.admit("mem", "cit", 2),
    ):
        assert reason_of(call) is Reason.FORBIDDEN
    assert reason_of(m.chat_send, "ghost", "x", 2) is Reason.NOT_JOINED


def test_rank_mute_and_floor_eligibility() -> None:
    m = committee()
    m.join("obs", "記者", Role.OBSERVER, 1, device="d_o")
    m.join("cap", "要約筆記", Role.CAPTIONER, 1, device="d_cap")
    assert m.people["obs"].place is Place.GALLERY and m.people["cap"].place is Place.ROOM
    assert reason_of(m.remove, "chair", "staff", 2) is Reason.PROTECTED_TARGET
    assert reason_of(m.give_floor, "chair", 2, "obs") is Reason.FORBIDDEN
    m.join("mem", "委員", Role.MEMBER, 2, device="d_m")
    m.admit("staff", "mem", 2)
    m.give_floor("chair", 3, "mem", unlimited=True)
    events = m.mute("chair", "mem", 4, reason="発言中断")
    assert m.floor.holder is None and of(events, SanctionImposed)
    assert reason_of(m.raise_hand, "mem", 5) is Reason.MUTED
    assert reason_of(m.chat_send, "mem", "x", 5) is Reason.MUTED
    assert reason_of(m.give_floor, "chair", 5, "mem") is Reason.MUTED
    m.unmute("chair", "mem", 6)
    m.raise_hand("mem", 7)
    assert m.caption_post("cap", "ただいまより開会します", 8)
    (fixed,) = m.caption_correct("cap", "ただいまから開会します", 9)
    assert fixed.line.text.startswith("ただいまから")


def test_chair_mute_is_temporary_and_speakers_drop_muted() -> None:
    book = SanctionBook()
    m = committee(book)
    m.mute("staff", "chair", 10, duration=60)
    assert m.speakers(11) == {"staff"}
    assert m.speakers(70) == {"staff", "chair"}
    (expired,) = book.expire(70)
    assert expired.sanction.kind == "mute"


def test_ban_reaches_every_room_and_lift() -> None:
    book = SanctionBook()
    dx = committee(book)
    plaza = Meeting("plaza", RoomKind.PLAZA, book, WORDS)
    plaza.join("cit", "X", Role.CITIZEN, 0, device="d_x")
    plaza.join("staff", "S", Role.STAFF, 0, account="s1")
    events = plaza.ban("staff", "cit", 1, reason="脅迫", duration=86400)
    assert of(events, Left)[0].cause == "banned"
    assert reason_of(dx.join, "cit", "X", Role.CITIZEN, 2, device="d_x") is Reason.BANNED
    sanction = of(events, SanctionImposed)[0].sanction
    assert reason_of(dx.lift, "chair", sanction.id, 3) is Reason.FORBIDDEN
    dx.lift("staff", sanction.id, 3)
    dx.join("cit", "X", Role.CITIZEN, 4, device="d_x")
    # An absent device can be banned too.
    plaza.ban("staff", None, 5, device="d_absent", name="absent")
    assert book.is_banned("d_absent", None, 6)


def test_chat_through_the_meeting() -> None:
    m = committee()
    m.join("cit", "さくら", Role.CITIZEN, 1, device="d_1")
    m.admit("staff", "cit", 1)
    (posted,) = m.chat_send("cit", "こんにちは", 2)
    assert isinstance(posted, ChatPosted)
    assert reason_of(m.chat_send, "cit", "しね", 3) is Reason.NG_WORD
    m.chat_report("chair", 1, "?", 4)
    events = m.chat_hide("staff", 1, 5, reason="test")
    assert of(events, AuditEntry)[0].target == "cit"


def test_hand_flood_is_rate_limited() -> None:
    m = committee()
    m.join("cit", "さくら", Role.CITIZEN, 1, device="d_1")
    m.admit("staff", "cit", 1)
    outcomes = []
    for i in range(10):
        try:
            m.raise_hand("cit", 2 + i * 0.01)
            m.lower_hand("cit", 2 + i * 0.01)
            outcomes.append("ok")
        except HirobaError as exc:
            outcomes.append(exc.reason)
    assert outcomes.count("ok") == 3 and outcomes[3] is Reason.RATE_LIMITED


def test_meeting_records_round_trip() -> None:
    m = committee()
    m.join("cit", "さくら", Role.CITIZEN, 1, device="d_1")
    m.join("mem", "委員", Role.MEMBER, 1, device="d_m")
    m.admit("staff", "cit", 2)
    m.agenda_add("chair", "議題1", 600, 3)
    m.agenda_open("chair", 1, 4)
    m.raise_hand("cit", 5)
    m.chat_send("cit", "hello", 6)
    m.poll_create("chair", "q", ["a", "b"], 7, electorate=(Role.MEMBER,))
    m.caption_post("staff", "開会", 8)
    records = m.to_records()
    again = Meeting("dx", RoomKind.COMMITTEE, SanctionBook(), WORDS,
                    MeetingRules(floor_limit=60, grace=5), records)
    assert again.to_records() == records
    assert isinstance(records, MeetingRecords) and records.lobby[0].pid == "mem"
    assert again.people == {}  # presence is not persisted


def test_audit_export() -> None:
    m = committee()
    m.join("cit", "さくら", Role.CITIZEN, 1, device="d_1")
    m.admit("staff", "cit", 2)
    entries = of(m.remove("staff", "cit", 1_764_240_000, reason="=HYPERLINK()"), AuditEntry)
    entries += of(authorize_account("jimu", "事務局", Role.STAFF, Action.DATA_EXPORT,
                                    1_764_240_001, details={"what": "opinions"}), AuditEntry)
    text = audit.to_csv(entries)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(audit.COLUMNS)
    assert rows[1][0] == "2025-11-27T10:40:00Z" and rows[1][5] == "sanction.remove"
    assert rows[1][8] == "'=HYPERLINK()" and rows[1][7] == "さくら"
    assert rows[2][1] == "" and rows[2][9] == "what=opinions"
    data = json.loads(json.dumps([audit.to_json(e) for e in entries]))
    assert data[0]["details"]["seconds"] == "86400.0" and data[0]["actor"] == "jimukyoku"
    assert reason_of(authorize_account, "x", "x", Role.CHAIR, Action.AUDIT_VIEW, 0) is (
        Reason.FORBIDDEN
    )
    assert authorize_account("x", "x", Role.STAFF, Action.AUDIT_VIEW, 0) == []


def test_events_serialise_for_the_wire() -> None:
    m = committee()
    events = m.join("cit", "さくら", Role.CITIZEN, 1, device="d_secret")
    body = json.loads(json.dumps([e.to_dict() for e in events]))
    assert body[0]["type"] == "meeting.joined" and body[0]["person"]["place"] == "lobby"
    assert "d_secret" not in json.dumps(body)


def test_placement() -> None:
    assert placement(Role.MEMBER, lobby=True) is Place.LOBBY
    assert placement(Role.MEMBER, lobby=False) is Place.ROOM
    assert placement(Role.CHAIR, lobby=True) is Place.ROOM
    assert placement(Role.CITIZEN, lobby=True, gallery=True) is Place.GALLERY
    assert placement(Role.OBSERVER, lobby=False) is Place.GALLERY


def test_refuse_from_lobby() -> None:
    m = committee()
    m.join("x", "X", Role.MEMBER, 1, device="d_x")
    events = m.refuse("staff", "x", 2, reason="本人確認できず")
    assert of(events, LobbyLeft)[0].outcome == "refused" and "x" not in m.people
    m.join("x", "X", Role.MEMBER, 3, device="d_x")  # may knock again


def test_captions_limits_and_round_trip() -> None:
    c = Captions("r", history=2)
    assert reason_of(c.correct_last, "cap", "x", 0) is Reason.WRONG_STATE
    for i in range(3):
        c.post("cap", f"line {i}", float(i))
    assert [line.seq for line in c.lines()] == [2, 3]
    assert reason_of(c.correct_last, "cap", "x", 4, seq=2) is Reason.WRONG_STATE
    assert reason_of(c.post, "cap", "x" * 301, 5) is Reason.TOO_LONG
    assert c.post("cap", "a\nb", 5).line.text == "a b"  # one line each
    again = Captions.from_records("r", c.to_records(), history=2)
    assert again == c


def test_an_admitted_person_who_comes_back_skips_the_lobby() -> None:
    m = committee()
    m.join("mem", "田中委員", Role.MEMBER, 1, device="d_m")
    m.admit("staff", "mem", 2)
    m.leave("mem", 3)  # the connection dropped
    # Back with a resume token saying they were in the room at 2: straight in, no lobby
    # event, no audit entry (the admission was audited once).
    events = m.join("mem", "田中委員", Role.MEMBER, 4, device="d_m", admitted_at=2)
    assert of(events, Joined)[0].person.place == "room" and not of(events, LobbyEntered)
    assert not of(events, AuditEntry)
    # Removed since (even if the removal was lifted at once): the admission no longer
    # counts, and they wait again.
    events = m.remove("staff", "mem", 5, reason="議事妨害", duration=60)
    sanction = of(events, SanctionImposed)[0].sanction
    m.lift("staff", sanction.id, 6)
    events = m.join("mem", "田中委員", Role.MEMBER, 7, device="d_m", admitted_at=2)
    assert of(events, Joined)[0].person.place == "lobby" and of(events, LobbyEntered)
    m.leave("mem", 8)
    # An admission after that removal counts again.
    events = m.join("mem", "田中委員", Role.MEMBER, 9, device="d_m", admitted_at=8)
    assert of(events, Joined)[0].person.place == "room"
    m.leave("mem", 10)
    # A ban anywhere since, lifted or not, also undoes it; the gallery is unaffected.
    plaza = Meeting("plaza", RoomKind.PLAZA, m.sanctions, WORDS)
    plaza.join("s", "S", Role.STAFF, 10, account="s1")
    plaza.join("m2", "田中委員", Role.CITIZEN, 10, device="d_m")
    ban = of(plaza.ban("s", "m2", 11, reason="x", duration=60),
             SanctionImposed)[0].sanction
    plaza.lift("s", ban.id, 12)
    events = m.join("mem", "田中委員", Role.MEMBER, 13, device="d_m", admitted_at=9)
    assert of(events, Joined)[0].person.place == "lobby"
    # Without a resume token's admission nothing changes.
    m.leave("mem", 14)
    assert of(m.join("mem", "田中委員", Role.MEMBER, 15, device="d_m"), Joined)[0].person.place \
        == "lobby"
