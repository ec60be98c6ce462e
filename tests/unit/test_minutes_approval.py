"""The pure rules of minutes approval (moderation/minutes_approval.py): who signs, when a
version is approved, what resets the approvals, what may be published."""

from __future__ import annotations

import pytest

from moderation import minutes_approval as ma
from rooms.errors import HirobaError, Reason
from rooms.model import Role

SIGNERS = ma.parse_signers([{"account": "chair1", "role": "chair"},
                            {"account": "sign1", "role": "member"}])


def requested(version: int = 1) -> ma.Approval:
    return ma.request(ma.Approval(), version, version, SIGNERS, "staff1", 10.0)


def refused(reason: Reason, fn: object, *args: object) -> None:
    with pytest.raises(HirobaError) as err:
        fn(*args)  # type: ignore[operator]
    assert err.value.reason is reason, err.value


def test_versions_are_numbered_and_bounded() -> None:
    v = ma.new_version(0, "# 会議録\n", "first", "staff1", 1.0)
    assert (v.number, v.by, v.note) == (1, "staff1", "first")
    assert ma.new_version(4, "x", None, "s", 1.0).number == 5
    refused(Reason.BAD_FIELD, ma.new_version, 0, "  \n", "", "s", 1.0)
    refused(Reason.BAD_FIELD, ma.new_version, 0, 42, "", "s", 1.0)
    refused(Reason.TOO_LONG, ma.new_version, 0, "あ" * (ma.MAX_TEXT_BYTES // 3 + 1), "", "s", 1.0)
    refused(Reason.BAD_FIELD, ma.new_version, 0, "x", "n" * (ma.MAX_NOTE + 1), "s", 1.0)


def test_signers_name_exactly_one_chair_each_account_once() -> None:
    assert [s.role for s in SIGNERS] == [Role.CHAIR, Role.MEMBER]
    refused(Reason.BAD_FIELD, ma.parse_signers, [{"account": "a", "role": "member"}])
    refused(Reason.BAD_FIELD, ma.parse_signers, [{"account": "a", "role": "chair"},
                                                 {"account": "b", "role": "chair"}])
    refused(Reason.DUPLICATE, ma.parse_signers, [{"account": "a", "role": "chair"},
                                                 {"account": "a", "role": "member"}])
    refused(Reason.BAD_FIELD, ma.parse_signers, [{"account": "a", "role": "staff"}])
    refused(Reason.BAD_FIELD, ma.parse_signers, [])
    refused(Reason.BAD_FIELD, ma.parse_signers, "chair1")


def test_only_the_latest_version_is_requested() -> None:
    refused(Reason.WRONG_STATE, ma.request, ma.Approval(), 0, 0, SIGNERS, "s", 1.0)
    refused(Reason.WRONG_STATE, ma.request, ma.Approval(), 2, 1, SIGNERS, "s", 1.0)
    assert requested(2).version == 2


def test_approved_only_when_every_named_signer_approved_that_version() -> None:
    state = requested()
    assert not state.approved
    state = ma.decide(state, "chair1", 1, True, None, 11.0)
    assert not state.approved
    refused(Reason.FORBIDDEN, ma.decide, state, "stranger", 1, True, None, 12.0)
    refused(Reason.WRONG_STATE, ma.decide, state, "sign1", 2, True, None, 12.0)
    state = ma.decide(state, "sign1", 1, True, None, 12.0)
    assert state.approved
    # A change of mind before publication counts: a decline takes the approval back.
    declined = ma.decide(state, "sign1", 1, False, "第3項の発言者名が誤り", 13.0)
    assert not declined.approved and declined.decisions["sign1"].reason.startswith("第3項")


def test_a_decline_needs_a_reason() -> None:
    refused(Reason.BAD_FIELD, ma.decide, requested(), "sign1", 1, False, "  ", 1.0)
    refused(Reason.BAD_FIELD, ma.decide, requested(), "sign1", 1, False, None, 1.0)


def test_a_new_version_resets_the_approvals_and_moves_the_request() -> None:
    state = ma.decide(ma.decide(requested(), "chair1", 1, True, None, 1.0),
                      "sign1", 1, True, None, 2.0)
    state = ma.publish(state, 1, "staff1", 3.0)
    after = ma.after_new_version(state, 2)
    assert (after.version, dict(after.decisions), after.approved) == (2, {}, False)
    assert after.signers == SIGNERS and after.published == 1  # published stays published
    refused(Reason.WRONG_STATE, ma.decide, after, "chair1", 1, True, None, 4.0)
    assert ma.after_new_version(ma.Approval(), 3) == ma.Approval()  # nothing requested


def test_only_an_approved_version_is_published() -> None:
    state = ma.decide(requested(), "chair1", 1, True, None, 1.0)
    refused(Reason.NOT_APPROVED, ma.publish, state, 1, "staff1", 2.0)
    state = ma.decide(state, "sign1", 1, True, None, 2.0)
    refused(Reason.NOT_APPROVED, ma.publish, state, 2, "staff1", 3.0)
    refused(Reason.NOT_APPROVED, ma.publish, ma.Approval(), 0, "staff1", 3.0)
    done = ma.publish(state, 1, "staff1", 3.0)
    assert (done.published, done.published_by) == (1, "staff1")


def test_signers_read_only_drafts_naming_them() -> None:
    assert ma.may_read(requested(), "sign1") and not ma.may_read(requested(), "other")


def test_the_state_survives_its_json_body() -> None:
    state = ma.decide(requested(), "sign1", 1, False, "誤字", 5.0)
    assert ma.Approval.from_json(state.to_json()) == state


def test_unified_diff_names_the_versions() -> None:
    a = ma.Version(1, "一\n二\n三\n", "s", 1.0)
    b = ma.Version(2, "一\n弐\n三\n", "s", 2.0)
    diff = ma.unified_diff(a, b)
    assert diff.startswith("--- v1\n+++ v2\n") and "-二\n+弐\n" in diff
    assert ma.unified_diff(a, a) == ""
