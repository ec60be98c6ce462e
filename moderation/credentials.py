"""What a person presents besides an invitation: registration codes and device tokens.

- A consultation may require a *registration code* (handed out on paper at a ward office
  or mailed to registered residents). Codes use an alphabet without look-alikes (no O/0,
  I/1) and are compared in constant time after folding case, width and separators.
  The server rate-limits attempts; 8 characters of 32 symbols is 40 bits.
- A *device identity* is an opaque id the page keeps (local storage) so that a ban and
  "one ballot per person" reach an anonymous citizen's browser. The server issues it,
  signed with its secret (:func:`issue_device_identity`): a browser cannot make its own,
  so a fresh identity is something only the server hands out, at most
  ``device_mints_per_window`` per address (:class:`DeviceMinter`). An old self-made token
  (``d_`` + 32 characters, from before identities were signed) is well-shaped but
  unsigned: its holder is given a signed identity, never refused. A signed-looking one
  whose signature is wrong is refused (``bad_device``). It grants no rights, but stays
  private all the same: whoever holds it counts as that browser (one vote per person) and
  shares its bans. Records therefore hold :func:`person_key` hashes, never the token.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass, field

from moderation.rate_limit import KeyedBuckets, MinuteCounts
from moderation.tokens import mac
from rooms.errors import HirobaError, PermissionDenied, Reason

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
MAX_CODE_INPUT = 64
_DEVICE = re.compile(r"d_[A-Za-z0-9_-]{32}")
#: ``dv.`` + 16 random characters (96 bits) + ``.`` + 32 characters of HMAC (192 bits):
#: 52 characters, inside the join's 64-character limit on ``device``.
_SIGNED_DEVICE = re.compile(r"dv\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{32})")
_DEVICE_PURPOSE = "hiroba-device-v1"
_DEVICE_MAC_LENGTH = 32


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


#: A resident code is longer than a room's shared code: 12 of 32 symbols, 60 bits.
RESIDENT_CODE_LENGTH = 12
#: Most resident codes one request may issue (a mailing is several requests).
MAX_RESIDENT_CODES = 500


def new_resident_code() -> str:
    """A fresh per-resident code, grouped in fours: ``ABCD-EFGH-JKLM``."""
    return new_registration_code(RESIDENT_CODE_LENGTH)


def resident_code_hash(room: str, code: str) -> str:
    """How a resident code is stored: a hash of the folded code (the printed code exists
    only on paper; a copy of the database cannot be used to vote)."""
    folded = normalise_code(code)
    return "r_" + hashlib.sha256(f"resident:{room}:{folded}".encode()).hexdigest()[:32]


@dataclass
class ResidentCodes:
    """A consultation's per-resident single-use codes: code hash → device reference of the
    identity that used it ("" while unused). One code is one ballot identity: the first
    device identity to present a code owns it; that identity joins again without it, and
    nobody else can use it. A room with codes requires one of every citizen."""

    room: str
    used_by: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._owners = {ref for ref in self.used_by.values() if ref}

    def add(self, code_hash: str) -> None:
        self.used_by.setdefault(code_hash, "")

    @property
    def unused(self) -> int:
        return sum(1 for ref in self.used_by.values() if not ref)

    def admit(self, given: object, ref: str) -> str | None:
        """Let the device ``ref`` in: None if it used a code of this room before, else the
        hash of the code it uses now (now bound to it: store that); ``code_required`` or
        ``bad_code`` (wrong, or used by another device)."""
        if ref in self._owners:
            return None
        if given is None or given == "":
            raise PermissionDenied(Reason.CODE_REQUIRED, "this consultation needs your "
                                   "personal code")
        if not isinstance(given, str) or len(given) > MAX_CODE_INPUT:
            raise PermissionDenied(Reason.BAD_CODE, "the code is not right")
        code_hash = resident_code_hash(self.room, given)
        if self.used_by.get(code_hash) != "":
            # unknown, or another device's: the same answer, so that codes cannot be probed
            raise PermissionDenied(Reason.BAD_CODE, "the code is not right, or already used")
        self.used_by[code_hash] = ref
        self._owners.add(ref)
        return code_hash


def new_device_token() -> str:
    """An unsigned device token of the old shape (192 random bits): what browsers kept
    before identities were signed. The server no longer issues these (tests make them)."""
    return "d_" + secrets.token_urlsafe(24)


def is_device_token(text: object) -> bool:
    """Whether ``text`` has the shape of a device identity, signed or of the old unsigned
    kind (checked at the edge; :func:`check_device_identity` decides whether to trust it)."""
    return isinstance(text, str) and (
        _SIGNED_DEVICE.fullmatch(text) is not None or _DEVICE.fullmatch(text) is not None)


def issue_device_identity(secret: bytes) -> str:
    """A fresh device identity signed with the server's ``secret``."""
    ident = secrets.token_urlsafe(12)
    return f"dv.{ident}.{mac(secret, _DEVICE_PURPOSE, ident)[:_DEVICE_MAC_LENGTH]}"


def check_device_identity(secret: bytes, text: object) -> bool:
    """True if ``text`` is a device identity this server signed; False if it is an old
    unsigned token (its holder is given a signed one: nobody is locked out by the
    upgrade) or nothing at all; ``bad_device`` if it looks signed but the signature is
    wrong (forged, or signed by another server's secret)."""
    if not isinstance(text, str):
        return False
    found = _SIGNED_DEVICE.fullmatch(text)
    if found is None:
        if _DEVICE.fullmatch(text) is not None:
            return False
        raise PermissionDenied(Reason.BAD_DEVICE, "device is not a device identity")
    expected = mac(secret, _DEVICE_PURPOSE, found.group(1))[:_DEVICE_MAC_LENGTH]
    if not hmac.compare_digest(expected.encode(), found.group(2).encode()):
        raise PermissionDenied(Reason.BAD_DEVICE, "this device identity was not issued here")
    return True


class MintRefused(HirobaError):
    """``rate_limited``: this address made its allowance of new device identities; its ack
    says when to try again (``retry_after``, seconds)."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(Reason.RATE_LIMITED, "too many new devices from your network; try "
                         f"again in {self.retry_after} s")

    def to_ack(self) -> dict[str, object]:
        return {**super().to_ack(), "retry_after": self.retry_after}


@dataclass
class DeviceMinter:
    """Hands out signed device identities: at most ``per_window`` per address key (an IPv4
    address, an IPv6 /64) per ``window`` seconds, so that "one ballot per device" costs a
    ballot-stuffer one address per ``per_window`` ballots. It also counts what it minted,
    per room and minute, so that staff see a surge (``surge_per_minute``: 0 never)."""

    per_window: int
    window: float
    surge_per_minute: int = 0
    minted: int = 0
    refused: int = 0
    _buckets: KeyedBuckets = field(init=False)
    per_room: MinuteCounts = field(default_factory=MinuteCounts)

    def __post_init__(self) -> None:
        rate = self.per_window / self.window if self.window > 0 else 0.0
        self._buckets = KeyedBuckets(rate, float(self.per_window))

    def identify(
        self, secret: bytes, presented: str | None, address: str | None, room: str, now: float,
    ) -> tuple[str, bool]:
        """``(identity, minted)``: ``presented`` if this server signed it, else a new one
        (``bad_device`` for a forged one; :class:`MintRefused` when ``address`` has used
        its allowance; ``address`` None is not limited: a socket of another node, or a
        loopback peer)."""
        if check_device_identity(secret, presented):
            assert presented is not None
            return presented, False
        if address is not None and self.per_window > 0 and not self._buckets.allow(address, now):
            self.refused += 1
            raise MintRefused(self._buckets.retry_after(address, now))
        self.minted += 1
        self.per_room.add(room, now)
        return issue_device_identity(secret), True

    def surging(self, room: str, now: float) -> int:
        """How many identities ``room`` was issued within the last minute if that reached
        the surge threshold (once per burst, to log and tell staff), else 0."""
        return self.per_room.burst(room, now, self.surge_per_minute)


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
