"""The committee procedure's pure rules (moderation/committee.py, quorum.py, votes.py):
quorum arithmetic, attendance, recusal, amendment order, vote outcomes and the chair's
decision of a tie, and the record's round trip."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.committee import (
    Committee,
    CommitteeChanged,
    QuorumChanged,
    Status,
    committee_summary,
)
from moderation.quorum import QuorumRule
from moderation.votes import Method, Outcome, tally
from rooms.errors import HirobaError, Reason

CHAIR = "m:委員長"


def committee(n: int = 3, rule: QuorumRule | None = None) -> Committee:
    """A chair and ``n`` members, connected, present (roll call closed) and verified."""
    c = Committee("c", rule or QuorumRule())
    c.set_roster([(CHAIR, "委員長", "chair"),
                  *((f"m:{i}", f"委員{i}", "member") for i in range(n))], 0.0)
    for i, m in enumerate(c.members):
        c.arrive(m, f"p_{i:010x}", 1.0)
    c.open_rollcall(True, 2.0, by="staff")
    for m in c.members:
        c.answer(m, 3.0)
        c.verify(m, "video", None, 4.0, by="chair")
    c.open_rollcall(False, 5.0, by="staff")
    return c


def reason(exc: pytest.ExceptionInfo[HirobaError]) -> Reason:
    return exc.value.reason


# -- quorum arithmetic ---------------------------------------------------------------------


def test_half_or_more_and_strict_majority() -> None:
    half = QuorumRule()
    assert [half.needed(s) for s in (1, 2, 3, 4, 7, 8)] == [1, 1, 2, 2, 4, 4]
    strict = QuorumRule(strict=True)
    assert [strict.needed(s) for s in (1, 2, 3, 4, 7, 8)] == [1, 2, 2, 3, 4, 5]
    assert QuorumRule(fraction="2/3").needed(10) == 7
    assert QuorumRule(fraction="1/1").needed(5) == 5


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 999), st.integers(1, 50), st.integers(1, 50), st.booleans())
def test_needed_is_the_smallest_count_that_reaches_the_fraction(
    seats: int, a: int, b: int, strict: bool
) -> None:
    num, den = min(a, b), max(a, b)
    rule = QuorumRule(fraction=f"{num}/{den}", strict=strict)
    need = rule.needed(seats)
    f = Fraction(num, den) * seats
    assert 1 <= need <= seats + 1
    if strict:
        assert need > f and (need - 1 <= f or need == 1)
    else:
        assert need >= f and (need - 1 < f or need == 1)
        assert need == max(1, math.ceil(f))


@pytest.mark.parametrize("raw", [
    {"fraction": "0/2"}, {"fraction": "3/2"}, {"fraction": "half"}, {"strict": 1},
    {"seats": 0}, {"seats": True}, {"other": 1}, [], {"chair_counts": "yes"},
])
def test_bad_rules_are_refused(raw: object) -> None:
    with pytest.raises(HirobaError) as err:
        QuorumRule.parse(raw)
    assert err.value.reason is Reason.BAD_FIELD


def test_rule_parse_defaults() -> None:
    assert QuorumRule.parse({}) == QuorumRule()
    assert QuorumRule.parse({"fraction": "2/3", "strict": True, "chair_counts": False,
                             "seats": 9}) == QuorumRule("2/3", True, False, 9)


def test_chair_counts_or_not() -> None:
    c = committee(3)
    assert (c.quorum().counted, c.quorum().seats, c.quorum().needed) == (4, 4, 2)
    c.set_rule(QuorumRule(chair_counts=False), 6.0)
    assert (c.quorum().counted, c.quorum().seats, c.quorum().needed) == (3, 3, 2)
    c.set_rule(QuorumRule(seats=10), 6.0)
    assert (c.quorum().counted, c.quorum().seats, c.quorum().needed) == (4, 10, 5)
    assert not c.quorum().met


def test_only_present_and_verified_members_count_and_changes_are_events() -> None:
    c = Committee("c")
    c.set_roster([(f"m:{i}", f"{i}", "member") for i in range(4)], 0.0)
    for i in range(4):
        c.arrive(f"m:{i}", f"p{i}", 0.0)
    c.open_rollcall(True, 1.0, by="s")
    c.answer("m:0", 1.0)
    c.answer("m:1", 1.0)
    c.verify("m:0", "video", None, 2.0, by="s")
    assert c.quorum().counted == 1 and not c.quorum().met
    events = c.verify("m:1", "other", "電話で本人確認", 3.0, by="s")
    assert any(isinstance(e, QuorumChanged) and e.met for e in events)
    assert c.opened_quorum is not None and c.opened_quorum.counted == 2
    # m:1 leaves: lost once the grace is over, and the loss is recorded.
    c.depart("p1", 10.0)
    assert c.tick(69.0, 60.0) == []
    lost = c.tick(70.0, 60.0)
    assert any(isinstance(e, QuorumChanged) and not e.met for e in lost)
    assert c.status["m:1"].status == Status.DISCONNECTED and "m:1" not in c.verified
    assert [q.met for q in c.quorum_log] == [True, False]


def test_other_verification_needs_a_reason_and_a_connection() -> None:
    c = committee(1)
    with pytest.raises(HirobaError) as err:
        c.verify("m:0", "other", "", 9.0, by="s")
    assert reason(err) is Reason.MISSING_FIELD
    c.depart("p_0000000001", 9.0)
    with pytest.raises(HirobaError) as err:
        c.verify("m:0", "video", None, 9.0, by="s")
    assert reason(err) is Reason.WRONG_STATE


# -- attendance ----------------------------------------------------------------------------


def test_attendance_transitions() -> None:
    c = Committee("c")
    c.set_roster([("m:a", "a", "member"), ("m:b", "b", "member"), ("m:c", "c", "member")], 0)
    c.arrive("m:a", "pa", 0.0)
    with pytest.raises(HirobaError) as err:
        c.answer("m:a", 0.5)
    assert reason(err) is Reason.WRONG_STATE  # no roll call yet
    c.open_rollcall(True, 1.0, by="s")
    c.answer("m:a", 2.0)
    with pytest.raises(HirobaError) as err:
        c.answer("m:a", 2.5)
    assert reason(err) is Reason.DUPLICATE
    c.open_rollcall(False, 3.0, by="s")
    assert {m: s.status for m, s in c.status.items()} == {
        "m:a": "present", "m:b": "absent", "m:c": "absent"}
    c.answer("m:b", 4.0)                   # answering after the close: late
    c.arrive("m:b", "pb", 4.5)
    c.arrive("m:c", "pc", 5.0)             # arriving after the close: late
    with pytest.raises(HirobaError) as err:
        c.answer("m:c", 5.5)
    assert reason(err) is Reason.DUPLICATE
    assert c.status["m:b"].status == c.status["m:c"].status == "late"
    c.correct("m:a", "left", "早退届", 6.0, by="chair")
    assert c.status["m:a"].status == "left"
    with pytest.raises(HirobaError) as err:
        c.correct("m:a", "present", "", 6.0, by="chair")
    assert reason(err) is Reason.MISSING_FIELD
    with pytest.raises(HirobaError) as err:
        c.correct("m:zz", "present", "x", 6.0, by="chair")
    assert reason(err) is Reason.NOT_MEMBER
    # A reconnect within the grace keeps the verification.
    c.verify("m:c", "video", None, 7.0, by="s")
    c.depart("pc", 8.0)
    c.arrive("m:c", "pc2", 30.0)
    assert c.tick(200.0, 60.0) == [] and "m:c" in c.verified


# -- recusal, motions, amendments, votes ---------------------------------------------------


def test_recused_member_cannot_vote_on_the_motion_or_its_amendments() -> None:
    c = committee(3)
    c.propose("議案第1号", 6.0, by="chair")
    c.propose("修正案", 6.0, by="chair", amends=1)
    c.recuse("m:0", 1, True, "地方自治法117条", 7.0, by="chair")
    c.open_vote(2, "named", 8.0, by="chair")
    with pytest.raises(HirobaError) as err:
        c.cast("m:0", 1, "yes", 9.0)
    assert reason(err) is Reason.RECUSED
    c.cast("m:1", 1, "yes", 9.0)
    c.cast("m:2", 1, "yes", 9.0)
    c.close_vote(1, 10.0, by="chair")
    v = c.votes[1]
    assert dict(v.results) == {"m:0": "recused", "m:1": "yes", "m:2": "yes"}
    assert v.outcome == "passed" and v.voters == 2


def test_amendment_is_decided_before_the_original() -> None:
    c = committee(3)
    c.propose("議案", 6.0, by="chair")
    c.propose("修正案", 6.0, by="chair", amends=1)
    with pytest.raises(HirobaError) as err:
        c.open_vote(1, "hands", 7.0, by="chair")
    assert reason(err) is Reason.WRONG_STATE
    c.open_vote(2, "hands", 7.0, by="chair")
    with pytest.raises(HirobaError) as err:
        c.propose("修正案2", 7.5, by="chair", amends=2)
    assert reason(err) is Reason.WRONG_STATE  # no amendment of an amendment
    for m in ("m:0", "m:1"):
        c.cast(m, 1, "yes", 8.0)
    c.close_vote(1, 9.0, by="chair")
    assert c.motions[2].outcome == "adopted"
    with pytest.raises(HirobaError) as err:
        c.propose("遅い修正案", 9.5, by="chair", amends=2)
    assert reason(err) is Reason.WRONG_STATE
    c.open_vote(1, "standing", 10.0, by="chair")
    for m in ("m:0", "m:1", "m:2"):
        c.cast(m, 2, "yes", 11.0)
    c.close_vote(2, 12.0, by="chair")
    assert c.motions[1].outcome == "adopted_amended"


def test_tie_waits_for_the_chair() -> None:
    c = committee(4)
    c.propose("議案", 6.0, by="chair")
    c.open_vote(1, "hands", 7.0, by="chair")
    c.cast("m:0", 1, "yes", 8.0)
    c.cast("m:1", 1, "yes", 8.0)
    c.cast("m:2", 1, "none", 8.0)
    c.close_vote(1, 9.0, by="chair")
    assert c.votes[1].state == "tie" and c.motions[1].outcome is None
    with pytest.raises(HirobaError) as err:
        c.open_vote(1, "hands", 9.5, by="chair")
    assert reason(err) is Reason.WRONG_STATE
    with pytest.raises(HirobaError) as err:
        c.decide(1, "maybe", 10.0, by="chair")
    assert reason(err) is Reason.BAD_FIELD
    c.decide(1, "rejected", 10.0, by="chair")
    v = c.votes[1]
    assert (v.state, v.outcome, v.chair_decided) == ("closed", "rejected", True)
    assert c.motions[1].outcome == "rejected"
    with pytest.raises(HirobaError) as err:
        c.decide(1, "passed", 11.0, by="chair")
    assert reason(err) is Reason.WRONG_STATE


def test_named_votes_once_chair_and_strangers_refused_and_closed_vote_refused() -> None:
    c = committee(3)
    c.propose("議案", 6.0, by="chair")
    c.open_vote(1, "named", 7.0, by="chair")
    c.cast("m:0", 1, "no", 8.0)
    with pytest.raises(HirobaError) as err:
        c.cast("m:0", 1, "yes", 8.5)
    assert reason(err) is Reason.DUPLICATE
    with pytest.raises(HirobaError) as err:
        c.cast(CHAIR, 1, "yes", 8.5)
    assert reason(err) is Reason.FORBIDDEN
    with pytest.raises(HirobaError) as err:
        c.cast("m:nobody", 1, "yes", 8.5)
    assert reason(err) is Reason.NOT_MEMBER
    with pytest.raises(HirobaError) as err:
        c.cast("m:1", 1, "none", 8.5)
    assert reason(err) is Reason.BAD_FIELD
    assert c.state()["vote"]["cast"] == {"m:0": True}  # type: ignore[index]
    c.close_vote(1, 9.0, by="chair")
    with pytest.raises(HirobaError) as err:
        c.cast("m:1", 1, "yes", 9.5)
    assert reason(err) is Reason.WRONG_STATE
    assert dict(c.votes[1].results) == {"m:0": "no", "m:1": "abstain", "m:2": "abstain"}
    assert c.votes[1].outcome == "rejected"


def test_assent_objections_and_rerun() -> None:
    c = committee(3)
    c.propose("議案", 6.0, by="chair")
    c.open_vote(1, "assent", 7.0, by="chair")
    c.cast("m:2", 1, "object", 8.0)
    c.close_vote(1, 9.0, by="chair")
    assert c.votes[1].outcome == "objected" and c.motions[1].outcome is None
    c.open_vote(1, "hands", 10.0, by="chair")
    with pytest.raises(HirobaError) as err:
        c.rerun(2, "", 11.0, by="chair")
    assert reason(err) is Reason.MISSING_FIELD
    events = c.rerun(2, "接続断", 11.0, by="chair")
    assert [e.change for e in events if isinstance(e, CommitteeChanged)] == [
        "vote_void", "vote_opened"]
    assert c.votes[2].state == "void" and c.votes[3].state == "open"


def test_no_quorum_refuses_a_vote() -> None:
    c = committee(3)
    c.propose("議案", 6.0, by="chair")
    for m in ("m:0", "m:1", "m:2"):
        c.correct(m, "left", "早退", 6.5, by="s")
    with pytest.raises(HirobaError) as err:
        c.open_vote(1, "hands", 7.0, by="chair")
    assert reason(err) is Reason.NO_QUORUM


def test_hands_show_who_raised_and_drop_shows_disconnected() -> None:
    c = committee(3)
    c.propose("議案", 6.0, by="chair")
    c.open_vote(1, "hands", 7.0, by="chair")
    c.cast("m:0", 1, "yes", 8.0)
    vote = c.state()["vote"]
    assert vote["raised"] == ["p_0000000001"]  # type: ignore[index]
    c.cast("m:0", 1, "none", 8.5)
    assert c.state()["vote"]["raised"] == []  # type: ignore[index]
    c.depart("p_0000000002", 9.0)
    c.tick(80.0, 60.0)
    assert c.state()["vote"]["disconnected"] == ["m:1"]  # type: ignore[index]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["yes", "no", "abstain", None]), min_size=0, max_size=12),
       st.sets(st.integers(0, 11)), st.sets(st.integers(0, 11)))
def test_tally_properties(choices: list[str | None], away: set[int], recused: set[int]) -> None:
    members = [f"m:{i}" for i in range(len(choices))]
    rec = frozenset(members[i] for i in recused if i < len(members))
    voters = frozenset(m for i, m in enumerate(members) if i not in away) - rec
    cast = {m: c for m, c in zip(members, choices, strict=True) if c is not None}
    for method in (Method.NAMED, Method.HANDS):
        picked = cast if method is Method.NAMED else {
            m: ("yes" if c == "yes" else "none") for m, c in cast.items()}
        t = tally(method, members, voters, rec, picked)
        assert t.voters == len(voters)
        assert t.yes + t.no + t.abstain == len(voters)
        results = dict(t.by_member)
        assert all(results[m] == "recused" for m in rec)
        assert all(results[m] == "absent" for m in members if m not in voters and m not in rec)
        expected = (Outcome.PASSED if 2 * t.yes > t.voters else
                    Outcome.TIE if 2 * t.yes == t.voters else Outcome.REJECTED)
        assert t.outcome is expected


def test_records_round_trip_and_summary() -> None:
    c = committee(3)
    c.propose("議案", 6.0, by="chair")
    c.recuse("m:2", 1, True, "利害関係", 6.5, by="chair")
    c.open_vote(1, "named", 7.0, by="chair")
    c.cast("m:0", 1, "yes", 8.0)
    c.closed_session(True, "個人情報", 8.5, by="chair")
    c.arrive(None, "p_gallery01", 8.6, gallery_key="k1")
    c.depart("p_gallery01", 8.7)
    c.arrive(None, "p_gallery02", 8.8, gallery_key="k1")
    record = c.to_record()
    back = Committee.from_record("c", record, c.rule, now=9.0)
    assert back.to_record() == record
    assert back.current_vote() is not None and back.current_vote().id == 1  # type: ignore[union-attr]
    # Everyone counts as gone since the load: after the grace they are disconnected.
    back.arrive("m:0", "p_new", 10.0)
    back.tick(70.0, 60.0)
    assert back.status["m:0"].status == "present" and back.status["m:1"].status == "disconnected"
    s = committee_summary(record)
    assert s["gallery"] == {"peak": 1, "total": 1}
    assert s["closed_sessions"][0]["reason"] == "個人情報"  # type: ignore[index]
    assert s["quorum_at_opening"]["present"] == 2  # type: ignore[index]
    motion = s["motions"][0]  # type: ignore[index]
    assert motion["recusals"][0]["member"] == "m:2"
    assert motion["votes"][0]["state"] == "open"


def test_the_stored_committee_reads_back() -> None:
    from server.meetings.store import committee_record
    from server.storage.records import to_json

    c = committee(3)
    c.propose("議案", 6.0, by="chair")
    c.recuse("m:2", 1, True, "利害関係", 6.5, by="chair")
    c.open_vote(1, "named", 7.0, by="chair")
    c.cast("m:0", 1, "yes", 8.0)
    c.close_vote(1, 9.0, by="chair")
    c.closed_session(True, "個人情報", 9.5, by="chair")
    record = c.to_record()
    assert committee_record(to_json(record)) == record


def test_the_fast_plain_form_is_the_plain_form() -> None:
    from moderation.committee import committee_plain
    from moderation.events import plain

    c = committee(3)
    c.propose("議案", 6.0, by="chair")
    c.recuse("m:2", 1, True, "利害関係", 6.5, by="chair")
    c.open_vote(1, "named", 7.0, by="chair")
    c.cast("m:0", 1, "yes", 8.0)
    c.close_vote(1, 9.0, by="chair")
    c.closed_session(True, "個人情報", 9.5, by="chair")
    record = c.to_record()
    assert json.dumps(committee_plain(record)) == json.dumps(plain(record))


def test_a_sitting_counts_its_own_gallery() -> None:
    c = committee()
    for i in range(5):
        c.arrive(None, f"p_g{i:08x}", 10.0 + i, gallery_key=f"k{i}")
    for i in range(3):
        c.depart(f"p_g{i:08x}", 20.0)
    assert c.gallery_numbers() == (2, 5, 5)
    began = c.begin_sitting(30.0)
    # Those present count once each; the told numbers go out at once (not after 5 s).
    assert c.gallery_numbers() == (2, 2, 2)
    assert [e.topic for e in began] == ["committee.sitting", "committee.gallery_count"]
    assert sorted(began[0].keys) == ["k3", "k4"]  # type: ignore[attr-defined]
    c.arrive(None, "p_g000000aa", 31.0, gallery_key="k3")  # present already: not again
    c.arrive(None, "p_g000000bb", 32.0, gallery_key="k0")  # of the last sitting: counted
    assert c.gallery_numbers() == (4, 4, 3)
