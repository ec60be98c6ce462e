"""Room chat: messages, the NG-word filter, a per-person rate limit, reports into a
moderation queue, and hide/restore by staff.

Text is plain text, cleaned by :func:`moderation.limits.clean_text` (one line, at most
``CHAT_MAX`` characters). A message with an NG word is refused outright (``ng_word``) and
never stored: the sender may rephrase. Hidden messages stay in the record for staff and
the audit trail; everyone else is sent :class:`ChatHidden` and removes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from moderation.events import DomainEvent
from moderation.limits import CHAT_MAX, clean_text, optional_reason
from moderation.rate_limit import KeyedBuckets
from moderation.wordfilter import WordFilter
from rooms.errors import HirobaError, ProcedureError, Reason, ValidationError

#: A person may send a burst of this many messages, then one every 2 seconds on average.
CHAT_BURST = 5.0
CHAT_RATE = 0.5
#: Messages kept in memory per room (what a newcomer sees and staff can act on).
HISTORY = 300


class ReportState(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A message as stored."""

    id: int
    room: str
    author: str
    author_name: str
    author_role: str
    text: str
    at: float
    hidden: bool = False
    hidden_by: str | None = None
    hidden_at: float | None = None
    hidden_reason: str = ""


@dataclass(frozen=True, slots=True)
class ChatReport:
    """A report of a message into the moderation queue."""

    id: int
    room: str
    message_id: int
    reporter: str
    reason: str
    at: float
    state: str = ReportState.OPEN.value
    resolved_by: str | None = None
    resolved_at: float | None = None


@dataclass(frozen=True, slots=True)
class ChatPosted(DomainEvent):
    topic = "chat.posted"
    message: ChatMessage


@dataclass(frozen=True, slots=True)
class ChatHidden(DomainEvent):
    topic = "chat.hidden"
    message: ChatMessage


@dataclass(frozen=True, slots=True)
class ChatRestored(DomainEvent):
    topic = "chat.restored"
    message: ChatMessage


@dataclass(frozen=True, slots=True)
class MessageReported(DomainEvent):
    """For staff only: a new entry in the moderation queue."""

    topic = "chat.reported"
    report: ChatReport


@dataclass(frozen=True, slots=True)
class ReportResolved(DomainEvent):
    topic = "chat.report_resolved"
    report: ChatReport


@dataclass
class Chat:
    """The chat of one room."""

    room: str
    words: WordFilter
    limiter: KeyedBuckets = field(default_factory=lambda: KeyedBuckets(CHAT_RATE, CHAT_BURST))
    history: int = HISTORY
    _messages: dict[int, ChatMessage] = field(default_factory=dict)
    _reports: dict[int, ChatReport] = field(default_factory=dict)
    _next_message: int = 1
    _next_report: int = 1

    def messages(self, *, include_hidden: bool = False) -> tuple[ChatMessage, ...]:
        """Recent messages, oldest first (hidden ones only for staff)."""
        return tuple(m for m in self._messages.values() if include_hidden or not m.hidden)

    @property
    def next_ids(self) -> tuple[int, int]:
        """The ids the next message and the next report will get."""
        return self._next_message, self._next_report

    def queue(self) -> tuple[ChatReport, ...]:
        """Open reports, oldest first: the moderation queue."""
        return tuple(r for r in self._reports.values() if r.state == ReportState.OPEN)

    def message(self, message_id: int) -> ChatMessage:
        found = self._messages.get(message_id)
        if found is None:
            raise ProcedureError(Reason.NO_SUCH_ITEM, f"no message {message_id} in {self.room}")
        return found

    def post(
        self, author: str, author_name: str, author_role: str, raw: object, now: float,
        *, person: str | None = None,
    ) -> ChatPosted:
        """Post a message; ``person`` keys the rate limit (defaults to ``author``)."""
        text = clean_text(raw, CHAT_MAX, "message")
        if self.words.find(text):
            raise ValidationError(Reason.NG_WORD, "the message contains a word that is not allowed")
        if not self.limiter.allow(person or author, now):
            raise HirobaError(Reason.RATE_LIMITED, "you are sending messages too fast")
        message = ChatMessage(self._next_message, self.room, author, author_name, author_role,
                              text, now)
        self._next_message += 1
        self._messages[message.id] = message
        self._forget_old()
        return ChatPosted(self.room, now, message=message)

    def _forget_old(self) -> None:
        reported = {r.message_id for r in self.queue()}
        excess = len(self._messages) - self.history
        for message_id in list(self._messages):
            if excess <= 0:
                break
            if message_id not in reported:  # the queue keeps what it refers to
                del self._messages[message_id]
                excess -= 1
        kept = self._messages.keys()
        self._reports = {k: r for k, r in self._reports.items() if r.message_id in kept}

    def report(
        self, reporter: str, message_id: int, raw_reason: object, now: float
    ) -> MessageReported:
        message = self.message(message_id)
        if message.author == reporter:
            raise ValidationError(Reason.BAD_FIELD, "you cannot report your own message")
        if message.hidden:
            raise ProcedureError(Reason.WRONG_STATE, f"message {message_id} is already hidden")
        if any(r.message_id == message_id and r.reporter == reporter
               for r in self._reports.values()):
            raise ProcedureError(Reason.DUPLICATE, "you have already reported this message")
        report = ChatReport(self._next_report, self.room, message_id, reporter,
                            optional_reason(raw_reason), now)
        self._next_report += 1
        self._reports[report.id] = report
        return MessageReported(self.room, now, report=report)

    def hide(
        self, message_id: int, by: str, reason: str, now: float
    ) -> list[DomainEvent]:
        """Hide a message; its open reports are resolved as upheld."""
        message = self.message(message_id)
        if message.hidden:
            raise ProcedureError(Reason.WRONG_STATE, f"message {message_id} is already hidden")
        hidden = replace(message, hidden=True, hidden_by=by, hidden_at=now, hidden_reason=reason)
        self._messages[message_id] = hidden
        events: list[DomainEvent] = [ChatHidden(self.room, now, message=hidden)]
        for r in self.queue():
            if r.message_id == message_id:
                events.append(self._resolve(r, ReportState.UPHELD, by, now))
        return events

    def restore(self, message_id: int, by: str, now: float) -> ChatRestored:
        message = self.message(message_id)
        if not message.hidden:
            raise ProcedureError(Reason.WRONG_STATE, f"message {message_id} is not hidden")
        shown = replace(message, hidden=False, hidden_by=None, hidden_at=None, hidden_reason="")
        self._messages[message_id] = shown
        return ChatRestored(self.room, now, message=shown)

    def dismiss(self, report_id: int, by: str, now: float) -> ReportResolved:
        """Close a report without hiding the message."""
        report = self._reports.get(report_id)
        if report is None:
            raise ProcedureError(Reason.NO_SUCH_ITEM, f"no report {report_id}")
        if report.state != ReportState.OPEN:
            raise ProcedureError(Reason.WRONG_STATE, f"report {report_id} is {report.state}")
        return self._resolve(report, ReportState.DISMISSED, by, now)

    def _resolve(
        self, report: ChatReport, state: ReportState, by: str, now: float
    ) -> ReportResolved:
        done = replace(report, state=state.value, resolved_by=by, resolved_at=now)
        self._reports[report.id] = done
        return ReportResolved(self.room, now, report=done)

    def to_records(self) -> tuple[tuple[ChatMessage, ...], tuple[ChatReport, ...]]:
        return tuple(self._messages.values()), tuple(self._reports.values())

    @classmethod
    def from_records(
        cls, room: str, words: WordFilter, messages: Iterable[ChatMessage],
        reports: Iterable[ChatReport] = (), *, history: int = HISTORY,
        next_message_id: int | None = None, next_report_id: int | None = None,
    ) -> Chat:
        """Rebuild from stored records: the most recent ``history`` messages, the reports
        that refer to them, and every open report. Older records may stay in storage only;
        then pass the next free ids, so that new ids never repeat stored ones."""
        msgs = {m.id: m for m in sorted(messages, key=lambda m: m.id)}
        reps = {r.id: r for r in sorted(reports, key=lambda r: r.id)}
        for r in reps.values():
            ReportState(r.state)
        return cls(
            room, words, history=history, _messages=msgs, _reports=reps,
            _next_message=max(max(msgs, default=0) + 1, next_message_id or 0),
            _next_report=max(max(reps, default=0) + 1, next_report_id or 0),
        )
