"""Signed, expiring tokens: how a member, chair, observer or captioner is recognised.

A token is ``base64url(payload).base64url(hmac_sha256(secret, payload))`` where the payload
is compact JSON ``{"v":1,"room":...,"role":...,"name":...,"exp":...,"jti":...}``, plus
``"typ":"inv"`` for single-use invitations (:mod:`moderation.invitations`). The server's
secret never leaves it.

:func:`verify_token` accepts only plain role tokens (reusable until they expire); an
invitation presented to it is refused, so single use cannot be bypassed by using the
other door.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from rooms.errors import HirobaError, Reason
from rooms.model import Role

TOKEN_VERSION = 1
MAX_TOKEN_LENGTH = 1024
#: ``typ`` of a single-use invitation; role tokens carry no ``typ``.
INVITATION_TYPE = "inv"


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """What a valid token grants: a role in one room, optionally under a fixed name."""

    room: str
    role: Role
    name: str | None
    expires_at: int
    token_id: str


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()


def encode(secret: bytes, claims: dict[str, Any]) -> str:
    """Sign ``claims`` (a JSON object) into a token."""
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    return f"{_b64encode(payload)}.{_b64encode(_sign(secret, payload))}"


def mac(secret: bytes, purpose: str, text: str) -> str:
    """The same HMAC-SHA256 signature as a token's, over ``purpose`` and ``text``, for short
    signed ids that are not JSON tokens (device identities, :mod:`moderation.credentials`).
    ``purpose`` separates the domains: a token's payload is JSON (it starts with ``{``), so
    no signature made here can pass as a token's, nor one for another purpose."""
    return _b64encode(_sign(secret, f"{purpose}\n{text}".encode()))


def _bad(message: str) -> HirobaError:
    return HirobaError(Reason.BAD_TOKEN, message)


def new_token_id() -> str:
    """A random token id (96 bits): the key single use is recorded under."""
    return secrets.token_urlsafe(12)


def issue_token(
    secret: bytes, room: str, role: Role, name: str | None, now: float, ttl_seconds: int
) -> str:
    """Make a token granting ``role`` in ``room`` until ``now + ttl_seconds``."""
    return encode(secret, {
        "v": TOKEN_VERSION, "room": room, "role": role.value, "name": name,
        "exp": int(now) + ttl_seconds, "jti": new_token_id(),
    })


def signed_claims(secret: bytes, token: object, max_length: int = MAX_TOKEN_LENGTH) -> Any:
    """The JSON claims of a token :func:`encode` signed with ``secret``; ``bad_token`` if
    its form or signature is wrong. The caller checks what the claims must hold."""
    if not isinstance(token, str) or len(token) > max_length or token.count(".") != 1:
        raise _bad("token is malformed")
    body, signature = token.split(".")
    try:
        payload = _b64decode(body)
        given = _b64decode(signature)
    except (binascii.Error, ValueError) as exc:
        raise _bad("token is malformed") from exc
    if not hmac.compare_digest(given, _sign(secret, payload)):
        raise _bad("token signature does not match")
    try:
        return json.loads(payload)
    except ValueError as exc:
        raise _bad("token payload is malformed") from exc


def decode(
    secret: bytes, token: str, room: str, now: float, *, typ: str | None
) -> tuple[RoleGrant, dict[str, Any]]:
    """Check a token's form, signature, type, expiry and room; return its grant and
    claims, or raise ``bad_token``."""
    data = signed_claims(secret, token)
    try:
        if data["v"] != TOKEN_VERSION:
            raise _bad("token version is not supported")
        grant = RoleGrant(
            room=str(data["room"]),
            role=Role(data["role"]),
            name=None if data["name"] is None else str(data["name"]),
            expires_at=int(data["exp"]),
            token_id=str(data["jti"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise _bad("token payload is malformed") from exc
    if data.get("typ") != typ:
        raise _bad("this is an invitation: redeem it" if typ is None else "not an invitation")
    if grant.expires_at <= now:
        raise _bad("token has expired")
    if grant.room != room:
        raise _bad("token is for another room")
    return grant, data


def verify_token(secret: bytes, token: str, room: str, now: float) -> RoleGrant:
    """Return the grant a role token carries for ``room``, or raise ``bad_token``."""
    return decode(secret, token, room, now, typ=None)[0]
