"""The audit log: who did what, when, why, against whom, in which room.

Entries are append-only records that double as domain events: every audited action the
meeting core performs returns an :class:`AuditEntry` among its events, and the server
appends it to the log table. Which actions are audited is a column of the policy table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo

from moderation.events import DomainEvent
from moderation.export import csv_text, iso_time
from moderation.policy import Action
from rooms.model import Role


@dataclass(frozen=True, slots=True)
class AuditEntry(DomainEvent):
    """One audited action. ``room`` is empty for actions outside any room (a ban, an
    export); ``actor`` is a participant id or a staff account name."""

    topic = "audit.entry"
    actor: str
    actor_name: str
    actor_role: str
    action: str
    target: str | None = None
    target_name: str = ""
    reason: str = ""
    details: tuple[tuple[str, str], ...] = ()


def entry(
    room: str,
    at: float,
    *,
    actor: str,
    actor_name: str,
    actor_role: Role,
    action: Action,
    target: str | None = None,
    target_name: str = "",
    reason: str = "",
    details: Mapping[str, object] | None = None,
) -> AuditEntry:
    """Build an entry; ``details`` values are stored as text, keys sorted."""
    pairs = tuple(sorted((k, "" if v is None else str(v)) for k, v in (details or {}).items()))
    return AuditEntry(
        room, at, actor=actor, actor_name=actor_name, actor_role=actor_role.value,
        action=action.value, target=target, target_name=target_name, reason=reason,
        details=pairs,
    )


COLUMNS = (
    "time", "room", "actor", "actor_name", "actor_role", "action", "target", "target_name",
    "reason", "details",
)


def to_json(e: AuditEntry, tz: tzinfo = UTC) -> dict[str, object]:
    """A JSON-ready dict of one entry (``details`` as an object; ``time`` in ``tz``)."""
    return {
        "time": iso_time(e.at, tz), "at": e.at, "room": e.room, "actor": e.actor,
        "actor_name": e.actor_name, "actor_role": e.actor_role, "action": e.action,
        "target": e.target, "target_name": e.target_name, "reason": e.reason,
        "details": dict(e.details),
    }


def to_row(e: AuditEntry, tz: tzinfo = UTC) -> tuple[object, ...]:
    details = "; ".join(f"{k}={v}" for k, v in e.details)
    return (iso_time(e.at, tz), e.room, e.actor, e.actor_name, e.actor_role, e.action, e.target,
            e.target_name, e.reason, details)


def to_csv(entries: Iterable[AuditEntry]) -> str:
    """The entries as CSV text with a header row, in the order given."""
    return csv_text(COLUMNS, (to_row(e) for e in entries))
