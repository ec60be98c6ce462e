"""Lengths and counts every text a participant sends must respect, and the cleaning that
makes user text safe to store and show as plain text.

Text stays plain text everywhere: the client renders it with ``textContent``. What the
core does is remove what could still mislead a reader (control characters, zero-width and
bidi-override characters that make one message read as another) and bound the sizes.
"""

from __future__ import annotations

import unicodedata

from rooms.errors import Reason, ValidationError

CHAT_MAX = 500
OPINION_MAX = 2000
RESPONSE_MAX = 2000
QUESTION_MAX = 500
CAPTION_MAX = 300
REASON_MAX = 500
TITLE_MAX = 200
CATEGORY_MAX = 40
POLL_QUESTION_MAX = 300
POLL_OPTION_MAX = 100
POLL_OPTIONS_MIN = 2
POLL_OPTIONS_MAX = 10
AGENDA_MAX_ITEMS = 100
#: Longest planned duration of an agenda item, and longest floor time limit (seconds).
MAX_DURATION_SECONDS = 6 * 3600
#: Raw input accepted before cleaning, as a multiple of the limit: keeps cleaning cheap
#: while tolerating text that shrinks (stripped controls, collapsed whitespace).
RAW_FACTOR = 4
#: Consecutive line breaks kept in multi-line text (one empty line between paragraphs).
MAX_LINE_BREAKS = 2

# Controls, format characters (zero-width joiners, bidi overrides and isolates),
# unassigned, private use and surrogates.
_DROPPED = frozenset({"Cc", "Cf", "Cn", "Co", "Cs"})
_LINE_BREAKS = frozenset({"\n", "\r", "\u2028", "\u2029", "\x85", "\v", "\f"})


def _clean(raw: str, multiline: bool) -> str:
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n"))
    out: list[str] = []
    breaks = 0
    for ch in text:
        if ch in _LINE_BREAKS:
            if multiline:
                breaks += 1
                if breaks <= MAX_LINE_BREAKS:
                    out.append("\n")
                continue
            ch = " "
        elif ch.isspace():
            # Tabs, ideographic and other spaces read as one space.
            ch = " "
        elif unicodedata.category(ch) in _DROPPED:
            continue
        if ch == " ":
            # Spaces neither end a run of line breaks nor repeat.
            if out and out[-1] == " ":
                continue
        else:
            breaks = 0
        out.append(ch)
    lines = "".join(out).split("\n")
    return "\n".join(line.strip() for line in lines).strip()


def clean_text(raw: object, limit: int, field: str, *, multiline: bool = False) -> str:
    """Return ``raw`` cleaned for storage and display, or raise ``ValidationError``.

    NFC-normalised (NFKC would rewrite what people typed, e.g. full-width digits);
    controls and format characters dropped; whitespace runs collapsed to one space; line
    breaks kept only when ``multiline`` (at most one empty line in a row). Raises
    ``bad_field`` when not a string or empty after cleaning, ``too_long`` over ``limit``
    characters.
    """
    if not isinstance(raw, str):
        raise ValidationError(Reason.BAD_FIELD, f"{field} must be a string")
    if len(raw) > limit * RAW_FACTOR:
        raise ValidationError(Reason.TOO_LONG, f"{field} is longer than {limit} characters")
    text = _clean(raw, multiline)
    if not text:
        raise ValidationError(Reason.BAD_FIELD, f"{field} is empty")
    if len(text) > limit:
        raise ValidationError(Reason.TOO_LONG, f"{field} is longer than {limit} characters")
    return text


def optional_reason(raw: object) -> str:
    """A moderator's stated reason: optional (empty string when absent), ≤ ``REASON_MAX``."""
    if raw is None or raw == "":
        return ""
    return clean_text(raw, REASON_MAX, "reason", multiline=True)


def check_seconds(value: object, field: str, *, minimum: float = 1.0) -> float:
    """A duration in seconds between ``minimum`` and ``MAX_DURATION_SECONDS``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(Reason.BAD_FIELD, f"{field} must be a number of seconds")
    seconds = float(value)
    if not minimum <= seconds <= MAX_DURATION_SECONDS:
        raise ValidationError(
            Reason.BAD_FIELD,
            f"{field} must be between {minimum:g} and {MAX_DURATION_SECONDS} seconds",
        )
    return seconds


def check_id(value: object, field: str) -> int:
    """An item id: a positive integer (ids are assigned by the core, counting from 1)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(Reason.BAD_FIELD, f"{field} must be a positive integer id")
    return value
