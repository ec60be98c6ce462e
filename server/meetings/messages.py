"""Incoming meeting messages (chat, floor, agenda, sanctions, consultation tools), validated
at the edge into frozen dataclasses.

Each message class lists its fields with a checker (``text``, ``ident``, ``pid``...);
:meth:`Message.parse` refuses payloads that are not objects, carry unknown fields, miss
required ones, or hold values of the wrong type or size. Length limits here are the raw
ceilings (generous, so that cleaning can shrink a text); the meeting core applies the
exact limits after cleaning and answers ``too_long`` itself.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from moderation import limits
from rooms.errors import Reason, ValidationError

M = TypeVar("M", bound="Message")
Check = Callable[[str, object], object]
_PID = re.compile(r"p_[0-9a-f]{10}")
#: Longest list of ids (agenda order, poll choices) and of poll options accepted.
MAX_LIST = 100


def _fail(reason: Reason, message: str) -> ValidationError:
    return ValidationError(reason, message)


def chars(limit: int) -> Check:
    """A string of at most ``limit`` characters after cleaning (raw: ``RAW_FACTOR`` times)."""

    def check(name: str, value: object) -> object:
        if not isinstance(value, str):
            raise _fail(Reason.BAD_FIELD, f"{name} must be a string")
        if len(value) > limit * limits.RAW_FACTOR:
            raise _fail(Reason.TOO_LONG, f"{name} is longer than {limit} characters")
        return value

    return check


def ident(name: str, value: object) -> object:
    """An item id: a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**53:
        raise _fail(Reason.BAD_FIELD, f"{name} must be a positive integer id")
    return value


def pid(name: str, value: object) -> object:
    """A participant id, as the server makes them."""
    if not isinstance(value, str) or not _PID.fullmatch(value):
        raise _fail(Reason.BAD_FIELD, f"{name} must be a participant id")
    return value


def seconds(name: str, value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(Reason.BAD_FIELD, f"{name} must be a number of seconds")
    return value


def flag(name: str, value: object) -> object:
    if not isinstance(value, bool):
        raise _fail(Reason.BAD_FIELD, f"{name} must be true or false")
    return value


def ids(name: str, value: object) -> object:
    """A list of non-negative integers (agenda order, poll choices)."""
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise _fail(Reason.BAD_FIELD, f"{name} must be a list of at most {MAX_LIST} numbers")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**53:
            raise _fail(Reason.BAD_FIELD, f"{name} must hold whole numbers")
    return tuple(value)


def strings(item_limit: int, count: int) -> Check:
    def check(name: str, value: object) -> object:
        if not isinstance(value, list) or len(value) > count:
            raise _fail(Reason.BAD_FIELD, f"{name} must be a list of at most {count} strings")
        return tuple(chars(item_limit)(name, v) for v in value)

    return check


def one_of(*choices: str) -> Check:
    def check(name: str, value: object) -> object:
        if value not in choices:
            raise _fail(Reason.BAD_FIELD, f"{name} must be one of {', '.join(choices)}")
        return value

    return check


def planned_seconds(name: str, value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(Reason.BAD_FIELD, f"{name} must be whole seconds")
    return value


def index_from_zero(name: str, value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LIST:
        raise _fail(Reason.BAD_FIELD, f"{name} must be a position from 0")
    return value


def room_id(name: str, value: object) -> object:
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise _fail(Reason.BAD_FIELD, f"{name} must be 1-64 characters")
    return value


def _f(check: Check, *, optional: bool = False) -> Any:
    """A message field: required unless ``optional`` (then None when absent or null)."""
    if optional:
        return field(default=None, metadata={"check": check})
    return field(metadata={"check": check})


@dataclass(frozen=True, slots=True)
class Message:
    """Base of every meeting message; subclasses are frozen dataclasses of checked fields."""

    @classmethod
    def parse(cls: type[M], payload: object) -> M:
        """Check ``payload`` and build the message, or raise ``ValidationError``."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if payload is None and all(f.default is None for f in fields.values()):
            payload = {}
        if not isinstance(payload, Mapping):
            raise _fail(Reason.BAD_PAYLOAD, "payload must be a JSON object")
        for key in payload:
            if not isinstance(key, str) or key not in fields:
                raise _fail(Reason.UNKNOWN_FIELD, f"unknown field: {str(key)[:40]}")
        values: dict[str, object] = {}
        for name, f in fields.items():
            raw = payload.get(name)
            if raw is None:
                if f.default is dataclasses.MISSING:
                    raise _fail(Reason.MISSING_FIELD, f"missing field: {name}")
                continue
            values[name] = f.metadata["check"](name, raw)
        return cls(**values)


def _reason() -> Any:
    return _f(chars(limits.REASON_MAX), optional=True)


# -- chat ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ChatSend(Message):
    text: str = _f(chars(limits.CHAT_MAX))


@dataclass(frozen=True, slots=True)
class ChatReport(Message):
    message: int = _f(ident)
    reason: str | None = _reason()


@dataclass(frozen=True, slots=True)
class ChatHide(Message):
    message: int = _f(ident)
    reason: str | None = _reason()


@dataclass(frozen=True, slots=True)
class ChatRestore(Message):
    message: int = _f(ident)


@dataclass(frozen=True, slots=True)
class ReportDismiss(Message):
    report: int = _f(ident)


# -- floor --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Empty(Message):
    pass


@dataclass(frozen=True, slots=True)
class HandLower(Message):
    target: str | None = _f(pid, optional=True)


@dataclass(frozen=True, slots=True)
class FloorGive(Message):
    target: str | None = _f(pid, optional=True)
    limit: float | None = _f(seconds, optional=True)
    unlimited: bool | None = _f(flag, optional=True)


@dataclass(frozen=True, slots=True)
class FloorNext(Message):
    limit: float | None = _f(seconds, optional=True)
    unlimited: bool | None = _f(flag, optional=True)


@dataclass(frozen=True, slots=True)
class FloorRevoke(Message):
    reason: str | None = _reason()


@dataclass(frozen=True, slots=True)
class FloorExtend(Message):
    seconds: float = _f(seconds)


# -- agenda -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AgendaAdd(Message):
    title: str = _f(chars(limits.TITLE_MAX))
    planned: int = _f(planned_seconds)
    position: int | None = _f(index_from_zero, optional=True)


@dataclass(frozen=True, slots=True)
class AgendaEdit(Message):
    item: int = _f(ident)
    title: str | None = _f(chars(limits.TITLE_MAX), optional=True)
    planned: int | None = _f(planned_seconds, optional=True)


@dataclass(frozen=True, slots=True)
class AgendaItemRef(Message):
    item: int = _f(ident)


@dataclass(frozen=True, slots=True)
class AgendaReorder(Message):
    order: tuple[int, ...] = _f(ids)


# -- lobby and sanctions ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Target(Message):
    target: str = _f(pid)


@dataclass(frozen=True, slots=True)
class LobbyRefuse(Message):
    target: str = _f(pid)
    reason: str | None = _reason()


@dataclass(frozen=True, slots=True)
class Sanction(Message):
    target: str = _f(pid)
    reason: str | None = _reason()
    duration: float | None = _f(seconds, optional=True)


@dataclass(frozen=True, slots=True)
class SanctionLift(Message):
    sanction: int = _f(ident)


@dataclass(frozen=True, slots=True)
class InviteCreate(Message):
    role: str = _f(one_of("member", "chair", "observer", "captioner"))
    name: str | None = _f(chars(24), optional=True)
    ttl: int | None = _f(planned_seconds, optional=True)


# -- opinions and questions ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OpinionSubmit(Message):
    text: str = _f(chars(limits.OPINION_MAX))
    category: str | None = _f(chars(limits.CATEGORY_MAX), optional=True)


@dataclass(frozen=True, slots=True)
class OpinionRef(Message):
    opinion: int = _f(ident)


@dataclass(frozen=True, slots=True)
class OpinionMark(Message):
    opinion: int = _f(ident)
    status: str = _f(chars(40))


@dataclass(frozen=True, slots=True)
class OpinionMerge(Message):
    source: int = _f(ident)
    target: int = _f(ident)


@dataclass(frozen=True, slots=True)
class OpinionRespond(Message):
    opinion: int = _f(ident)
    text: str = _f(chars(limits.RESPONSE_MAX))


@dataclass(frozen=True, slots=True)
class OpinionHide(Message):
    opinion: int = _f(ident)
    hidden: bool = _f(flag)
    reason: str | None = _reason()


@dataclass(frozen=True, slots=True)
class QuestionAsk(Message):
    text: str = _f(chars(limits.QUESTION_MAX))


@dataclass(frozen=True, slots=True)
class QuestionVote(Message):
    question: int = _f(ident)
    withdraw: bool | None = _f(flag, optional=True)


@dataclass(frozen=True, slots=True)
class QuestionAnswer(Message):
    question: int = _f(ident)
    text: str | None = _f(chars(limits.RESPONSE_MAX), optional=True)


@dataclass(frozen=True, slots=True)
class QuestionDismiss(Message):
    question: int = _f(ident)
    reason: str | None = _reason()


# -- polls and captions -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PollCreate(Message):
    question: str = _f(chars(limits.POLL_QUESTION_MAX))
    options: tuple[str, ...] = _f(strings(limits.POLL_OPTION_MAX, limits.POLL_OPTIONS_MAX))
    multiple: bool | None = _f(flag, optional=True)
    max_choices: int | None = _f(ident, optional=True)
    electorate: str | None = _f(one_of("citizens", "members", "both"), optional=True)


@dataclass(frozen=True, slots=True)
class PollVote(Message):
    poll: int = _f(ident)
    choices: tuple[int, ...] = _f(ids)


@dataclass(frozen=True, slots=True)
class PollRef(Message):
    poll: int = _f(ident)


@dataclass(frozen=True, slots=True)
class CaptionPost(Message):
    text: str = _f(chars(limits.CAPTION_MAX))


@dataclass(frozen=True, slots=True)
class CaptionCorrect(Message):
    text: str = _f(chars(limits.CAPTION_MAX))
    seq: int | None = _f(ident, optional=True)


@dataclass(frozen=True, slots=True)
class ConsoleJoin(Message):
    room: str = _f(room_id)


@dataclass(frozen=True, slots=True)
class RecordingRoom(Message):
    """``recording:start`` / ``recording:stop``: the room (the console's own)."""

    room: str = _f(room_id)


# -- committees (issue 16, part A) ----------------------------------------------------------

def member_ref(name: str, value: object) -> object:
    """A committee member id (``m:`` + the name on their invitation)."""
    if not isinstance(value, str) or not value.startswith("m:") or not 3 <= len(value) <= 80:
        raise _fail(Reason.BAD_FIELD, f"{name} must be a committee member id (m:...)")
    return value


@dataclass(frozen=True, slots=True)
class CommitteeRollcall(Message):
    open: bool = _f(flag)


@dataclass(frozen=True, slots=True)
class CommitteeAttendance(Message):
    member: str = _f(member_ref)
    status: str = _f(one_of("present", "late", "left", "disconnected", "absent", "unknown"))
    reason: str = _f(chars(limits.REASON_MAX))


@dataclass(frozen=True, slots=True)
class CommitteeVerify(Message):
    member: str = _f(member_ref)
    method: str = _f(one_of("video", "other"))
    reason: str | None = _reason()


@dataclass(frozen=True, slots=True)
class CommitteeRecuse(Message):
    member: str = _f(member_ref)
    motion: int = _f(ident)
    recused: bool = _f(flag)
    reason: str | None = _reason()


@dataclass(frozen=True, slots=True)
class CommitteeMotion(Message):
    title: str = _f(chars(limits.TITLE_MAX))
    agenda_item: int | None = _f(ident, optional=True)
    amends: int | None = _f(ident, optional=True)


@dataclass(frozen=True, slots=True)
class CommitteeClosedSession(Message):
    closed: bool = _f(flag)
    reason: str | None = _reason()


@dataclass(frozen=True, slots=True)
class VoteOpen(Message):
    motion: int = _f(ident)
    method: str = _f(one_of("hands", "standing", "named", "assent"))


@dataclass(frozen=True, slots=True)
class VoteCast(Message):
    """A member's own vote. ``member`` may be sent only as the sender's own id (a page
    that names the member it shows); any other is refused ``forbidden``."""

    vote: int = _f(ident)
    choice: str = _f(one_of("yes", "no", "abstain", "object", "none"))
    member: str | None = _f(member_ref, optional=True)


@dataclass(frozen=True, slots=True)
class IdentityAsk(Message):
    """The chair or staff ask ``member`` to turn on their identity camera."""

    member: str = _f(member_ref)


@dataclass(frozen=True, slots=True)
class VoteRef(Message):
    vote: int = _f(ident)


@dataclass(frozen=True, slots=True)
class VoteDecide(Message):
    vote: int = _f(ident)
    outcome: str = _f(one_of("passed", "rejected"))


@dataclass(frozen=True, slots=True)
class VoteRerun(Message):
    vote: int = _f(ident)
    reason: str = _f(chars(limits.REASON_MAX))
