"""Opinions (意見): citizens submit them with a category, others support them (once per
person), staff mark, merge, respond to and hide them.

People are identified by a *person key* (see :mod:`moderation.roster`): stable across a
reconnect, never a device token itself. Supporter keys stay in the records; what goes to
clients and exports is an :class:`OpinionView` with counts only.

Merging folds a duplicate into another opinion: the duplicate's supporters and its author
become supporters of the target, counted once each (a set union), and the duplicate is
marked ``merged``. The target's own author never counts as its supporter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from enum import StrEnum

from moderation.events import DomainEvent
from moderation.export import csv_text, iso_time
from moderation.limits import CATEGORY_MAX, OPINION_MAX, RESPONSE_MAX, clean_text
from rooms.errors import PermissionDenied, ProcedureError, Reason, ValidationError


class OpinionStatus(StrEnum):
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    ADOPTED = "adopted"
    PARTLY_ADOPTED = "partly_adopted"
    NOT_ADOPTED = "not_adopted"
    NOTED = "noted"
    MERGED = "merged"


#: Statuses staff may set by marking (``merged`` comes only from merging).
MARKS = frozenset(OpinionStatus) - {OpinionStatus.MERGED}


@dataclass(frozen=True, slots=True)
class Opinion:
    """An opinion as stored."""

    id: int
    room: str
    author: str
    author_key: str
    author_name: str
    category: str
    text: str
    at: float
    status: str = OpinionStatus.SUBMITTED.value
    supporters: tuple[str, ...] = ()
    merged_into: int | None = None
    response: str = ""
    responded_by: str | None = None
    responded_at: float | None = None
    hidden: bool = False

    @property
    def supports(self) -> int:
        return len(self.supporters)


@dataclass(frozen=True, slots=True)
class OpinionView:
    """What clients see of an opinion."""

    id: int
    author_name: str
    category: str
    text: str
    at: float
    status: str
    supports: int
    merged_into: int | None
    response: str
    hidden: bool

    @classmethod
    def of(cls, o: Opinion) -> OpinionView:
        return cls(o.id, o.author_name, o.category, o.text, o.at, o.status, o.supports,
                   o.merged_into, o.response, o.hidden)


@dataclass(frozen=True, slots=True)
class OpinionChanged(DomainEvent):
    """An opinion was submitted or changed (``change`` says how)."""

    topic = "opinion.changed"
    change: str
    opinion: OpinionView
    by: str | None


EXPORT_COLUMNS = ("id", "submitted_at", "category", "status", "supports", "text",
                  "merged_into", "response", "responded_at", "hidden")


@dataclass
class Opinions:
    """The opinions of one consultation room."""

    room: str
    #: Allowed categories; empty means any short category (or none).
    categories: tuple[str, ...] = ()
    _items: dict[int, Opinion] = field(default_factory=dict)
    _next_id: int = 1

    def get(self, opinion_id: int) -> Opinion:
        found = self._items.get(opinion_id)
        if found is None:
            raise ProcedureError(Reason.NO_SUCH_ITEM, f"no opinion {opinion_id}")
        return found

    def ranked(self, *, include_hidden: bool = False) -> tuple[OpinionView, ...]:
        """Opinions, most supported first, then oldest first; merged ones left out."""
        shown = [o for o in self._items.values()
                 if o.merged_into is None and (include_hidden or not o.hidden)]
        shown.sort(key=lambda o: (-o.supports, o.id))
        return tuple(OpinionView.of(o) for o in shown)

    def _category(self, raw: object) -> str:
        if raw is None or raw == "":
            if self.categories:
                raise ValidationError(Reason.BAD_FIELD, "choose a category")
            return ""
        category = clean_text(raw, CATEGORY_MAX, "category")
        if self.categories and category not in self.categories:
            raise ValidationError(Reason.BAD_FIELD, f"unknown category {category!r}")
        return category

    def _changed(self, change: str, o: Opinion, now: float, by: str | None) -> OpinionChanged:
        self._items[o.id] = o
        return OpinionChanged(self.room, now, change=change, opinion=OpinionView.of(o), by=by)

    def submit(
        self, author: str, author_key: str, author_name: str, category: object, text: object,
        now: float,
    ) -> OpinionChanged:
        opinion = Opinion(
            self._next_id, self.room, author, author_key, author_name, self._category(category),
            clean_text(text, OPINION_MAX, "opinion", multiline=True), now,
        )
        self._next_id += 1
        return self._changed("submitted", opinion, now, author)

    def _live(self, opinion_id: int) -> Opinion:
        o = self.get(opinion_id)
        if o.merged_into is not None:
            raise ProcedureError(
                Reason.WRONG_STATE, f"opinion {o.id} was merged into opinion {o.merged_into}"
            )
        if o.hidden:
            raise ProcedureError(Reason.WRONG_STATE, f"opinion {o.id} is hidden")
        return o

    def support(self, opinion_id: int, person: str, now: float) -> OpinionChanged:
        o = self._live(opinion_id)
        if person == o.author_key:
            raise PermissionDenied(Reason.FORBIDDEN, "you cannot support your own opinion")
        if person in o.supporters:
            raise ProcedureError(Reason.DUPLICATE, "you already support this opinion")
        o = replace(o, supporters=tuple(sorted({*o.supporters, person})))
        return self._changed("supported", o, now, None)

    def withdraw(self, opinion_id: int, person: str, now: float) -> OpinionChanged:
        o = self._live(opinion_id)
        if person not in o.supporters:
            raise ProcedureError(Reason.WRONG_STATE, "you do not support this opinion")
        o = replace(o, supporters=tuple(s for s in o.supporters if s != person))
        return self._changed("withdrawn", o, now, None)

    def mark(self, opinion_id: int, status: object, now: float, *, by: str) -> OpinionChanged:
        mark = next((m for m in MARKS if m.value == status), None)
        if mark is None:
            raise ValidationError(Reason.BAD_FIELD, f"status must be one of {sorted(MARKS)}")
        o = self.get(opinion_id)
        if o.merged_into is not None:
            raise ProcedureError(Reason.WRONG_STATE, f"opinion {o.id} was merged")
        return self._changed("marked", replace(o, status=mark.value), now, by)

    def merge(
        self, source_id: int, target_id: int, now: float, *, by: str
    ) -> list[DomainEvent]:
        """Fold ``source`` into ``target``; supports are combined without double counting."""
        if source_id == target_id:
            raise ValidationError(Reason.BAD_FIELD, "an opinion cannot be merged into itself")
        source, target = self._live(source_id), self._live(target_id)
        backers = ({*target.supporters, *source.supporters, source.author_key}
                   - {target.author_key})
        target = replace(target, supporters=tuple(sorted(backers)))
        source = replace(source, status=OpinionStatus.MERGED.value, merged_into=target.id,
                         supporters=())
        return [self._changed("merged", source, now, by), self._changed("grew", target, now, by)]

    def respond(self, opinion_id: int, text: object, now: float, *, by: str) -> OpinionChanged:
        """Publish (or replace) the city's response to an opinion."""
        response = clean_text(text, RESPONSE_MAX, "response", multiline=True)
        o = replace(self.get(opinion_id), response=response, responded_by=by, responded_at=now)
        return self._changed("responded", o, now, by)

    def set_hidden(
        self, opinion_id: int, hidden: bool, now: float, *, by: str
    ) -> OpinionChanged:
        o = self.get(opinion_id)
        if o.hidden == hidden:
            raise ProcedureError(Reason.WRONG_STATE, f"opinion {o.id} is already "
                                 + ("hidden" if hidden else "shown"))
        return self._changed("hidden" if hidden else "restored", replace(o, hidden=hidden),
                             now, by)

    def export_rows(self, tz: tzinfo = UTC) -> list[tuple[object, ...]]:
        """Every opinion for the archive, without who wrote or supported it; times in
        ``tz`` (the city's)."""
        return [
            (o.id, iso_time(o.at, tz), o.category, o.status, o.supports, o.text, o.merged_into,
             o.response, None if o.responded_at is None else iso_time(o.responded_at, tz),
             o.hidden)
            for o in sorted(self._items.values(), key=lambda o: o.id)
        ]

    def export_csv(self) -> str:
        return csv_text(EXPORT_COLUMNS, self.export_rows())

    def to_records(self) -> tuple[Opinion, ...]:
        return tuple(self._items.values())

    @classmethod
    def from_records(
        cls, room: str, records: Iterable[Opinion], categories: Sequence[str] = ()
    ) -> Opinions:
        items = {o.id: o for o in sorted(records, key=lambda o: o.id)}
        for o in items.values():
            OpinionStatus(o.status)
        return cls(room, tuple(categories), items, max(items, default=0) + 1)
