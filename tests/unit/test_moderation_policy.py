"""The permission matrix: every action × every role, written out again independently of
moderation/policy.py, so that changing who may do what takes a deliberate edit in both."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from moderation import policy
from moderation.policy import Action, Context, decide
from rooms.errors import PermissionDenied, Reason
from rooms.model import Role, RoomKind

ROLES = (Role.CITIZEN, Role.MEMBER, Role.CHAIR, Role.STAFF, Role.CAPTIONER, Role.OBSERVER)

# Y allowed · - forbidden · S only on oneself · C only in committee rooms
EXPECTED = """
room.join               Y Y Y Y Y Y
room.move               Y Y Y Y Y Y
stage.enter             - Y Y Y - -
seat.take               - Y Y - - -
lobby.bypass            - - Y Y Y Y
lobby.view              - - Y Y - -
lobby.admit             - - - Y - -
lobby.refuse            - - - Y - -
chat.send               Y Y Y Y - -
chat.report             Y Y Y Y - -
chat.hide               - - - Y - -
chat.restore            - - - Y - -
reports.view            - - - Y - -
reports.dismiss         - - - Y - -
hand.raise              Y C - - - -
hand.lower              S S Y Y - -
floor.hold              Y Y - - - -
floor.speak_freely      - - Y Y - -
floor.give              - - Y Y - -
floor.revoke            - - Y Y - -
floor.next              - - Y Y - -
floor.extend            - - Y Y - -
floor.yield             Y Y - - - -
agenda.edit             - - Y Y - -
agenda.advance          - - Y Y - -
sanction.mute           - - Y Y - -
sanction.unmute         - - Y Y - -
sanction.remove         - - Y Y - -
sanction.ban            - - - Y - -
sanction.unban          - - - Y - -
sanction.view           - - Y Y - -
invite.create           - - - Y - -
opinion.submit          Y - - - - -
opinion.support         Y - - - - -
opinion.mark            - - - Y - -
opinion.merge           - - - Y - -
opinion.respond         - - - Y - -
opinion.hide            - - - Y - -
question.ask            Y - - - - -
question.vote           Y - - - - -
question.answer         - - Y Y - -
question.dismiss        - - Y Y - -
poll.create             - - Y Y - -
poll.vote               Y Y - - - -
poll.close              - - Y Y - -
poll.export             - - - Y - -
caption.post            - - - Y Y -
notice.post             - - - Y - -
data.export             - - - Y - -
audit.view              - - - Y - -
participants.tracking   - - - Y - -
tracking.server         - Y Y Y - -
recording.start         - - - Y - -
recording.stop          - - - Y - -
recording.view          - - - Y - -
recording.publish       - - - Y - -
audio.publish           Y Y Y Y - -
room.settings           - - - Y - -
committee.rollcall      - - C C - -
committee.present       - C C - - -
committee.attendance    - - C C - -
committee.verify        - - C C - -
committee.recuse        - - C C - -
committee.motion        - - C C - -
committee.closed_session - - C C - -
vote.open               - - C C - -
vote.cast               - C - - - -
vote.close              - - C C - -
vote.decide             - - C - - -
vote.rerun              - - C C - -
minutes.draft           - - - Y - -
minutes.approve         - Y Y - - -
minutes.publish         - - - Y - -
transcript.edit         - - - Y - -
transcript.run          - - - Y - -
identity.publish        - C C - - -
identity.view           - - Y Y - -
identity.ask            - - C C - -
avatar.upload           - - - Y - -
avatar.approve          - - - Y - -
gallery.move            - - - Y - -
"""


def expected_table() -> dict[tuple[Action, Role], str]:
    table = {}
    for line in EXPECTED.strip().splitlines():
        name, *cells = line.split()
        assert len(cells) == len(ROLES), line
        for role, cell in zip(ROLES, cells, strict=True):
            table[(Action(name), role)] = cell
    return table


TABLE = expected_table()


def test_the_expected_table_covers_every_action_and_role() -> None:
    assert {a for a, _ in TABLE} == set(Action)
    assert {r for _, r in TABLE} == set(Role)


def neutral(kind: RoomKind, *, target_self: bool) -> Context:
    # Acting on a citizen (the lowest rank) so that ranked rows show the role's right;
    # as a signer named on the draft, so that minutes.approve shows the role's right.
    return Context(kind=kind, target_self=target_self, named_signer=True,
                   holds_floor=True, target_role=None if target_self else Role.CITIZEN)


@pytest.mark.parametrize(("action", "role"), sorted(TABLE, key=str))
def test_matrix(action: Action, role: Role) -> None:
    cell = TABLE[(action, role)]
    for kind in RoomKind:
        for target_self in (False, True):
            decision = policy.decide(role, action, neutral(kind, target_self=target_self))
            if cell == "Y":
                allowed = not (target_self and policy.Flag.RANKED in policy.RULES[action].flags)
            elif cell == "S":
                allowed = target_self
            elif cell == "C":
                allowed = kind is RoomKind.COMMITTEE
            else:
                allowed = False
            assert decision.allowed is allowed, (action, role, kind, target_self, decision)
            if not allowed:
                assert decision.reason is Reason.FORBIDDEN, decision
                with pytest.raises(PermissionDenied) as err:
                    policy.require(role, action, neutral(kind, target_self=target_self))
                assert err.value.reason is Reason.FORBIDDEN


def test_banned_and_lobby_come_first() -> None:
    banned = Context(banned=True)
    assert policy.decide(Role.STAFF, Action.CHAT_HIDE, banned).reason is Reason.BANNED
    assert policy.decide(Role.CITIZEN, Action.ROOM_JOIN, banned).reason is Reason.BANNED
    lobby = Context(in_lobby=True)
    assert policy.decide(Role.MEMBER, Action.CHAT_SEND, lobby).reason is Reason.IN_LOBBY
    assert policy.decide(Role.MEMBER, Action.ROOM_JOIN, lobby).allowed


def test_muted_refuses_voice_only() -> None:
    muted = Context(muted=True)
    for action in (Action.CHAT_SEND, Action.HAND_RAISE, Action.QUESTION_ASK,
                   Action.OPINION_SUBMIT, Action.FLOOR_HOLD):
        assert policy.decide(Role.CITIZEN, action, muted).reason is Reason.MUTED, action
    for action in (Action.POLL_VOTE, Action.OPINION_SUPPORT, Action.QUESTION_VOTE,
                   Action.ROOM_MOVE):
        assert policy.decide(Role.CITIZEN, action, muted).allowed, action
    # A muted citizen asking for a staff action hears about the role first.
    assert policy.decide(Role.CITIZEN, Action.CHAT_HIDE, muted).reason is Reason.FORBIDDEN


def test_gallery_watchers_have_observer_rights() -> None:
    gallery = Context(gallery=True)
    assert policy.decide(Role.CITIZEN, Action.ROOM_MOVE, gallery).allowed
    for action in (Action.CHAT_SEND, Action.HAND_RAISE, Action.POLL_VOTE):
        decision = policy.decide(Role.CITIZEN, action, gallery)
        assert decision.reason is Reason.FORBIDDEN and "gallery" in decision.message


def test_only_the_holder_yields() -> None:
    assert policy.decide(Role.CITIZEN, Action.FLOOR_YIELD).reason is Reason.WRONG_STATE
    assert policy.decide(Role.CITIZEN, Action.FLOOR_YIELD, Context(holds_floor=True)).allowed


@pytest.mark.parametrize(
    ("actor", "action", "target", "reason"),
    [
        (Role.CHAIR, Action.REMOVE, Role.STAFF, Reason.PROTECTED_TARGET),
        (Role.CHAIR, Action.MUTE, Role.CHAIR, Reason.PROTECTED_TARGET),
        (Role.STAFF, Action.BAN, Role.STAFF, Reason.PROTECTED_TARGET),
        (Role.CHAIR, Action.MUTE, Role.MEMBER, None),
        (Role.CHAIR, Action.REMOVE, Role.CAPTIONER, None),
        (Role.STAFF, Action.BAN, Role.CHAIR, None),
        (Role.STAFF, Action.UNBAN, Role.STAFF, None),  # lifting is not ranked
    ],
)
def test_rank_protects_targets(actor: Role, action: Action, target: Role, reason: Reason) -> None:
    decision = policy.decide(actor, action, Context(target_role=target))
    assert decision.reason is reason


def test_no_one_sanctions_themselves() -> None:
    decision = policy.decide(Role.STAFF, Action.BAN, Context(target_self=True))
    assert decision.reason is Reason.FORBIDDEN


def test_seat_and_stage_helpers_follow_the_table() -> None:
    assert [policy.takes_seat(r) for r in ROLES] == [False, True, True, False, False, False]
    assert [policy.may_enter_stage(r) for r in ROLES] == [False, True, True, True, False, False]
    assert policy.ANONYMOUS_ROLE is Role.CITIZEN


def test_audited_actions() -> None:
    assert policy.is_audited(Action.BAN) and policy.is_audited(Action.FLOOR_GIVE)
    assert not policy.is_audited(Action.CHAT_SEND) and not policy.is_audited(Action.AUDIT_VIEW)


def test_minutes_approval_needs_a_signer_named_on_the_draft() -> None:
    for role in (Role.CHAIR, Role.MEMBER):
        assert policy.decide(role, Action.MINUTES_APPROVE, Context(named_signer=True))
        refused = policy.decide(role, Action.MINUTES_APPROVE, Context())
        assert not refused and refused.reason is Reason.FORBIDDEN
    assert not policy.decide(Role.STAFF, Action.MINUTES_APPROVE, Context(named_signer=True))


def test_procedure_doc_holds_the_current_matrix() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "meeting-procedure.md"
    assert policy.render_markdown() in doc.read_text()


def test_audio_publish_outside_the_plaza_needs_the_floor_or_a_free_voice() -> None:
    committee = Context(kind=RoomKind.COMMITTEE)
    denied = decide(Role.CITIZEN, Action.AUDIO_PUBLISH, committee)
    assert not denied and denied.reason is Reason.WRONG_STATE
    assert decide(Role.MEMBER, Action.AUDIO_PUBLISH, replace(committee, holds_floor=True))
    assert decide(Role.CHAIR, Action.AUDIO_PUBLISH, committee)
    assert decide(Role.CITIZEN, Action.AUDIO_PUBLISH, Context(kind=RoomKind.PLAZA))
    muted = decide(Role.CITIZEN, Action.AUDIO_PUBLISH, Context(kind=RoomKind.PLAZA, muted=True))
    assert muted.reason is Reason.MUTED
    assert not decide(Role.OBSERVER, Action.AUDIO_PUBLISH, Context(kind=RoomKind.PLAZA))
