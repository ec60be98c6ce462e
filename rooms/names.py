"""Display-name normalisation: what a person types becomes what everyone sees."""

from __future__ import annotations

import unicodedata

from rooms.errors import Reason, ValidationError

MAX_NAME_LENGTH = 24
#: Accept at most this much raw input before normalising, so normalisation stays cheap.
MAX_RAW_NAME_LENGTH = 256

# Categories dropped outright: controls, format characters (zero-width joiners, bidi
# overrides that could reverse how a neighbour's name reads), unassigned, private use,
# surrogates and line/paragraph separators.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})


def normalise_name(raw: object) -> str:
    """Return the name as shown to others, or raise ``bad_name``.

    NFKC folds full-width Latin and half-width kana into their usual forms, so that
    visually identical names compare equal; whitespace runs collapse to one space.
    """
    if not isinstance(raw, str):
        raise ValidationError(Reason.BAD_NAME, "name must be a string")
    if len(raw) > MAX_RAW_NAME_LENGTH:
        raise ValidationError(Reason.BAD_NAME, f"name is longer than {MAX_NAME_LENGTH} characters")
    text = unicodedata.normalize("NFKC", raw)
    kept = []
    for ch in text:
        if ch.isspace():
            # Tabs, newlines and ideographic spaces separate words: keep them as a space.
            kept.append(" ")
        elif unicodedata.category(ch) not in _DROPPED_CATEGORIES:
            kept.append(ch)
    name = " ".join("".join(kept).split())
    if not name:
        raise ValidationError(Reason.BAD_NAME, "name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(Reason.BAD_NAME, f"name is longer than {MAX_NAME_LENGTH} characters")
    return name
