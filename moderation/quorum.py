"""Quorum (定足数) arithmetic of a committee: how many members must be present and verified.

A committee's rule is a fraction of its seats (定数), "or more" or "more than", and whether
the chair counts among the seats and the present. ``needed = ceil(seats × fraction)``
(``strict``: ``floor(seats × fraction) + 1``). Pure: the committee feeds it counts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from rooms.errors import Reason, ValidationError

_FRACTION = re.compile(r"([1-9][0-9]{0,2})/([1-9][0-9]{0,2})")
#: Largest number of seats a rule may name (a council has at most a few hundred).
MAX_SEATS = 999


@dataclass(frozen=True, slots=True)
class QuorumRule:
    """A committee's quorum rule. ``seats``: the fixed number of seats (None: the roster's
    size). The default is the local-autonomy law's "half or more, chair included".
    ``camera_during_vote``: a member's ballot counts only when cast with their identity
    camera live (the committee's rule beside its quorum; refused ``camera_required``)."""

    fraction: str = "1/2"
    strict: bool = False
    chair_counts: bool = True
    seats: int | None = None
    camera_during_vote: bool = False

    @property
    def ratio(self) -> Fraction:
        found = _FRACTION.fullmatch(self.fraction)
        if found is None:
            raise ValidationError(Reason.BAD_FIELD, "fraction must look like 1/2")
        return Fraction(int(found[1]), int(found[2]))

    def needed(self, seats: int) -> int:
        """How many counted members make a quorum of ``seats`` seats (at least 1)."""
        product = seats * self.ratio
        need = math.floor(product) + 1 if self.strict else math.ceil(product)
        return max(1, need)

    @classmethod
    def parse(cls, raw: object) -> QuorumRule:
        """A rule from a settings payload (``{"fraction", "strict", "chair_counts",
        "seats", "camera_during_vote"}``, every field optional), or ``bad_field``."""
        if not isinstance(raw, dict) or set(raw) - {"fraction", "strict", "chair_counts",
                                                    "seats", "camera_during_vote"}:
            raise ValidationError(Reason.BAD_FIELD, "the committee rule must be an object with "
                                  "fraction, strict, chair_counts, seats, camera_during_vote")
        rule = cls()
        fraction = raw.get("fraction", rule.fraction)
        if not isinstance(fraction, str) or _FRACTION.fullmatch(fraction) is None:
            raise ValidationError(Reason.BAD_FIELD, "fraction must look like 1/2")
        if not 0 < Fraction(fraction) <= 1:
            raise ValidationError(Reason.BAD_FIELD, "fraction must be more than 0, at most 1")
        flags = {}
        for name in ("strict", "chair_counts", "camera_during_vote"):
            value = raw.get(name, getattr(rule, name))
            if not isinstance(value, bool):
                raise ValidationError(Reason.BAD_FIELD, f"{name} must be true or false")
            flags[name] = value
        seats = raw.get("seats")
        if seats is not None and (isinstance(seats, bool) or not isinstance(seats, int)
                                  or not 1 <= seats <= MAX_SEATS):
            raise ValidationError(Reason.BAD_FIELD, f"seats must be 1 to {MAX_SEATS} or null")
        return cls(fraction, flags["strict"], flags["chair_counts"], seats,
                   flags["camera_during_vote"])


@dataclass(frozen=True, slots=True)
class QuorumCount:
    """The quorum at one moment: members counted (present and verified), needed, seats."""

    counted: int
    needed: int
    seats: int

    @property
    def met(self) -> bool:
        return self.counted >= self.needed
