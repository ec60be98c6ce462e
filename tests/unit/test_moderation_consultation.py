"""Opinions, Q&A and polls: one support / vote / ballot per person, merging, results."""

from __future__ import annotations

import csv
import io

import pytest

from moderation.opinions import Opinions, OpinionStatus
from moderation.polls import Polls
from moderation.questions import Questions, QuestionState
from rooms.errors import HirobaError, Reason
from rooms.model import Role


def reason_of(fn, *args, **kwargs) -> Reason:  # type: ignore[no-untyped-def]
    with pytest.raises(HirobaError) as err:
        fn(*args, **kwargs)
    return err.value.reason


def opinions() -> Opinions:
    ops = Opinions("r", categories=("公園", "交通"))
    ops.submit("p1", "k1", "さくら", "公園", "ベンチを増やしてほしい", 0)
    ops.submit("p2", "k2", "たろう", "公園", "ベンチがもっと欲しい", 1)
    ops.submit("p3", "k3", "はな", "交通", "バスを増便してほしい", 2)
    return ops


def test_one_support_per_person() -> None:
    ops = opinions()
    assert ops.support(1, "k2", 3).opinion.supports == 1
    assert reason_of(ops.support, 1, "k2", 4) is Reason.DUPLICATE
    assert reason_of(ops.support, 1, "k1", 4) is Reason.FORBIDDEN  # one's own
    ops.support(1, "k3", 5)
    assert ops.withdraw(1, "k3", 6).opinion.supports == 1
    assert reason_of(ops.withdraw, 1, "k3", 7) is Reason.WRONG_STATE
    assert reason_of(ops.support, 9, "k3", 7) is Reason.NO_SUCH_ITEM


def test_categories_are_checked() -> None:
    ops = opinions()
    assert reason_of(ops.submit, "p", "k", "n", "税金", "text", 0) is Reason.BAD_FIELD
    assert reason_of(ops.submit, "p", "k", "n", None, "text", 0) is Reason.BAD_FIELD
    assert reason_of(ops.submit, "p", "k", "n", "公園", "x" * 2001, 0) is Reason.TOO_LONG
    free = Opinions("r")
    assert free.submit("p", "k", "n", None, "text", 0).opinion.category == ""


def test_merge_combines_supports_without_double_counting() -> None:
    ops = opinions()
    # Opinion 1: supported by k3, k4, k5. Opinion 2 (by k2): supported by k4, k5, k6, k1.
    for k in ("k3", "k4", "k5"):
        ops.support(1, k, 10)
    for k in ("k4", "k5", "k6", "k1"):
        ops.support(2, k, 10)
    source, target = ops.merge(2, 1, 20, by="staff")
    # target backers: {k3,k4,k5} ∪ {k4,k5,k6,k1} ∪ {author k2} − {target author k1}
    assert target.opinion.supports == 5
    assert set(ops.get(1).supporters) == {"k2", "k3", "k4", "k5", "k6"}
    assert source.opinion.status == OpinionStatus.MERGED and source.opinion.merged_into == 1
    assert [v.id for v in ops.ranked()] == [1, 3]
    assert reason_of(ops.support, 2, "k7", 21) is Reason.WRONG_STATE
    assert reason_of(ops.merge, 1, 2, 22, by="staff") is Reason.WRONG_STATE
    assert reason_of(ops.merge, 1, 1, 22, by="staff") is Reason.BAD_FIELD
    assert reason_of(ops.support, 1, "k2", 23) is Reason.DUPLICATE  # merged author counted


def test_mark_respond_hide_and_export() -> None:
    ops = opinions()
    assert ops.mark(1, "adopted", 5, by="staff").opinion.status == "adopted"
    assert reason_of(ops.mark, 1, "merged", 5, by="staff") is Reason.BAD_FIELD
    assert reason_of(ops.mark, 1, "bogus", 5, by="staff") is Reason.BAD_FIELD
    ops.respond(1, "=検討します", 6, by="staff")
    ops.set_hidden(3, True, 7, by="staff")
    assert [v.id for v in ops.ranked()] == [1, 2]
    assert reason_of(ops.set_hidden, 3, True, 8, by="staff") is Reason.WRONG_STATE
    rows = list(csv.reader(io.StringIO(ops.export_csv())))
    assert rows[0][:3] == ["id", "submitted_at", "category"]
    assert rows[1][3] == "adopted" and rows[1][7] == "'=検討します"  # formula defused
    assert rows[3][-1] == "true" and len(rows) == 4
    assert all("k1" not in cell and "さくら" not in cell for row in rows for cell in row)


def test_opinion_records_round_trip() -> None:
    ops = opinions()
    ops.support(1, "k2", 3)
    ops.merge(3, 1, 4, by="s")
    again = Opinions.from_records("r", ops.to_records(), ops.categories)
    assert again == ops
    assert again.submit("p", "k", "n", "公園", "t", 5).opinion.id == 4


def test_questions_sorted_by_votes_one_vote_each() -> None:
    qs = Questions("r")
    for i, text in enumerate(("Q1", "Q2", "Q3")):
        qs.ask(f"p{i}", f"k{i}", f"n{i}", text, float(i))
    qs.vote(2, "k0", 5)
    qs.vote(2, "k2", 5)
    qs.vote(3, "k0", 6)
    assert reason_of(qs.vote, 2, "k0", 7) is Reason.DUPLICATE
    assert reason_of(qs.vote, 1, "k0", 7) is Reason.FORBIDDEN
    assert [q.id for q in qs.ranked()] == [2, 3, 1]
    qs.unvote(2, "k0", 8)
    qs.unvote(2, "k2", 8)
    assert [q.id for q in qs.ranked()] == [3, 1, 2]  # ties: oldest first
    assert qs.answer(3, 9, by="chair").question.state == QuestionState.ANSWERED
    qs.dismiss(1, 9, by="staff", reason="off topic")
    assert [q.id for q in qs.ranked()] == [2]
    assert reason_of(qs.vote, 3, "k5", 10) is Reason.WRONG_STATE
    assert [q.id for q in qs.ranked(include_closed=True)] == [2, 3, 1]
    assert qs.export_rows()[0][2] == "dismissed"
    again = Questions.from_records("r", qs.to_records())
    assert again == qs


def test_single_choice_poll() -> None:
    polls = Polls("r")
    polls.create("どの案?", ["A案", "B案", "C案"], 0, by="staff")
    assert polls.vote(1, "k1", Role.CITIZEN, [0], 1).poll.counts == (1, 0, 0)
    polls.vote(1, "k2", Role.CITIZEN, [1], 1)
    res = polls.vote(1, "k1", Role.CITIZEN, [1], 2).poll  # a changed ballot counts once
    assert (res.counts, res.voters) == ((0, 2, 0), 2)
    for bad in ([0, 1], [], [3], [-1], ["0"], [True], "0", [0, 0]):
        assert reason_of(polls.vote, 1, "k3", Role.CITIZEN, bad, 3) is Reason.BAD_FIELD, bad
    assert reason_of(polls.vote, 1, "k3", Role.MEMBER, [0], 3) is Reason.FORBIDDEN
    polls.close(1, 4, by="staff")
    assert reason_of(polls.vote, 1, "k3", Role.CITIZEN, [0], 5) is Reason.WRONG_STATE
    assert reason_of(polls.close, 1, 5, by="staff") is Reason.WRONG_STATE
    assert polls.export_rows(1) == [
        (1, "どの案?", 0, "A案", 0, 0.0), (1, "どの案?", 1, "B案", 2, 100.0),
        (1, "どの案?", 2, "C案", 0, 0.0),
    ]
    assert polls.export_csv(1).startswith("poll_id,question,option_index")


def test_multiple_choice_poll() -> None:
    polls = Polls("r")
    polls.create("q", ["a", "b", "c", "d"], 0, by="s", multiple=True, max_choices=2,
                 electorate=(Role.CITIZEN, Role.MEMBER))
    polls.vote(1, "k1", Role.MEMBER, [0, 2], 1)
    polls.vote(1, "k2", Role.CITIZEN, [2], 1)
    assert reason_of(polls.vote, 1, "k3", Role.CITIZEN, [0, 1, 2], 1) is Reason.BAD_FIELD
    res = polls.results(1)
    assert (res.counts, res.voters) == ((1, 0, 2, 0), 2)
    assert polls.export_rows(1)[2][-1] == 100.0


@pytest.mark.parametrize(
    "options",
    [["only"], [f"o{i}" for i in range(11)], ["a", "A"], ["a", "x" * 101], ["a", ""], "ab", None],
)
def test_poll_options_are_validated(options: object) -> None:
    assert reason_of(Polls("r").create, "q", options, 0, by="s") in (
        Reason.BAD_FIELD, Reason.TOO_LONG,
    )


def test_poll_records_round_trip() -> None:
    polls = Polls("r")
    polls.create("q", ["a", "b"], 0, by="s")
    polls.create("q2", ["a", "b", "c"], 0, by="s", multiple=True)
    polls.vote(1, "k1", Role.CITIZEN, [1], 1)
    polls.vote(2, "k1", Role.CITIZEN, [0, 2], 1)
    polls.close(1, 2, by="s")
    again = Polls.from_records("r", polls.to_records())
    assert again.to_records() == polls.to_records()
    assert again.all_results() == polls.all_results()
