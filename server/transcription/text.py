"""Text normalisation for scoring recognised Japanese, and the character error rate.

Scoring compares what was said with what was recognised, not how it was written: both
sides are NFKC-normalised (full-width digits and letters become ASCII), lose punctuation
and spaces, and have their numbers written one way (kanji numerals such as 十二 or 二〇二六
become 12 and 2026), so 「議案第十二号」 and 「議案第12号」 score as the same.
"""

from __future__ import annotations

import re
import unicodedata

_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
           "八": 8, "九": 9}  # fmt: skip
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_LARGE_UNITS = {"万": 10_000, "億": 100_000_000}
_KANJI_NUMBER = re.compile("[〇零一二三四五六七八九十百千万億]+")


def kanji_to_int(text: str) -> int | None:
    """The value of a kanji numeral (十二 → 12, 二千二十六 → 2026, 二〇二六 → 2026), or
    ``None`` when the characters do not form a number (a unit alone such as 万)."""
    if all(ch in _DIGITS for ch in text):  # written digit by digit: 二〇二六
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total = section = 0
    digit: int | None = None
    for ch in text:
        if ch in _DIGITS:
            if digit is not None:
                return None  # 二三十: not a number
            digit = _DIGITS[ch]
        elif ch in _SMALL_UNITS:
            section += (1 if digit is None else digit) * _SMALL_UNITS[ch]
            digit = None
        else:
            block = section + (digit or 0)
            if block == 0:
                return None
            total += block * _LARGE_UNITS[ch]
            section, digit = 0, None
    return total + section + (digit or 0)


def _numerals(text: str) -> str:
    def number(match: re.Match[str]) -> str:
        value = kanji_to_int(match.group(0))
        return match.group(0) if value is None else str(value)

    return _KANJI_NUMBER.sub(number, text)


def normalise(text: str) -> str:
    """NFKC, without punctuation, symbols or spaces, numbers in Arabic digits, lower case."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        ch for ch in text if not unicodedata.category(ch).startswith(("P", "Z", "C", "S"))
    )
    return _numerals(text).lower()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings (insertions, deletions, substitutions)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))  # fmt: skip
        previous = current
    return previous[-1]


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference``, both normalised: edits
    over the reference's length (can exceed 1 when much is inserted)."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        raise ValueError("an empty reference has no error rate")
    return edit_distance(ref, hyp) / len(ref)
