"""What a person presents besides an invitation: registration codes and device tokens.

- A consultation may require a *registration code* (handed out on paper at a ward office
  or mailed to registered residents). Codes use an alphabet without look-alikes (no O/0,
  I/1) and are compared in constant time after folding case, width and separators.
  The server rate-limits attempts; 8 characters of 32 symbols is 40 bits.
- A *device token* is a random, opaque id the page keeps (cookie) so that a ban reaches
  an anonymous citizen's browser. It grants no rights, but stays private all the same:
  whoever holds it counts as that browser (one vote per person) and shares its bans.
  Records therefore hold :func:`person_key` hashes, never the token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata

from rooms.errors import PermissionDenied, Reason

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
MAX_CODE_INPUT = 64
_DEVICE = re.compile(r"d_[A-Za-z0-9_-]{32}")


def normalise_code(raw: str) -> str:
    """Fold what people type: full-width, lower case, spaces and hyphens."""
    folded = unicodedata.normalize("NFKC", raw).upper()
    return "".join(ch for ch in folded if ch not in " -_\u30fc")


def new_registration_code(length: int = CODE_LENGTH) -> str:
    """A new code, grouped in fours for reading aloud: ``ABCD-EFGH``."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))
    return "-".join(code[i:i + 4] for i in range(0, length, 4))


def check_registration_code(expected: str | None, given: object) -> None:
    """Pass if the room needs no code or ``given`` matches; else ``code_required`` or
    ``bad_code``."""
    if expected is None:
        return
    if given is None or given == "":
        raise PermissionDenied(Reason.CODE_REQUIRED, "this consultation needs a registration code")
    if not isinstance(given, str) or len(given) > MAX_CODE_INPUT:
        raise PermissionDenied(Reason.BAD_CODE, "the registration code is not right")
    a = normalise_code(expected).encode("utf-8")
    b = normalise_code(given).encode("utf-8")
    if not hmac.compare_digest(a, b):
        raise PermissionDenied(Reason.BAD_CODE, "the registration code is not right")


def new_device_token() -> str:
    """A fresh device token (192 random bits)."""
    return "d_" + secrets.token_urlsafe(24)


def is_device_token(text: object) -> bool:
    """Whether ``text`` has the shape of a device token (checked before it is trusted)."""
    return isinstance(text, str) and _DEVICE.fullmatch(text) is not None


def person_key(*, account: str | None, device: str | None, participant: str) -> str:
    """The key "one support / vote / ballot per person" counts by: the staff account, else
    the device, else this connection. Hashed: records and exports never hold a device
    token."""
    kind, value = (
        ("account", account) if account else ("device", device) if device
        else ("participant", participant)
    )
    return "k_" + hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:24]


def device_ref(device: str | None) -> str | None:
    """How records that must recognise a device again (sanctions) hold it: a hash."""
    if device is None:
        return None
    return "h_" + hashlib.sha256(f"device-ref:{device}".encode()).hexdigest()[:32]
