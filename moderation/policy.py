"""The permission policy: the one place that says what each role may do.

The rules are one table (:data:`_TABLE`), read as data: a row per :class:`Action`, a cell
per role, and flags for the conditions that depend on the moment (muted, waiting in the
lobby, holding the floor, the target's rank). Every entry point (socket event, HTTP call,
console action) asks :func:`decide` or :func:`require`; ``docs/meeting-procedure.md``
holds the table as :func:`render_markdown` prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from rooms.errors import PermissionDenied, Reason
from rooms.model import Role, RoomKind

#: Role of anyone who joins without an invitation or a staff account.
ANONYMOUS_ROLE = Role.CITIZEN


class Action(StrEnum):
    """Everything a participant or a staff account can ask to do."""

    ROOM_JOIN = "room.join"
    ROOM_MOVE = "room.move"
    STAGE_ENTER = "stage.enter"
    SEAT_TAKE = "seat.take"
    LOBBY_BYPASS = "lobby.bypass"
    LOBBY_VIEW = "lobby.view"
    LOBBY_ADMIT = "lobby.admit"
    LOBBY_REFUSE = "lobby.refuse"
    CHAT_SEND = "chat.send"
    CHAT_REPORT = "chat.report"
    CHAT_HIDE = "chat.hide"
    CHAT_RESTORE = "chat.restore"
    REPORTS_VIEW = "reports.view"
    REPORT_DISMISS = "reports.dismiss"
    HAND_RAISE = "hand.raise"
    HAND_LOWER = "hand.lower"
    FLOOR_HOLD = "floor.hold"
    FLOOR_SPEAK_FREELY = "floor.speak_freely"
    FLOOR_GIVE = "floor.give"
    FLOOR_REVOKE = "floor.revoke"
    FLOOR_NEXT = "floor.next"
    FLOOR_EXTEND = "floor.extend"
    FLOOR_YIELD = "floor.yield"
    AGENDA_EDIT = "agenda.edit"
    AGENDA_ADVANCE = "agenda.advance"
    MUTE = "sanction.mute"
    UNMUTE = "sanction.unmute"
    REMOVE = "sanction.remove"
    BAN = "sanction.ban"
    UNBAN = "sanction.unban"
    SANCTIONS_VIEW = "sanction.view"
    INVITE = "invite.create"
    OPINION_SUBMIT = "opinion.submit"
    OPINION_SUPPORT = "opinion.support"
    OPINION_MARK = "opinion.mark"
    OPINION_MERGE = "opinion.merge"
    OPINION_RESPOND = "opinion.respond"
    OPINION_HIDE = "opinion.hide"
    QUESTION_ASK = "question.ask"
    QUESTION_VOTE = "question.vote"
    QUESTION_ANSWER = "question.answer"
    QUESTION_DISMISS = "question.dismiss"
    POLL_CREATE = "poll.create"
    POLL_VOTE = "poll.vote"
    POLL_CLOSE = "poll.close"
    POLL_EXPORT = "poll.export"
    CAPTION_POST = "caption.post"
    NOTICE_POST = "notice.post"
    DATA_EXPORT = "data.export"
    AUDIT_VIEW = "audit.view"
    TRACKING_VIEW = "participants.tracking"
    #: Send one's camera to the server to be face-tracked there (capacity is limited).
    TRACKING_SERVER = "tracking.server"
    RECORDING_START = "recording.start"
    RECORDING_STOP = "recording.stop"
    #: See unpublished recordings (list, manifest, files, minutes with moderation lines).
    RECORDING_VIEW = "recording.view"
    #: Publish a stopped recording to the public archive, or take it back.
    RECORDING_PUBLISH = "recording.publish"
    #: Send one's microphone to the audio plane (heard by the room or, in the plaza, nearby).
    AUDIO_PUBLISH = "audio.publish"
    #: Change a room's settings from the console: opinion categories (with their labels in
    #: each language) and whether entering waits in the lobby.
    ROOM_SETTINGS = "room.settings"
    # Committee procedure (issue 16; moderation/committee.py).
    #: Open or close the roll call (出席確認).
    COMMITTEE_ROLLCALL = "committee.rollcall"
    #: Answer the roll call from one's own member session.
    COMMITTEE_PRESENT = "committee.present"
    #: Correct a member's attendance (reason required).
    COMMITTEE_ATTENDANCE = "committee.attendance"
    #: Mark a member's identity checked (本人確認).
    COMMITTEE_VERIFY = "committee.verify"
    #: Recuse a member for a motion (除斥), or undo it.
    COMMITTEE_RECUSE = "committee.recuse"
    #: Put a motion or an amendment to the committee.
    COMMITTEE_MOTION = "committee.motion"
    #: Begin or end a closed session (秘密会).
    COMMITTEE_CLOSED_SESSION = "committee.closed_session"
    VOTE_OPEN = "vote.open"
    #: Cast one's own vote (the chair does not vote).
    VOTE_CAST = "vote.cast"
    VOTE_CLOSE = "vote.close"
    #: The chair's decision of a tie (委員長裁決).
    VOTE_DECIDE = "vote.decide"
    #: Void a vote and take it again.
    VOTE_RERUN = "vote.rerun"
    #: Save a draft (a new version) of a recording's minutes, or name its signers.
    MINUTES_DRAFT = "minutes.draft"
    #: Approve (or decline) a draft of the minutes: a signing account, as the chair or a
    #: signing member (会議録署名委員) it is named as on that draft.
    MINUTES_APPROVE = "minutes.approve"
    #: Publish a version of the minutes every named signer approved.
    MINUTES_PUBLISH = "minutes.publish"
    #: Correct a recording's transcript: edit a segment's text, merge, split, mark a
    #: passage inaudible (issue 17; every edit kept with who, when, before and after).
    TRANSCRIPT_EDIT = "transcript.edit"
    #: Run a recording's transcription job again (its tracks are transcribed anew).
    TRANSCRIPT_RUN = "transcript.run"
    #: Send one's camera for the identity check (本人確認): seen by the chair and staff only.
    IDENTITY_PUBLISH = "identity.publish"
    #: See the identity-check cameras of the committee's members.
    IDENTITY_VIEW = "identity.view"
    #: Ask a member to turn on their identity camera (the member's page is told who asked).
    IDENTITY_ASK = "identity.ask"
    # VRM avatars (issue 18; moderation/avatar_rules.py: whom a file may be bound to).
    #: Upload a VRM file for a member or a staff account (it waits for approval), see the
    #: uploaded files and their reports.
    AVATAR_UPLOAD = "avatar.upload"
    #: Approve an uploaded VRM file (it becomes public and is worn at the next join), or
    #: withdraw it.
    AVATAR_APPROVE = "avatar.approve"
    # The public gallery plane (issue 19; watch-only viewers without a seat).
    #: Let a gallery viewer into the room (a single-use citizen invitation), or send a
    #: participant back to the gallery.
    GALLERY_MOVE = "gallery.move"


class Cell(StrEnum):
    """What a role may do with an action."""

    YES = "Y"
    NO = "-"
    #: Only to themselves (e.g. lower their own hand).
    OWN = "S"
    #: Only in committee rooms.
    COMMITTEE = "C"


class Flag(StrEnum):
    """Conditions of a row that depend on the moment, not on the role."""

    #: Allowed while waiting in the lobby (everything else waits for admission).
    LOBBY = "lobby"
    #: Puts the actor's words or voice before others: refused while muted.
    VOICE = "voice"
    #: Only the person holding the floor.
    FLOOR = "floor"
    #: Only against someone of lower rank (a chair cannot remove staff).
    RANKED = "ranked"
    #: Written to the audit log.
    AUDIT = "audit"
    #: Outside the plaza, only while audible to the room: holding the floor, or of a role
    #: that speaks freely (``floor.speak_freely``).
    AUDIBLE = "audible"
    #: Only a signing account named on that draft, in the role it is named as.
    NAMED = "named"


#: The order of the role columns in the table below.
COLUMNS: tuple[Role, ...] = (
    Role.CITIZEN, Role.MEMBER, Role.CHAIR, Role.STAFF, Role.CAPTIONER, Role.OBSERVER,
)

# fmt: off
_TABLE: tuple[tuple[Action, str, str], ...] = (
    #                                cit mem cha sta cap obs
    (Action.ROOM_JOIN,              "Y   Y   Y   Y   Y   Y", "lobby"),
    (Action.ROOM_MOVE,              "Y   Y   Y   Y   Y   Y", ""),
    (Action.STAGE_ENTER,            "-   Y   Y   Y   -   -", ""),
    (Action.SEAT_TAKE,              "-   Y   Y   -   -   -", ""),
    (Action.LOBBY_BYPASS,           "-   -   Y   Y   Y   Y", ""),
    (Action.LOBBY_VIEW,             "-   -   Y   Y   -   -", ""),
    (Action.LOBBY_ADMIT,            "-   -   -   Y   -   -", "audit"),
    (Action.LOBBY_REFUSE,           "-   -   -   Y   -   -", "audit"),
    (Action.CHAT_SEND,              "Y   Y   Y   Y   -   -", "voice"),
    (Action.CHAT_REPORT,            "Y   Y   Y   Y   -   -", ""),
    (Action.CHAT_HIDE,              "-   -   -   Y   -   -", "audit"),
    (Action.CHAT_RESTORE,           "-   -   -   Y   -   -", "audit"),
    (Action.REPORTS_VIEW,           "-   -   -   Y   -   -", ""),
    (Action.REPORT_DISMISS,         "-   -   -   Y   -   -", "audit"),
    (Action.HAND_RAISE,             "Y   C   -   -   -   -", "voice"),
    (Action.HAND_LOWER,             "S   S   Y   Y   -   -", ""),
    (Action.FLOOR_HOLD,             "Y   Y   -   -   -   -", "voice"),
    (Action.FLOOR_SPEAK_FREELY,     "-   -   Y   Y   -   -", "voice"),
    (Action.FLOOR_GIVE,             "-   -   Y   Y   -   -", "audit"),
    (Action.FLOOR_REVOKE,           "-   -   Y   Y   -   -", "audit"),
    (Action.FLOOR_NEXT,             "-   -   Y   Y   -   -", "audit"),
    (Action.FLOOR_EXTEND,           "-   -   Y   Y   -   -", "audit"),
    (Action.FLOOR_YIELD,            "Y   Y   -   -   -   -", "floor"),
    (Action.AGENDA_EDIT,            "-   -   Y   Y   -   -", "audit"),
    (Action.AGENDA_ADVANCE,         "-   -   Y   Y   -   -", "audit"),
    (Action.MUTE,                   "-   -   Y   Y   -   -", "ranked audit"),
    (Action.UNMUTE,                 "-   -   Y   Y   -   -", "ranked audit"),
    (Action.REMOVE,                 "-   -   Y   Y   -   -", "ranked audit"),
    (Action.BAN,                    "-   -   -   Y   -   -", "ranked audit"),
    (Action.UNBAN,                  "-   -   -   Y   -   -", "audit"),
    (Action.SANCTIONS_VIEW,         "-   -   Y   Y   -   -", ""),
    (Action.INVITE,                 "-   -   -   Y   -   -", "audit"),
    (Action.OPINION_SUBMIT,         "Y   -   -   -   -   -", "voice"),
    (Action.OPINION_SUPPORT,        "Y   -   -   -   -   -", ""),
    (Action.OPINION_MARK,           "-   -   -   Y   -   -", "audit"),
    (Action.OPINION_MERGE,          "-   -   -   Y   -   -", "audit"),
    (Action.OPINION_RESPOND,        "-   -   -   Y   -   -", "audit"),
    (Action.OPINION_HIDE,           "-   -   -   Y   -   -", "audit"),
    (Action.QUESTION_ASK,           "Y   -   -   -   -   -", "voice"),
    (Action.QUESTION_VOTE,          "Y   -   -   -   -   -", ""),
    (Action.QUESTION_ANSWER,        "-   -   Y   Y   -   -", "audit"),
    (Action.QUESTION_DISMISS,       "-   -   Y   Y   -   -", "audit"),
    (Action.POLL_CREATE,            "-   -   Y   Y   -   -", "audit"),
    (Action.POLL_VOTE,              "Y   Y   -   -   -   -", ""),
    (Action.POLL_CLOSE,             "-   -   Y   Y   -   -", "audit"),
    (Action.POLL_EXPORT,            "-   -   -   Y   -   -", "audit"),
    (Action.CAPTION_POST,           "-   -   -   Y   Y   -", ""),
    (Action.NOTICE_POST,            "-   -   -   Y   -   -", "audit"),
    (Action.DATA_EXPORT,            "-   -   -   Y   -   -", "audit"),
    (Action.AUDIT_VIEW,             "-   -   -   Y   -   -", ""),
    (Action.TRACKING_VIEW,          "-   -   -   Y   -   -", ""),
    (Action.TRACKING_SERVER,        "-   Y   Y   Y   -   -", ""),
    (Action.RECORDING_START,        "-   -   -   Y   -   -", "audit"),
    (Action.RECORDING_STOP,         "-   -   -   Y   -   -", "audit"),
    (Action.RECORDING_VIEW,         "-   -   -   Y   -   -", ""),
    (Action.RECORDING_PUBLISH,      "-   -   -   Y   -   -", "audit"),
    (Action.AUDIO_PUBLISH,          "Y   Y   Y   Y   -   -", "voice audible"),
    (Action.ROOM_SETTINGS,          "-   -   -   Y   -   -", "audit"),
    (Action.COMMITTEE_ROLLCALL,     "-   -   C   C   -   -", "audit"),
    (Action.COMMITTEE_PRESENT,      "-   C   C   -   -   -", ""),
    (Action.COMMITTEE_ATTENDANCE,   "-   -   C   C   -   -", "audit"),
    (Action.COMMITTEE_VERIFY,       "-   -   C   C   -   -", "audit"),
    (Action.COMMITTEE_RECUSE,       "-   -   C   C   -   -", "audit"),
    (Action.COMMITTEE_MOTION,       "-   -   C   C   -   -", "audit"),
    (Action.COMMITTEE_CLOSED_SESSION, "-   -   C   C   -   -", "audit"),
    (Action.VOTE_OPEN,              "-   -   C   C   -   -", "audit"),
    (Action.VOTE_CAST,              "-   C   -   -   -   -", ""),
    (Action.VOTE_CLOSE,             "-   -   C   C   -   -", "audit"),
    (Action.VOTE_DECIDE,            "-   -   C   -   -   -", "audit"),
    (Action.VOTE_RERUN,             "-   -   C   C   -   -", "audit"),
    (Action.MINUTES_DRAFT,          "-   -   -   Y   -   -", "audit"),
    (Action.MINUTES_APPROVE,        "-   Y   Y   -   -   -", "named audit"),
    (Action.MINUTES_PUBLISH,        "-   -   -   Y   -   -", "audit"),
    (Action.TRANSCRIPT_EDIT,        "-   -   -   Y   -   -", "audit"),
    (Action.TRANSCRIPT_RUN,         "-   -   -   Y   -   -", "audit"),
    (Action.IDENTITY_PUBLISH,       "-   C   C   -   -   -", ""),
    (Action.IDENTITY_VIEW,          "-   -   Y   Y   -   -", ""),
    (Action.IDENTITY_ASK,           "-   -   C   C   -   -", "audit"),
    (Action.AVATAR_UPLOAD,          "-   -   -   Y   -   -", "audit"),
    (Action.AVATAR_APPROVE,         "-   -   -   Y   -   -", "audit"),
    (Action.GALLERY_MOVE,           "-   -   -   Y   -   -", "ranked audit"),
)
# fmt: on

#: Rank for :attr:`Flag.RANKED` rows: one may act only against someone ranked lower.
RANK: Mapping[Role, int] = MappingProxyType({
    Role.CITIZEN: 0, Role.OBSERVER: 0, Role.CAPTIONER: 1, Role.MEMBER: 1,
    Role.CHAIR: 2, Role.STAFF: 3,
})


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table."""

    cells: Mapping[Role, Cell]
    flags: frozenset[Flag]


def _parse() -> Mapping[Action, Rule]:
    rules: dict[Action, Rule] = {}
    for action, cells, flags in _TABLE:
        values = cells.split()
        if action in rules or len(values) != len(COLUMNS):
            raise AssertionError(f"policy table row {action} is malformed")
        rules[action] = Rule(
            cells=MappingProxyType({r: Cell(v) for r, v in zip(COLUMNS, values, strict=True)}),
            flags=frozenset(Flag(f) for f in flags.split()),
        )
    missing = set(Action) - set(rules)
    if missing:
        raise AssertionError(f"policy table has no row for {sorted(missing)}")
    return MappingProxyType(rules)


#: The table, parsed: one :class:`Rule` per action.
RULES: Mapping[Action, Rule] = _parse()


@dataclass(frozen=True, slots=True)
class Context:
    """What the rules need to know about the moment, beyond the actor's role."""

    kind: RoomKind = RoomKind.CONSULTATION
    muted: bool = False
    banned: bool = False
    in_lobby: bool = False
    #: Held out of a committee's closed session (秘密会): like the lobby, nothing but
    #: what the lobby allows (and leaving) until the session reopens.
    held_out: bool = False
    #: Watching from the public gallery: an observer's rights, whatever the role.
    gallery: bool = False
    holds_floor: bool = False
    target_self: bool = False
    #: Role of the person acted upon, when there is one and it is known.
    target_role: Role | None = None
    #: A signing account named on the draft acted on (:attr:`Flag.NAMED` rows).
    named_signer: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer: allowed, or denied with a reason code and an English message."""

    allowed: bool
    reason: Reason | None = None
    message: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def _deny(reason: Reason, message: str) -> Decision:
    return Decision(False, reason, message)


def _cell_allows(cell: Cell, ctx: Context) -> bool:
    if cell is Cell.YES:
        return True
    if cell is Cell.COMMITTEE:
        return ctx.kind is RoomKind.COMMITTEE
    if cell is Cell.OWN:
        return ctx.target_self
    return False


def _audible(role: Role, ctx: Context) -> bool:
    if ctx.kind is RoomKind.PLAZA or ctx.holds_floor:
        return True
    return _cell_allows(RULES[Action.FLOOR_SPEAK_FREELY].cells[role], ctx)


def decide(role: Role, action: Action, ctx: Context | None = None) -> Decision:
    """Whether someone of ``role`` may do ``action`` in the situation ``ctx``.

    Checked in this order, so that the reason is the most useful one: banned, waiting in
    the lobby, held out of a closed session, the role's cell (and the gallery's), muted,
    holding the floor (or being audible), target rank.
    """
    ctx = ctx or Context()
    rule = RULES[action]
    if ctx.banned:
        return _deny(Reason.BANNED, "you are banned")
    if ctx.in_lobby and Flag.LOBBY not in rule.flags:
        return _deny(Reason.IN_LOBBY, "wait until staff admit you from the lobby")
    if ctx.held_out and Flag.LOBBY not in rule.flags:
        return _deny(Reason.CLOSED_SESSION,
                     "the committee sits in closed session: wait until it reopens")
    cell = rule.cells[role]
    if not _cell_allows(cell, ctx):
        if cell is Cell.OWN:
            return _deny(Reason.FORBIDDEN, f"a {role} may {action} only for themselves")
        if cell is Cell.COMMITTEE:
            return _deny(Reason.FORBIDDEN, f"a {role} may {action} only in committee rooms")
        return _deny(Reason.FORBIDDEN, f"a {role} may not {action}")
    if ctx.gallery and not _cell_allows(rule.cells[Role.OBSERVER], ctx):
        return _deny(Reason.FORBIDDEN, "the public gallery only watches and listens")
    if ctx.muted and Flag.VOICE in rule.flags:
        return _deny(Reason.MUTED, "you are muted")
    if Flag.FLOOR in rule.flags and not ctx.holds_floor:
        return _deny(Reason.WRONG_STATE, "you do not hold the floor")
    if Flag.NAMED in rule.flags and not ctx.named_signer:
        return _deny(Reason.FORBIDDEN, "only a signer named on this draft")
    if Flag.AUDIBLE in rule.flags and not _audible(role, ctx):
        return _deny(Reason.WRONG_STATE, "you may speak once you are given the floor")
    if Flag.RANKED in rule.flags:
        if ctx.target_self:
            return _deny(Reason.FORBIDDEN, f"one may not {action} oneself")
        if ctx.target_role is not None and RANK[ctx.target_role] >= RANK[role]:
            return _deny(
                Reason.PROTECTED_TARGET, f"a {role} may not {action} a {ctx.target_role}"
            )
    return ALLOW


def require(role: Role, action: Action, ctx: Context | None = None) -> None:
    """Like :func:`decide`, raising :class:`PermissionDenied` with the reason when denied."""
    decision = decide(role, action, ctx)
    if not decision.allowed:
        assert decision.reason is not None
        raise PermissionDenied(decision.reason, decision.message)


def is_audited(action: Action) -> bool:
    """Whether doing ``action`` writes an audit-log entry."""
    return Flag.AUDIT in RULES[action].flags


def takes_seat(role: Role) -> bool:
    """Whether a participant of ``role`` is seated on the stage when they join."""
    return RULES[Action.SEAT_TAKE].cells[role] is Cell.YES


def may_enter_stage(role: Role) -> bool:
    """Whether a participant of ``role`` may walk onto the stage."""
    return RULES[Action.STAGE_ENTER].cells[role] is Cell.YES


_SYMBOLS = {Cell.YES: "✓", Cell.NO: "—", Cell.OWN: "own", Cell.COMMITTEE: "committee"}
_FLAG_WORDS = {
    Flag.LOBBY: "also while in the lobby",
    Flag.VOICE: "not while muted",
    Flag.FLOOR: "only while holding the floor",
    Flag.RANKED: "only against a lower rank",
    Flag.AUDIT: "audited",
    Flag.AUDIBLE: "outside the plaza only while holding the floor or speaking freely",
    Flag.NAMED: "only a signing account named on that draft, as the role it is named as",
}


def render_markdown() -> str:
    """The table as Markdown, for ``docs/meeting-procedure.md``."""
    head = "| action | " + " | ".join(r.value for r in COLUMNS) + " | conditions |"
    rule = "|---|" + "---|" * len(COLUMNS) + "---|"
    lines = [head, rule]
    for action, row in RULES.items():
        cells = " | ".join(_SYMBOLS[row.cells[r]] for r in COLUMNS)
        flags = "; ".join(_FLAG_WORDS[f] for f in Flag if f in row.flags)
        lines.append(f"| `{action.value}` | {cells} | {flags} |")
    return "\n".join(lines) + "\n"
