"""Display-name normalisation: what a person types becomes what everyone sees."""

from __future__ import annotations

import unicodedata

from rooms.errors import Reason, ValidationError

MAX_NAME_LENGTH = 24
#: Accept at most this much raw input before normalising, so normalisation stays cheap.
MAX_RAW_NAME_LENGTH = 256

# Categories dropped outright: controls, format characters (zero-width joiners, bidi
# overrides that could reverse how a neighbour's name reads, tag characters, the soft
# hyphen), unassigned, private use, surrogates and line/paragraph separators.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})
#: Words in a character's Unicode name that mark it as drawing nothing. Python's
#: unicodedata has no Default_Ignorable_Code_Point property; the ignorables outside
#: category Cf are the variation selectors (U+FE00-FE0F, U+E0100-E01EF, the Mongolian free
#: ones U+180B-180D/180F) and the Hangul fillers (U+115F, U+1160, U+3164, U+FFA0), and
#: their names say so. Asking the name keeps the set right when Unicode adds more of them.
_INVISIBLE_NAME_WORDS = ("VARIATION SELECTOR", "FILLER")
#: The few other characters that draw nothing: the combining grapheme joiner (a
#: default-ignorable mark), the Khmer inherent vowels (default-ignorable, deprecated) and
#: the blank Braille pattern (not ignorable, but a blank cell that passes for a letter).
_INVISIBLE = frozenset("\u034f\u17b4\u17b5\u2800")


def is_invisible(ch: str) -> bool:
    """Whether ``ch`` draws nothing (or is a control) and so has no place in a name: two
    names that differ only by such characters look the same to everyone else."""
    if unicodedata.category(ch) in _DROPPED_CATEGORIES or ch in _INVISIBLE:
        return True
    name = unicodedata.name(ch, "")
    return any(word in name for word in _INVISIBLE_NAME_WORDS)


def normalise_name(raw: object) -> str:
    """Return the name as shown to others, or raise ``bad_name``.

    NFKC folds full-width Latin and half-width kana into their usual forms, so that
    visually identical names compare equal; whitespace runs collapse to one space;
    invisible and filler characters (:func:`is_invisible`) are dropped, so that they cannot
    make a look-alike of someone else's name.
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
        elif not is_invisible(ch):
            kept.append(ch)
    name = " ".join("".join(kept).split())
    if not name:
        raise ValidationError(Reason.BAD_NAME, "name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(Reason.BAD_NAME, f"name is longer than {MAX_NAME_LENGTH} characters")
    return name
