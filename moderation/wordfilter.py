"""The NG-word filter: finds listed words in chat text across the usual disguises.

Lists are plain text, one entry a line, ``#`` starts a comment. Text and entries are both
*folded* before matching: NFKC (full-width Latin and half-width kana become ordinary
forms), case folding, katakana to hiragana, and a few digit-for-letter swaps (``sh1t``).
Runs of single characters split by spaces or punctuation are also read joined, so
``f u c k`` and ``し　ね`` are caught while ``a b c`` in ordinary text stays ``a b c``.

An entry matches at word boundaries on both sides: the character before and after the
match must not be of the same kind (Latin letter or digit, kana, kanji). A ``*`` at either
end of an entry lifts the boundary on that side::

    fuck*       fuck, fucking — but not in "clusterfuck"
    *shit       bullshit
    *死ね*       anywhere: お前死ね
    しね*        しね, しねよ — but not むかしね (昔ね)

Whole-word matching is what keeps ``class`` and ``Scunthorpe`` from being caught.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Where the default lists live; the server reads them (this module does no I/O).
DEFAULT_LIST_DIR = Path(__file__).resolve().parent / "ngwords"
DEFAULT_LIST_FILES = ("ja.txt", "en.txt")

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s"})


def _to_hiragana(ch: str) -> str:
    code = ord(ch)
    # Katakana ァ..ヶ and the iteration marks ヽヾ sit 0x60 above their hiragana.
    if 0x30A1 <= code <= 0x30F6 or code in (0x30FD, 0x30FE):
        return chr(code - 0x60)
    return ch


def fold(text: str) -> str:
    """The form text is matched in: NFKC, case-folded, katakana read as hiragana."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Invisible characters (zero-width spaces, bidi marks) are a common way to split a word.
    return "".join(
        _to_hiragana(ch) for ch in folded if unicodedata.category(ch) not in ("Cf", "Cc")
    )


def _kind(ch: str) -> str:
    """Which kind of character ``ch`` is, for word boundaries."""
    if ch.isascii():
        return "latin" if ch.isalnum() else ""
    name = unicodedata.name(ch, "")
    if name.startswith(("HIRAGANA", "KATAKANA")) or ch == "ー":
        return "kana"
    if name.startswith("CJK UNIFIED") or ch in "々〆":
        return "kanji"
    if ch.isalpha():
        return "latin" if "LATIN" in name else "letter"
    return ""


def _is_word_char(ch: str) -> bool:
    return _kind(ch) != ""


def _join_single_runs(text: str) -> str:
    """Join runs of ≥ 2 single characters split by separators: ``f.u.c.k`` → ``fuck``."""
    tokens: list[tuple[str, bool]] = []  # (text, is_word)
    for ch in text:
        word = _is_word_char(ch)
        if tokens and tokens[-1][1] == word:
            tokens[-1] = (tokens[-1][0] + ch, word)
        else:
            tokens.append((ch, word))
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        # tokens alternate word / separator: look for word(1) sep word(1) sep word(1)...
        while (
            j + 2 < len(tokens) and tokens[j][1] and len(tokens[j][0]) == 1
            and len(tokens[j + 2][0]) == 1 and tokens[j + 2][1]
        ):
            j += 2
        if j > i:
            out.append("".join(tokens[k][0] for k in range(i, j + 1, 2)))
            i = j + 1
        else:
            out.append(tokens[i][0])
            i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Entry:
    source: str
    word: str
    open_left: bool
    open_right: bool


def parse_word_list(text: str) -> tuple[str, ...]:
    """Entries of a list file's text: one per line, blank lines and ``#`` comments skipped."""
    entries = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            entries.append(entry)
    return tuple(entries)


class WordFilter:
    """Finds list entries in text. Build once from the configured lists; reuse."""

    def __init__(self, words: Iterable[str]) -> None:
        entries = []
        for source in words:
            word = fold(source.strip("*"))
            if word:
                entries.append(
                    _Entry(source, word, source.startswith("*"), source.endswith("*"))
                )
        self._entries: tuple[_Entry, ...] = tuple(entries)

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _at_boundary(text: str, start: int, end: int, entry: _Entry) -> bool:
        def joined(a: int, b: int) -> bool:
            # Two neighbours of the same kind continue one word.
            return _kind(text[a]) != "" and _kind(text[a]) == _kind(text[b])

        left_ok = entry.open_left or start == 0 or not joined(start - 1, start)
        right_ok = entry.open_right or end == len(text) or not joined(end, end - 1)
        return left_ok and right_ok

    def _matches(self, text: str, entry: _Entry) -> bool:
        start = text.find(entry.word)
        while start >= 0:
            if self._at_boundary(text, start, start + len(entry.word), entry):
                return True
            start = text.find(entry.word, start + 1)
        return False

    def find(self, text: str) -> tuple[str, ...]:
        """The entries (as listed) found in ``text``; empty when the text is clean."""
        folded = fold(text)
        leet = folded.translate(_LEET)
        variants = {folded, _join_single_runs(folded), leet, _join_single_runs(leet)}
        return tuple(
            e.source for e in self._entries if any(self._matches(v, e) for v in variants)
        )

    def allows(self, text: str) -> bool:
        return not self.find(text)
