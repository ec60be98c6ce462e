"""How a person's procedural avatar looks: a few parameters chosen at join, never a photo."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rooms.errors import Reason, ValidationError

HAIR_STYLES = ("short", "long", "bun", "bald", "cap")
ACCESSORIES = ("none", "glasses", "scarf", "tie")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True, slots=True)
class AvatarStyle:
    body: str = "#3b82f6"
    skin: str = "#f1c9a5"
    hair: str = "short"
    hair_color: str = "#2b2b2b"
    accessory: str = "none"

    @classmethod
    def parse(cls, data: object) -> AvatarStyle:
        """Validate an ``avatar`` object from a join payload; missing fields take defaults."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ValidationError(Reason.BAD_FIELD, "avatar must be an object")
        allowed = {"body", "skin", "hair", "hair_color", "accessory"}
        unknown = set(data) - allowed
        if unknown:
            raise ValidationError(
                Reason.UNKNOWN_FIELD, f"unknown avatar field: {sorted(map(str, unknown))[0]}"
            )
        values: dict[str, str] = {}
        for key in ("body", "skin", "hair_color"):
            if key in data:
                value = data[key]
                if not isinstance(value, str) or not _COLOUR.fullmatch(value):
                    raise ValidationError(Reason.BAD_FIELD, f"avatar.{key} must be #rrggbb")
                values[key] = value.lower()
        for key, options in (("hair", HAIR_STYLES), ("accessory", ACCESSORIES)):
            if key in data:
                value = data[key]
                if value not in options:
                    raise ValidationError(
                        Reason.BAD_FIELD, f"avatar.{key} must be one of {', '.join(options)}"
                    )
                values[key] = value
        return cls(**values)

    def to_wire(self) -> dict[str, str]:
        return {
            "body": self.body,
            "skin": self.skin,
            "hair": self.hair,
            "hair_color": self.hair_color,
            "accessory": self.accessory,
        }
