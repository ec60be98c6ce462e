"""Single-use invitations: how members, chairs, observers and captioners get their role.

An invitation is a signed, expiring token (:mod:`moderation.tokens`, ``typ`` ``inv``)
that staff make (``hiroba invite`` or the console) and send as a link. Single use is
enforced with what the server persists: a mapping *token id → device token* of every
redeemed invitation. The first device to redeem an invitation owns it; that same device
may present it again (a phone reloads the page, a laptop reconnects), any other device is
refused as a replay. Staff revoke an unused invitation by recording it with
:data:`REVOKED` as its device.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from moderation.tokens import INVITATION_TYPE, TOKEN_VERSION, decode, encode, new_token_id
from rooms.errors import HirobaError, Reason, ValidationError
from rooms.model import Role
from rooms.names import normalise_name

#: Roles given by invitation. Staff sign in with an account; citizens need no invitation.
INVITABLE_ROLES = frozenset({Role.MEMBER, Role.CHAIR, Role.OBSERVER, Role.CAPTIONER})
#: Roles an invitation may carry when redeemed: a citizen's comes only from
#: :func:`issue_promotion` (a gallery viewer let in).
REDEEMABLE_ROLES = INVITABLE_ROLES | {Role.CITIZEN}
MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 30 * 24 * 3600
#: The device recorded for a revoked invitation: no device matches it.
REVOKED = ""


@dataclass(frozen=True, slots=True)
class Invitation:
    """An issued invitation, for the console's list (the token itself is not stored)."""

    token_id: str
    room: str
    role: str
    name: str | None
    expires_at: int
    issued_by: str
    issued_at: float


@dataclass(frozen=True, slots=True)
class Redemption:
    """Record of a redeemed (or revoked) invitation: persist it, keyed by ``token_id``."""

    token_id: str
    room: str
    device: str
    at: float


@dataclass(frozen=True, slots=True)
class InvitationGrant:
    """What a redeemed invitation grants. ``redemption`` is set on first use (persist it)
    and None when the owning device presents it again."""

    room: str
    role: Role
    name: str | None
    token_id: str
    expires_at: int
    redemption: Redemption | None


def issue_invitation(
    secret: bytes, room: str, role: Role, name: str | None, now: float, ttl_seconds: int,
    *, issued_by: str,
) -> tuple[str, Invitation]:
    """Make an invitation token for ``role`` in ``room`` (optionally under a fixed name)."""
    if role not in INVITABLE_ROLES:
        raise ValidationError(Reason.BAD_FIELD, f"a {role} is not invited; "
                              f"invite one of {sorted(r.value for r in INVITABLE_ROLES)}")
    return _issue(secret, room, role, name, now, ttl_seconds, issued_by=issued_by)


def issue_promotion(
    secret: bytes, room: str, name: str | None, now: float, ttl_seconds: int, *,
    issued_by: str,
) -> tuple[str, Invitation]:
    """A citizen's invitation for a public-gallery viewer staff let into ``room`` (issue
    19): the only citizen invitation there is. It names them (a place kept, the name no one
    else may take) and is used once like any other; the room's lobby rules still apply."""
    return _issue(secret, room, Role.CITIZEN, name, now, ttl_seconds, issued_by=issued_by)


def _issue(
    secret: bytes, room: str, role: Role, name: str | None, now: float, ttl_seconds: int,
    *, issued_by: str,
) -> tuple[str, Invitation]:
    if not MIN_TTL_SECONDS <= ttl_seconds <= MAX_TTL_SECONDS:
        raise ValidationError(
            Reason.BAD_FIELD, f"ttl must be {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS} seconds"
        )
    fixed = None if name is None else normalise_name(name)
    invitation = Invitation(new_token_id(), room, role.value, fixed, int(now) + ttl_seconds,
                            issued_by, now)
    token = encode(secret, {
        "v": TOKEN_VERSION, "typ": INVITATION_TYPE, "room": room, "role": role.value,
        "name": fixed, "exp": invitation.expires_at, "jti": invitation.token_id,
    })
    return token, invitation


def redeem(
    secret: bytes, token: str, room: str, redeemed: Mapping[str, str], device: str,
    now: float,
) -> InvitationGrant:
    """Check an invitation for ``room`` presented from ``device``; raise ``bad_token`` if
    it is malformed, forged, expired, for another room, revoked or already used by
    another device."""
    grant, _ = decode(secret, token, room, now, typ=INVITATION_TYPE)
    if grant.role not in REDEEMABLE_ROLES:
        raise HirobaError(Reason.BAD_TOKEN, "invitation grants no invitable role")
    owner = redeemed.get(grant.token_id)
    if owner == REVOKED:
        raise HirobaError(Reason.BAD_TOKEN, "invitation was revoked")
    if owner is not None and owner != device:
        raise HirobaError(Reason.BAD_TOKEN, "invitation has already been used")
    first = None if owner is not None else Redemption(grant.token_id, room, device, now)
    return InvitationGrant(grant.room, grant.role, grant.name, grant.token_id,
                           grant.expires_at, first)


def revoke(invitation: Invitation, now: float) -> Redemption:
    """The record that makes an unused invitation unusable."""
    return Redemption(invitation.token_id, invitation.room, REVOKED, now)
