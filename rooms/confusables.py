"""Confusable skeletons of display names: two names with the same skeleton look alike.

This follows the idea of Unicode TS #39 ("skeleton"): fold each name to a form in which
characters that are drawn alike become one character, then compare the forms. The full
TS #39 data is large and not in Python's standard library; the table here is our own,
small and aimed at what a Japanese municipal meeting sees: Latin letters imitated with
Cyrillic or Greek ones, digits passed off as letters, and Katakana that are drawn like a
Kanji (ロ and 口, エ and 工, カ and 力, ー and 一...). Full-width and half-width forms, and
the Kangxi radicals, need no table: NFKC folds them.

A skeleton is only ever compared with another skeleton; it is never shown to anyone, so
the target chosen for a group of look-alikes does not matter, only that it is the same.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from rooms.names import is_invisible

#: One character → the character it is drawn like. Applied once before case folding (so
#: that upper-case Cyrillic and Greek letters land on Latin capitals, which then fold) and
#: once after (for the lower-case forms folding produced).
_LOOKALIKE: dict[str, str] = {
    # Latin and digits among themselves.
    "0": "o", "1": "l", "I": "l", "|": "l", "\u0131": "i",
    # Cyrillic capitals drawn as Latin ones.
    "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u041a": "K", "\u041c": "M",
    "\u041d": "H", "\u041e": "O", "\u0420": "P", "\u0421": "C", "\u0422": "T",
    "\u0425": "X", "\u0423": "Y", "\u0405": "S", "\u0406": "l", "\u0408": "J",
    "\u051a": "Q", "\u051c": "W", "\u04ae": "Y", "\u04ba": "H", "\u04c0": "l",
    # Cyrillic small letters drawn as Latin ones.
    "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c",
    "\u0443": "y", "\u0445": "x", "\u0456": "i", "\u0458": "j", "\u0455": "s",
    "\u04bb": "h", "\u0501": "d", "\u051b": "q", "\u051d": "w", "\u04af": "y",
    "\u04cf": "l",
    # Greek capitals drawn as Latin ones.
    "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z", "\u0397": "H",
    "\u0399": "l", "\u039a": "K", "\u039c": "M", "\u039d": "N", "\u039f": "O",
    "\u03a1": "P", "\u03a4": "T", "\u03a5": "Y", "\u03a7": "X",
    # Greek small letters drawn as Latin ones.
    "\u03bf": "o", "\u03c1": "p", "\u03b1": "a", "\u03bd": "v", "\u03b9": "i",
    "\u03ba": "k", "\u03c5": "u", "\u03c7": "x", "\u03b3": "y", "\u03f2": "c",
    "\u03f3": "j",
    # Katakana drawn like a Kanji (or like Hiragana), and the long-vowel mark like dashes.
    "\u30ed": "\u53e3", "\u56d7": "\u53e3",  # ロ, 囗 → 口
    "\u30a8": "\u5de5",  # エ → 工
    "\u30ab": "\u529b",  # カ → 力
    "\u30bf": "\u5915",  # タ → 夕
    "\u30c8": "\u535c",  # ト → 卜
    "\u30cb": "\u4e8c",  # ニ → 二
    "\u30cf": "\u516b",  # ハ → 八
    "\u30aa": "\u624d",  # オ → 才
    "\u30c1": "\u5343",  # チ → 千
    "\u30cc": "\u53c8",  # ヌ → 又
    "\u30d8": "\u3078", "\u30d9": "\u3079", "\u30da": "\u307a",  # ヘベペ → へべぺ
    "\u30ea": "\u308a",  # リ → り
    "\u30fc": "\u4e00", "\u2014": "\u4e00", "\u2015": "\u4e00", "\u2500": "\u4e00",
    "\u2501": "\u4e00", "\u1173": "\u4e00",  # ー, dashes, box lines, Hangul ㅡ → 一
    "\u3007": "o", "\u25cb": "o",  # 〇, ○ → o
    "\u1175": "l",  # Hangul ㅣ
}
#: Letter pairs drawn like one letter, replaced after the single characters.
_PAIRS = (("rn", "m"), ("vv", "w"))


def _fold(text: str) -> str:
    return "".join(_LOOKALIKE.get(ch, ch) for ch in text)


def skeleton(name: str) -> str:
    """The form ``name`` is compared by: NFKC, without invisible characters and spaces,
    look-alikes replaced (:data:`_LOOKALIKE`), case folded. Names with equal skeletons
    read the same to a person looking at them."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if not ch.isspace() and not is_invisible(ch))
    text = _fold(_fold(text).casefold())
    for pair, single in _PAIRS:
        text = text.replace(pair, single)
    return text


def confusable(name: str, others: Iterable[str]) -> str | None:
    """The first of ``others`` that ``name`` could be taken for, or None."""
    mine = skeleton(name)
    return next((other for other in others if skeleton(other) == mine), None)
