"""Sanctions: mute, removal from a room, and bans, with reasons and expiry.

- **mute** (one room): the person's voice and text stop reaching others (the policy
  refuses every ``voice`` action; the audio plane drops them from the speakers).
- **remove** (one room): ejected, and refused re-entry to that room until it expires
  (a day by default).
- **ban** (every room): refused everywhere until it expires, or for good.

A sanction names whom it reaches by participant id (this connection), device token (the
browser an anonymous citizen uses) and/or staff account; it reaches a person when any of
them matches. Participant ids change on reconnect, so removals and bans need a device
token or an account. Records hold a hash of the device token (:func:`device_ref`), never
the token. Records are never deleted: lifting one stamps ``lifted_at``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from moderation.credentials import device_ref
from moderation.events import DomainEvent
from rooms.errors import PermissionDenied, ProcedureError, Reason, ValidationError

DEFAULT_REMOVAL_SECONDS = 24 * 3600
MAX_SANCTION_SECONDS = 366 * 24 * 3600


class SanctionKind(StrEnum):
    MUTE = "mute"
    REMOVE = "remove"
    BAN = "ban"


@dataclass(frozen=True, slots=True)
class SanctionRecord:
    """One sanction as stored. ``room`` is None for bans; ``expires_at`` None: until lifted;
    ``device`` is the :func:`device_ref` of the device token."""

    id: int
    kind: str
    room: str | None
    participant: str | None
    device: str | None
    account: str | None
    name: str
    reason: str
    by: str
    at: float
    expires_at: float | None
    lifted_at: float | None = None
    lifted_by: str | None = None

    def active(self, now: float) -> bool:
        return self.lifted_at is None and (self.expires_at is None or now < self.expires_at)

    def reaches(self, participant: str | None, device: str | None, account: str | None) -> bool:
        """Whether this reaches a person (``device`` given as its :func:`device_ref`)."""
        return any(
            mine is not None and mine == theirs
            for mine, theirs in (
                (self.participant, participant), (self.device, device), (self.account, account)
            )
        )


@dataclass(frozen=True, slots=True)
class SanctionImposed(DomainEvent):
    topic = "sanction.imposed"
    sanction: SanctionRecord


@dataclass(frozen=True, slots=True)
class SanctionLifted(DomainEvent):
    topic = "sanction.lifted"
    sanction: SanctionRecord


@dataclass(frozen=True, slots=True)
class SanctionExpired(DomainEvent):
    topic = "sanction.expired"
    sanction: SanctionRecord


@dataclass
class SanctionBook:
    """Every sanction of the server: one book shared by all rooms."""

    _records: dict[int, SanctionRecord] = field(default_factory=dict)
    _announced: set[int] = field(default_factory=set)
    _next_id: int = 1

    def impose(
        self,
        kind: SanctionKind,
        now: float,
        *,
        room: str | None,
        participant: str | None = None,
        device: str | None = None,
        account: str | None = None,
        name: str = "",
        reason: str = "",
        by: str,
        duration: float | None = None,
    ) -> SanctionImposed:
        """Record a sanction; ``duration`` None means until lifted."""
        if kind is SanctionKind.BAN:
            room = None
        elif room is None:
            raise ValidationError(Reason.BAD_FIELD, f"a {kind} applies to one room")
        # A mute may reach just this connection; anything meant to outlast a reconnect
        # needs something that outlasts it.
        reach = [device, account] + ([participant] if kind is SanctionKind.MUTE else [])
        if all(r is None for r in reach):
            raise ValidationError(
                Reason.BAD_FIELD, f"a {kind} needs the person's device token or account"
            )
        if duration is not None and not (0 < duration <= MAX_SANCTION_SECONDS):
            raise ValidationError(
                Reason.BAD_FIELD, f"duration must be 1 to {MAX_SANCTION_SECONDS} seconds"
            )
        if self.find(kind, now, room=room, participant=participant, device=device,
                     account=account):
            who = name or "this person"
            raise ProcedureError(Reason.DUPLICATE, f"{who} is already under a {kind}")
        record = SanctionRecord(
            id=self._next_id, kind=kind.value, room=room, participant=participant,
            device=device_ref(device), account=account, name=name, reason=reason, by=by, at=now,
            expires_at=None if duration is None else now + duration,
        )
        self._next_id += 1
        self._records[record.id] = record
        return SanctionImposed(room or "", now, sanction=record)

    def get(self, sanction_id: int) -> SanctionRecord:
        record = self._records.get(sanction_id)
        if record is None:
            raise ProcedureError(Reason.NO_SUCH_ITEM, f"no sanction {sanction_id}")
        return record

    def lift(self, sanction_id: int, now: float, *, by: str) -> SanctionLifted:
        record = self.get(sanction_id)
        if not record.active(now):
            raise ProcedureError(Reason.WRONG_STATE, f"sanction {sanction_id} is not active")
        lifted = replace(record, lifted_at=now, lifted_by=by)
        self._records[sanction_id] = lifted
        self._announced.add(sanction_id)
        return SanctionLifted(record.room or "", now, sanction=lifted)

    def find(
        self,
        kind: SanctionKind,
        now: float,
        *,
        room: str | None = None,
        participant: str | None = None,
        device: str | None = None,
        account: str | None = None,
    ) -> SanctionRecord | None:
        """The active sanction of ``kind`` (in ``room``, for mute and remove) reaching the
        person, or None."""
        ref = device_ref(device)
        for record in self._records.values():
            if (
                record.kind == kind
                and record.room == (None if kind is SanctionKind.BAN else room)
                and record.active(now)
                and record.reaches(participant, ref, account)
            ):
                return record
        return None

    def is_banned(self, device: str | None, account: str | None, now: float) -> bool:
        return self.find(SanctionKind.BAN, now, device=device, account=account) is not None

    def is_muted(
        self, room: str, now: float, *, participant: str | None = None,
        device: str | None = None, account: str | None = None,
    ) -> bool:
        return self.find(SanctionKind.MUTE, now, room=room, participant=participant,
                         device=device, account=account) is not None

    def check_entry(
        self, room: str, now: float, *, device: str | None, account: str | None
    ) -> None:
        """Raise ``banned`` if the person is banned, or removed from ``room``."""
        for kind, where in ((SanctionKind.BAN, "from Hiroba"), (SanctionKind.REMOVE, "here")):
            record = self.find(kind, now, room=room, device=device, account=account)
            if record is not None:
                until = "for good" if record.expires_at is None else "for now"
                raise PermissionDenied(Reason.BANNED, f"you are barred {where} {until}")

    def sent_away_since(
        self, room: str, since: float, *, device: str | None, account: str | None
    ) -> bool:
        """Whether the person was removed from ``room`` or banned at or after ``since``,
        whether or not that has ended: an admission from before it no longer counts."""
        ref = device_ref(device)
        return any(
            record.at >= since
            and (record.kind == SanctionKind.BAN
                 or (record.kind == SanctionKind.REMOVE and record.room == room))
            and record.reaches(None, ref, account)
            for record in self._records.values()
        )

    def active(self, now: float, room: str | None = None) -> list[SanctionRecord]:
        """Active sanctions, of one room (plus every ban) when ``room`` is given."""
        return [
            r for r in self._records.values()
            if r.active(now) and (room is None or r.room in (room, None))
        ]

    def expire(self, now: float) -> list[SanctionExpired]:
        """Sanctions whose time ran out since the last call, once each (to tell the room)."""
        events = []
        for record in self._records.values():
            if record.id in self._announced or record.expires_at is None:
                continue
            if record.lifted_at is None and record.expires_at <= now:
                self._announced.add(record.id)
                events.append(SanctionExpired(record.room or "", record.expires_at,
                                              sanction=record))
        return events

    def to_records(self) -> tuple[SanctionRecord, ...]:
        return tuple(self._records.values())

    @classmethod
    def from_records(cls, records: Iterable[SanctionRecord], now: float) -> SanctionBook:
        """Rebuild the book; sanctions that ended before ``now`` are not announced again."""
        by_id = {r.id: r for r in records}
        for r in by_id.values():
            SanctionKind(r.kind)
        ended = {r.id for r in by_id.values() if not r.active(now)}
        return cls(by_id, ended, max(by_id, default=0) + 1)
