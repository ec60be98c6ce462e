"""Resume tokens: a joined person's claim to their participant id after a reconnect.

A join acknowledgement carries one. When a socket comes back (its node stopped, the
network blinked, a cluster's leader changed) and joins again with it, the person keeps
their participant id, so others see the same avatar and the meeting keeps their place.
The token names the room, the id and the device that joined: it grants no role. The role
comes, as on every join, from the invitation, staff login or device presented with it.

It also says where the person was (``room``, ``lobby``, ``gallery``) and when it was
issued. A person admitted from a committee's lobby holds a token saying ``room``; a join
with it goes straight back into the room instead of waiting again, unless a removal or ban
reaching them was imposed since (see ``Meeting.join``). Otherwise a failover or a network
blink would put every admitted citizen back in the lobby.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from moderation.tokens import encode, signed_claims
from rooms.errors import HirobaError, Reason

RESUME_TYPE = "resume"
#: How long after its join a token can resume: long enough for a node restart and a
#: phone that lost its network for a while, short enough that a leaked one soon expires.
RESUME_TTL_SECONDS = 6 * 3600
MAX_RESUME_LENGTH = 400


@dataclass(frozen=True, slots=True)
class ResumeClaim:
    """What a valid resume token says: the room, participant id and device, where the
    person was when it was issued (a :class:`moderation.lobby.Place` value, or ``""`` for a
    token that does not say) and when that was."""

    room: str
    pid: str
    device: str
    place: str = ""
    issued_at: float = 0.0


def issue_resume(
    secret: bytes, room: str, pid: str, device: str, now: float, place: str = ""
) -> str:
    """A token letting the holder of ``device`` rejoin ``room`` as ``pid`` (``place``:
    where they are now)."""
    return encode(secret, {
        "typ": RESUME_TYPE, "room": room, "pid": pid, "dev": device, "plc": place,
        "iat": int(now), "exp": int(now) + RESUME_TTL_SECONDS,
    })  # fmt: skip


def verify_resume(
    secret: bytes, token: str, room: str, device: str | None, now: float
) -> ResumeClaim:
    """What ``token`` resumes in ``room`` for ``device``; else ``bad_token``."""
    data = signed_claims(secret, token, MAX_RESUME_LENGTH)
    if not isinstance(data, dict):
        raise HirobaError(Reason.BAD_TOKEN, "resume token payload is malformed")
    try:
        expires = int(data["exp"])
        claim = ResumeClaim(
            str(data["room"]), str(data["pid"]), str(data["dev"]), str(data.get("plc", "")),
            # Tokens from before the claim existed: issued a whole lifetime before expiry.
            float(data.get("iat", expires - RESUME_TTL_SECONDS)),
        )
        typ = data["typ"]
    except (ValueError, KeyError, TypeError) as exc:
        raise HirobaError(Reason.BAD_TOKEN, "resume token payload is malformed") from exc
    if typ != RESUME_TYPE:
        raise HirobaError(Reason.BAD_TOKEN, "not a resume token")
    if expires <= now:
        raise HirobaError(Reason.BAD_TOKEN, "resume token has expired")
    if claim.room != room:
        raise HirobaError(Reason.BAD_TOKEN, "resume token is for another room")
    if device is None or not hmac.compare_digest(claim.device, device):
        raise HirobaError(Reason.BAD_TOKEN, "resume token belongs to another device")
    return claim
