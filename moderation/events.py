"""The base of every domain event the meeting core returns.

Operations in ``moderation`` never do I/O: they change in-memory state and return events.
The server persists the ones it keeps (audit entries, sanctions, chat, opinions...) and
broadcasts them, using :attr:`DomainEvent.topic` to route and :meth:`DomainEvent.to_dict`
for a JSON-ready body.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import ClassVar


def plain(value: object) -> object:
    """``value`` as JSON-ready data: enums become their values, tuples and sets lists,
    dataclasses dicts."""
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted((plain(v) for v in value), key=str)
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class DomainEvent:
    """Something that happened in one room at one time (Unix seconds)."""

    #: Name the server routes the event by, e.g. ``"floor.given"``.
    topic: ClassVar[str] = "event"

    room: str
    at: float

    def to_dict(self) -> dict[str, object]:
        """The event as JSON-ready data, with its ``topic`` under ``"type"``."""
        body = plain(self)
        assert isinstance(body, dict)
        return {"type": self.topic, **body}
