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


#: What an entry did, where its action code alone does not say: one ``agenda.edit`` code
#: covers adding, editing, deleting and reordering items, one ``invite.create`` making and
#: revoking invitations and setting the registration code. The console words each kind
#: (``audit.<kind>`` in web_client/i18n), so adding and deleting never read the same.
KINDS = (
    "agenda.add", "agenda.remove", "agenda.reorder", "invite.revoke", "code.new",
    "code.clear", "recording.unpublish", "settings.categories", "settings.lobby_on",
    "settings.lobby_off", "avatar.withdraw", "gallery.demote",
)


def kind(e: AuditEntry) -> str:
    """The entry's kind: its action code, or a finer one of :data:`KINDS` told by its
    details."""
    details = dict(e.details)
    if e.action == Action.AGENDA_EDIT.value and details.get("change") in ("add", "remove",
                                                                          "reorder"):
        return f"agenda.{details['change']}"
    if e.action == Action.INVITE.value:
        if "revoked" in details:
            return "invite.revoke"
        if details.get("registration_code") in ("new", "clear"):
            return f"code.{details['registration_code']}"
    if e.action == Action.ROOM_SETTINGS.value:
        if details.get("lobby") in ("on", "off"):
            return f"settings.lobby_{details['lobby']}"
        if "categories" in details:
            return "settings.categories"
    if e.action == Action.RECORDING_PUBLISH.value and details.get("published") == "False":
        return "recording.unpublish"
    if e.action == Action.AVATAR_APPROVE.value and details.get("status") == "withdrawn":
        return "avatar.withdraw"
    if e.action == Action.GALLERY_MOVE.value and "demoted" in details:
        return "gallery.demote"
    return e.action


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
        "details": dict(e.details), "kind": kind(e),
    }


def to_row(e: AuditEntry, tz: tzinfo = UTC) -> tuple[object, ...]:
    details = "; ".join(f"{k}={v}" for k, v in e.details)
    return (iso_time(e.at, tz), e.room, e.actor, e.actor_name, e.actor_role, e.action, e.target,
            e.target_name, e.reason, details)


def to_csv(entries: Iterable[AuditEntry]) -> str:
    """The entries as CSV text with a header row, in the order given."""
    return csv_text(COLUMNS, (to_row(e) for e in entries))
