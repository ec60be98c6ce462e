"""Polls: single or multiple choice, one ballot per person, live results, close, export.

A person may change their ballot while the poll is open; it still counts once. Each poll
names its electorate (the roles that may vote, citizens by default): a straw poll of
committee members and a citizens' poll are both polls. Ballots are secret: results and
exports hold counts only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from moderation.events import DomainEvent
from moderation.export import csv_text
from moderation.limits import (
    POLL_OPTION_MAX,
    POLL_OPTIONS_MAX,
    POLL_OPTIONS_MIN,
    POLL_QUESTION_MAX,
    clean_text,
)
from rooms.errors import PermissionDenied, ProcedureError, Reason, ValidationError
from rooms.model import Role


class PollState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class PollRecord:
    """A poll as stored, ballots included (person key → chosen option indexes)."""

    id: int
    room: str
    question: str
    options: tuple[str, ...]
    multiple: bool
    max_choices: int
    electorate: tuple[str, ...]
    state: str
    created_by: str
    created_at: float
    closed_by: str | None = None
    closed_at: float | None = None
    ballots: tuple[tuple[str, tuple[int, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class PollResults:
    """What everyone sees: the question, options and live counts."""

    id: int
    question: str
    options: tuple[str, ...]
    multiple: bool
    max_choices: int
    electorate: tuple[str, ...]
    state: str
    counts: tuple[int, ...]
    voters: int


@dataclass(frozen=True, slots=True)
class PollChanged(DomainEvent):
    """A poll opened, received a ballot, or closed (``change``); carries the results."""

    topic = "poll.changed"
    change: str
    poll: PollResults
    by: str | None


EXPORT_COLUMNS = ("poll_id", "question", "option_index", "option", "votes", "share_of_voters")


@dataclass
class _Poll:
    record: PollRecord
    ballots: dict[str, tuple[int, ...]]

    def results(self) -> PollResults:
        r = self.record
        counts = [0] * len(r.options)
        for choices in self.ballots.values():
            for c in choices:
                counts[c] += 1
        return PollResults(r.id, r.question, r.options, r.multiple, r.max_choices, r.electorate,
                           r.state, tuple(counts), len(self.ballots))


def _options(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not POLL_OPTIONS_MIN <= len(raw) <= POLL_OPTIONS_MAX:
        raise ValidationError(
            Reason.BAD_FIELD, f"a poll has {POLL_OPTIONS_MIN} to {POLL_OPTIONS_MAX} options"
        )
    options = tuple(clean_text(o, POLL_OPTION_MAX, "option") for o in raw)
    if len({o.casefold() for o in options}) != len(options):
        raise ValidationError(Reason.BAD_FIELD, "poll options must differ")
    return options


@dataclass
class Polls:
    """The polls of one room."""

    room: str
    _polls: dict[int, _Poll] = field(default_factory=dict)
    _next_id: int = 1

    def _get(self, poll_id: int) -> _Poll:
        found = self._polls.get(poll_id)
        if found is None:
            raise ProcedureError(Reason.NO_SUCH_ITEM, f"no poll {poll_id}")
        return found

    def results(self, poll_id: int) -> PollResults:
        return self._get(poll_id).results()

    def all_results(self) -> tuple[PollResults, ...]:
        return tuple(p.results() for p in self._polls.values())

    def record(self, poll_id: int) -> PollRecord:
        """The poll as stored, without its ballots (see :meth:`ballot`)."""
        return self._get(poll_id).record

    def ballot(self, poll_id: int, person: str) -> tuple[int, ...] | None:
        """``person``'s current choices in a poll, or None if they have not voted."""
        return self._get(poll_id).ballots.get(person)

    def create(
        self, question: object, options: object, now: float, *, by: str,
        multiple: bool = False, max_choices: int | None = None,
        electorate: Sequence[Role] = (Role.CITIZEN,),
    ) -> PollChanged:
        opts = _options(options)
        limit = len(opts) if max_choices is None or not multiple else max_choices
        if not multiple:
            limit = 1
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= len(opts):
            raise ValidationError(Reason.BAD_FIELD, f"max_choices must be 1 to {len(opts)}")
        if not electorate:
            raise ValidationError(Reason.BAD_FIELD, "a poll needs an electorate")
        record = PollRecord(
            self._next_id, self.room, clean_text(question, POLL_QUESTION_MAX, "question"), opts,
            multiple, limit, tuple(sorted({Role(r).value for r in electorate})),
            PollState.OPEN.value, by, now,
        )
        self._next_id += 1
        poll = self._polls[record.id] = _Poll(record, {})
        return PollChanged(self.room, now, change="opened", poll=poll.results(), by=by)

    def vote(
        self, poll_id: int, person: str, role: Role, choices: object, now: float
    ) -> PollChanged:
        """Cast (or replace) ``person``'s ballot: option indexes, counting from 0."""
        poll = self._get(poll_id)
        r = poll.record
        if r.state != PollState.OPEN:
            raise ProcedureError(Reason.WRONG_STATE, f"poll {poll_id} is {r.state}")
        if role.value not in r.electorate:
            raise PermissionDenied(Reason.FORBIDDEN, f"a {role} may not vote in poll {poll_id}")
        if not isinstance(choices, list | tuple) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in choices
        ):
            raise ValidationError(Reason.BAD_FIELD, "choices must be a list of option numbers")
        chosen = tuple(sorted(set(choices)))
        if len(chosen) != len(choices) or any(not 0 <= c < len(r.options) for c in chosen):
            raise ValidationError(Reason.BAD_FIELD, "choices must be distinct existing options")
        if not 1 <= len(chosen) <= r.max_choices:
            raise ValidationError(
                Reason.BAD_FIELD,
                "choose exactly one option" if not r.multiple
                else f"choose 1 to {r.max_choices} options",
            )
        poll.ballots[person] = chosen
        return PollChanged(self.room, now, change="voted", poll=poll.results(), by=None)

    def close(self, poll_id: int, now: float, *, by: str) -> PollChanged:
        poll = self._get(poll_id)
        if poll.record.state != PollState.OPEN:
            raise ProcedureError(Reason.WRONG_STATE, f"poll {poll_id} is {poll.record.state}")
        poll.record = replace(poll.record, state=PollState.CLOSED.value, closed_by=by,
                              closed_at=now)
        return PollChanged(self.room, now, change="closed", poll=poll.results(), by=by)

    def export_rows(self, poll_id: int) -> list[tuple[object, ...]]:
        """One row per option: its votes and share of voters (a percentage, 1 decimal)."""
        res = self.results(poll_id)
        return [
            (res.id, res.question, i, option, count,
             round(100.0 * count / res.voters, 1) if res.voters else 0.0)
            for i, (option, count) in enumerate(zip(res.options, res.counts, strict=True))
        ]

    def export_csv(self, poll_id: int) -> str:
        return csv_text(EXPORT_COLUMNS, self.export_rows(poll_id))

    def to_records(self) -> tuple[PollRecord, ...]:
        return tuple(
            replace(p.record, ballots=tuple(sorted(p.ballots.items())))
            for p in self._polls.values()
        )

    @classmethod
    def from_records(cls, room: str, records: Iterable[PollRecord]) -> Polls:
        polls = {}
        for r in sorted(records, key=lambda r: r.id):
            PollState(r.state)
            polls[r.id] = _Poll(r, dict(r.ballots))
        return cls(room, polls, max(polls, default=0) + 1)
