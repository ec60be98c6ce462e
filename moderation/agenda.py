"""The agenda: items with planned durations, the current item, and overruns.

At most one item is open. Opening an item closes the open one; an item may be reopened
(a chair returns to an earlier item), and its time accumulates across openings. An item
overruns once its accumulated time passes its plan; :meth:`Agenda.tick` reports that
moment once per item so the server can log it and the plaza can show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from moderation.events import DomainEvent
from moderation.limits import AGENDA_MAX_ITEMS, MAX_DURATION_SECONDS, TITLE_MAX, clean_text
from rooms.errors import ProcedureError, Reason, ValidationError


class ItemState(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    DONE = "done"


class AgendaState(StrEnum):
    NOT_STARTED = "not_started"
    ITEM_OPEN = "item_open"
    BETWEEN_ITEMS = "between_items"
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """One item, as stored. ``elapsed`` excludes the current opening (``opened_at``)."""

    id: int
    title: str
    planned: int
    state: str = ItemState.PENDING.value
    opened_at: float | None = None
    elapsed: float = 0.0
    overran: bool = False

    def spent(self, now: float) -> float:
        """Seconds spent on this item so far."""
        running = 0.0 if self.opened_at is None else max(0.0, now - self.opened_at)
        return self.elapsed + running


@dataclass(frozen=True, slots=True)
class ItemAdded(DomainEvent):
    topic = "agenda.added"
    item: AgendaItem
    by: str | None


@dataclass(frozen=True, slots=True)
class ItemEdited(DomainEvent):
    topic = "agenda.edited"
    item: AgendaItem
    by: str | None


@dataclass(frozen=True, slots=True)
class ItemRemoved(DomainEvent):
    topic = "agenda.removed"
    item_id: int
    by: str | None


@dataclass(frozen=True, slots=True)
class AgendaReordered(DomainEvent):
    topic = "agenda.reordered"
    order: tuple[int, ...]
    by: str | None


@dataclass(frozen=True, slots=True)
class ItemOpened(DomainEvent):
    topic = "agenda.opened"
    item_id: int
    title: str
    planned: int
    by: str | None


@dataclass(frozen=True, slots=True)
class ItemClosed(DomainEvent):
    topic = "agenda.closed"
    item_id: int
    spent: float
    #: Seconds beyond the plan (0 when on time or without a plan).
    overrun: float
    by: str | None


@dataclass(frozen=True, slots=True)
class ItemOverran(DomainEvent):
    """``at`` is the moment the item's plan ran out."""

    topic = "agenda.overran"
    item_id: int
    planned: int


def _planned(value: object) -> int:
    """A planned duration: whole seconds, 0 (no plan) up to ``MAX_DURATION_SECONDS``."""
    if isinstance(value, bool) or not isinstance(value, int) or not (
        0 <= value <= MAX_DURATION_SECONDS
    ):
        raise ValidationError(
            Reason.BAD_FIELD, f"planned must be whole seconds from 0 to {MAX_DURATION_SECONDS}"
        )
    return value


@dataclass
class Agenda:
    """The agenda of one room."""

    room: str
    _items: list[AgendaItem] = field(default_factory=list)
    _next_id: int = 1

    @property
    def items(self) -> tuple[AgendaItem, ...]:
        return tuple(self._items)

    @property
    def current(self) -> AgendaItem | None:
        return next((i for i in self._items if i.state == ItemState.OPEN), None)

    @property
    def state(self) -> AgendaState:
        states = {ItemState(i.state) for i in self._items}
        if ItemState.OPEN in states:
            return AgendaState.ITEM_OPEN
        if ItemState.DONE not in states:
            return AgendaState.NOT_STARTED
        if ItemState.PENDING in states:
            return AgendaState.BETWEEN_ITEMS
        return AgendaState.FINISHED

    def _index(self, item_id: int) -> int:
        for i, item in enumerate(self._items):
            if item.id == item_id:
                return i
        raise ProcedureError(Reason.NO_SUCH_ITEM, f"no agenda item {item_id}")

    def _error(self, message: str) -> ProcedureError:
        return ProcedureError(Reason.WRONG_STATE, f"{message}: the agenda is {self.state}")

    def add(
        self, title: object, planned: object, now: float, *,
        position: int | None = None, by: str | None = None,
    ) -> list[DomainEvent]:
        """Add an item (at the end, or before the item now at 0-based ``position``)."""
        if len(self._items) >= AGENDA_MAX_ITEMS:
            raise ValidationError(Reason.BAD_FIELD, f"an agenda holds at most {AGENDA_MAX_ITEMS}")
        item = AgendaItem(self._next_id, clean_text(title, TITLE_MAX, "title"), _planned(planned))
        self._next_id += 1
        at = len(self._items) if position is None else max(0, min(position, len(self._items)))
        self._items.insert(at, item)
        return [ItemAdded(self.room, now, item=item, by=by)]

    def edit(
        self, item_id: int, now: float, *, title: object = None, planned: object = None,
        by: str | None = None,
    ) -> list[DomainEvent]:
        """Change an item's title and/or planned duration (also of an open or done item)."""
        i = self._index(item_id)
        item = self._items[i]
        if title is not None:
            item = replace(item, title=clean_text(title, TITLE_MAX, "title"))
        if planned is not None:
            item = replace(item, planned=_planned(planned))
            # A longer plan may be overrun again later.
            item = replace(item, overran=item.overran and item.spent(now) >= item.planned)
        self._items[i] = item
        return [ItemEdited(self.room, now, item=item, by=by)]

    def remove(self, item_id: int, now: float, *, by: str | None = None) -> list[DomainEvent]:
        """Remove a pending item; open and done items are part of the record."""
        i = self._index(item_id)
        if self._items[i].state != ItemState.PENDING:
            raise ProcedureError(
                Reason.WRONG_STATE, f"item {item_id} is {self._items[i].state}, not pending"
            )
        del self._items[i]
        return [ItemRemoved(self.room, now, item_id=item_id, by=by)]

    def reorder(
        self, order: Sequence[int], now: float, *, by: str | None = None
    ) -> list[DomainEvent]:
        """Put the items in ``order``, which must name every item exactly once."""
        if sorted(order) != sorted(i.id for i in self._items):
            raise ValidationError(Reason.BAD_FIELD, "order must name every agenda item once")
        by_id = {i.id: i for i in self._items}
        self._items = [by_id[i] for i in order]
        return [AgendaReordered(self.room, now, order=tuple(order), by=by)]

    def open(self, item_id: int, now: float, *, by: str | None = None) -> list[DomainEvent]:
        """Open ``item_id`` (pending or done), closing the open item first."""
        i = self._index(item_id)
        if self._items[i].state == ItemState.OPEN:
            raise self._error(f"item {item_id} is already open")
        events = self._close_current(now, by)
        item = replace(self._items[i], state=ItemState.OPEN.value, opened_at=now)
        self._items[i] = item
        events.append(ItemOpened(self.room, now, item_id=item.id, title=item.title,
                                 planned=item.planned, by=by))
        return events

    def advance(self, now: float, *, by: str | None = None) -> list[DomainEvent]:
        """Close the open item and open the next pending one (after it, else the first)."""
        current = self.current
        start = 0 if current is None else self._index(current.id) + 1
        pending = [i for i in self._items if i.state == ItemState.PENDING]
        after = [i for i in self._items[start:] if i.state == ItemState.PENDING]
        following = after or pending
        if not following:
            if current is None:
                raise self._error("no item is left to open")
            return self._close_current(now, by)
        return self.open(following[0].id, now, by=by)

    def close(self, now: float, *, by: str | None = None) -> list[DomainEvent]:
        """Close the open item without opening another (a recess)."""
        if self.current is None:
            raise self._error("no item is open")
        return self._close_current(now, by)

    def _close_current(self, now: float, by: str | None) -> list[DomainEvent]:
        current = self.current
        if current is None:
            return []
        spent = current.spent(now)
        done = replace(current, state=ItemState.DONE.value, opened_at=None, elapsed=spent)
        self._items[self._index(current.id)] = done
        overrun = max(0.0, spent - current.planned) if current.planned else 0.0
        return [ItemClosed(self.room, now, item_id=current.id, spent=spent, overrun=overrun,
                           by=by)]

    def tick(self, now: float) -> list[DomainEvent]:
        """Report the open item's overrun, once, when its plan runs out."""
        current = self.current
        if current is None or current.overran or not current.planned:
            return []
        if current.spent(now) < current.planned:
            return []
        self._items[self._index(current.id)] = replace(current, overran=True)
        assert current.opened_at is not None
        due = current.opened_at + (current.planned - current.elapsed)
        return [ItemOverran(self.room, due, item_id=current.id, planned=current.planned)]

    def to_records(self) -> tuple[AgendaItem, ...]:
        """The items in agenda order; their position is their order in the tuple."""
        return self.items

    @classmethod
    def from_records(cls, room: str, items: Sequence[AgendaItem]) -> Agenda:
        for item in items:
            ItemState(item.state)  # refuse a corrupt record early
        return cls(room, list(items), max((i.id for i in items), default=0) + 1)
