"""Q&A: citizens ask questions, others vote them up (once per person), staff or the chair
mark them answered or dismiss them. Open questions are listed most-voted first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from enum import StrEnum

from moderation.events import DomainEvent
from moderation.export import csv_text, iso_time
from moderation.limits import QUESTION_MAX, RESPONSE_MAX, clean_text, optional_reason
from rooms.errors import PermissionDenied, ProcedureError, Reason


class QuestionState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class Question:
    """A question as stored; ``voters`` are person keys."""

    id: int
    room: str
    author: str
    author_key: str
    author_name: str
    text: str
    at: float
    state: str = QuestionState.OPEN.value
    voters: tuple[str, ...] = ()
    answer: str = ""
    closed_by: str | None = None
    closed_at: float | None = None
    reason: str = ""

    @property
    def votes(self) -> int:
        return len(self.voters)


@dataclass(frozen=True, slots=True)
class QuestionView:
    """What clients see of a question."""

    id: int
    author_name: str
    text: str
    at: float
    state: str
    votes: int
    answer: str

    @classmethod
    def of(cls, q: Question) -> QuestionView:
        return cls(q.id, q.author_name, q.text, q.at, q.state, q.votes, q.answer)


@dataclass(frozen=True, slots=True)
class QuestionChanged(DomainEvent):
    topic = "question.changed"
    change: str
    question: QuestionView
    by: str | None


EXPORT_COLUMNS = ("id", "asked_at", "state", "votes", "text", "answer", "closed_at", "reason")


@dataclass
class Questions:
    """The Q&A of one room."""

    room: str
    _items: dict[int, Question] = field(default_factory=dict)
    _next_id: int = 1

    def get(self, question_id: int) -> Question:
        found = self._items.get(question_id)
        if found is None:
            raise ProcedureError(Reason.NO_SUCH_ITEM, f"no question {question_id}")
        return found

    def ranked(self, *, include_closed: bool = False) -> tuple[QuestionView, ...]:
        """Open questions (and closed ones if asked), most votes first, then oldest first."""
        shown = [q for q in self._items.values()
                 if include_closed or q.state == QuestionState.OPEN]
        shown.sort(key=lambda q: (q.state != QuestionState.OPEN, -q.votes, q.at, q.id))
        return tuple(QuestionView.of(q) for q in shown)

    def _changed(self, change: str, q: Question, now: float, by: str | None) -> QuestionChanged:
        self._items[q.id] = q
        return QuestionChanged(self.room, now, change=change, question=QuestionView.of(q), by=by)

    def _open(self, question_id: int) -> Question:
        q = self.get(question_id)
        if q.state != QuestionState.OPEN:
            raise ProcedureError(Reason.WRONG_STATE, f"question {q.id} is {q.state}")
        return q

    def ask(
        self, author: str, author_key: str, author_name: str, text: object, now: float
    ) -> QuestionChanged:
        q = Question(self._next_id, self.room, author, author_key, author_name,
                     clean_text(text, QUESTION_MAX, "question", multiline=True), now)
        self._next_id += 1
        return self._changed("asked", q, now, author)

    def vote(self, question_id: int, person: str, now: float) -> QuestionChanged:
        q = self._open(question_id)
        if person == q.author_key:
            raise PermissionDenied(Reason.FORBIDDEN, "you cannot vote for your own question")
        if person in q.voters:
            raise ProcedureError(Reason.DUPLICATE, "you already voted for this question")
        return self._changed("voted", replace(q, voters=tuple(sorted({*q.voters, person}))),
                             now, None)

    def unvote(self, question_id: int, person: str, now: float) -> QuestionChanged:
        q = self._open(question_id)
        if person not in q.voters:
            raise ProcedureError(Reason.WRONG_STATE, "you have not voted for this question")
        return self._changed("unvoted", replace(q, voters=tuple(v for v in q.voters
                                                                 if v != person)), now, None)

    def answer(
        self, question_id: int, now: float, *, by: str, text: object = None
    ) -> QuestionChanged:
        """Mark answered (usually answered aloud; ``text`` is an optional written answer)."""
        q = self._open(question_id)
        answer = "" if text in (None, "") else clean_text(text, RESPONSE_MAX, "answer",
                                                          multiline=True)
        q = replace(q, state=QuestionState.ANSWERED.value, answer=answer, closed_by=by,
                    closed_at=now)
        return self._changed("answered", q, now, by)

    def dismiss(
        self, question_id: int, now: float, *, by: str, reason: object = None
    ) -> QuestionChanged:
        q = self._open(question_id)
        q = replace(q, state=QuestionState.DISMISSED.value, closed_by=by, closed_at=now,
                    reason=optional_reason(reason))
        return self._changed("dismissed", q, now, by)

    def export_rows(self, tz: tzinfo = UTC) -> list[tuple[object, ...]]:
        """Every question for the archive, without who asked or voted; times in ``tz``."""
        return [
            (q.id, iso_time(q.at, tz), q.state, q.votes, q.text, q.answer,
             None if q.closed_at is None else iso_time(q.closed_at, tz), q.reason)
            for q in sorted(self._items.values(), key=lambda q: q.id)
        ]

    def export_csv(self) -> str:
        return csv_text(EXPORT_COLUMNS, self.export_rows())

    def to_records(self) -> tuple[Question, ...]:
        return tuple(self._items.values())

    @classmethod
    def from_records(cls, room: str, records: Iterable[Question]) -> Questions:
        items = {q.id: q for q in sorted(records, key=lambda q: q.id)}
        for q in items.values():
            QuestionState(q.state)
        return cls(room, items, max(items, default=0) + 1)
