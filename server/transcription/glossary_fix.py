"""Correction of recognised Japanese against the room's terms, by reading.

Whisper often hears a committee word right and writes it wrong: 可決 comes out as かけつ,
定足数 as 定則数, 請願第三号 as 世間大産号. The sounds are there; the spelling is not. This
module turns the recognised text and every term (the room's hints and the glossary) into
readings (OpenJTalk's pronunciation in katakana, then a small phoneme sequence) and
replaces a stretch of the text that *sounds like* a term by the term.

What keeps it from damaging correct text:

- only the given terms are ever written in (nothing is corrected towards a dictionary);
- a replaced stretch is whole morphemes of one run of Japanese script (never across
  punctuation, digits or Latin letters), and does not begin or end with a particle, an
  auxiliary or a symbol unless the term does;
- a term of one or two morae (挙手, 採決 is four) must sound exactly the same; a longer
  one may differ by :data:`RATIO` of its phonemes at most (one edit in six);
- numbers must agree: 議案第十二号 never becomes 議案第十五号;
- a stretch that overlaps a term already written out is left alone (否決 is a term too,
  so it does not become 可決), and a stretch two terms fit equally well is left alone;
- a stretch that is one dictionary word written with kanji is left alone: Whisper chose
  a real word there (規律 sounds exactly like 起立, 教師 nearly like 挙手). Its misses are
  kana (かけつ) or compounds of wrong pieces (定則数 is 定則 + 数, 世間大産号);
- the held-out bench set (everyday sentences, bench/transcription.py) measures what it
  costs where no term was said.

It cannot tell homophones written in pieces or in kana apart: さいけつ in a room whose
terms include 採決 becomes 採決, though it may have been 採血. In a committee that is the
likelier word; docs/performance.md says what the held-out set showed.

Pure: no I/O beyond the reader's dictionary, no state between calls except caches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from server.transcription.text import normalise

#: Phoneme edits a term of three morae or more may differ by, per phoneme of the term.
RATIO = 1 / 6
#: Morphemes in one replaced stretch, at most.
MAX_SPAN = 8
#: Parts of speech a stretch may not begin or end with (OpenJTalk's names).
_FUNCTION = frozenset({"助詞", "助動詞", "記号", "フィラー"})
#: A run of Japanese script: kanji, kana, the long-vowel mark and the iteration mark.
_JAPANESE = re.compile(r"[\u3041-\u309f\u30a1-\u30ff\u4e00-\u9fff\u3400-\u4dbf々〆ヵヶ]+")
_NUMBER = re.compile(r"\d+")
_KANJI = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf々]")


@dataclass(frozen=True, slots=True)
class Morpheme:
    """One word as the reader cut it: its written form, its pronunciation in katakana,
    and its part of speech."""

    surface: str
    pron: str
    pos: str


Reader = Callable[[str], Sequence[Morpheme]]


def openjtalk_reader(text: str) -> tuple[Morpheme, ...]:
    """``text`` cut into morphemes by OpenJTalk (pyopenjtalk-plus: its dictionary ships in
    the wheel, nothing is downloaded)."""
    import pyopenjtalk

    return tuple(
        Morpheme(str(f["string"]), str(f["pron"]), str(f["pos"]))
        for f in pyopenjtalk.run_frontend(text)
    )


# Katakana to phonemes: a consonant (or none) and a vowel a mora; ン is N, ッ is Q, ー
# repeats the vowel before it. Small ャュョ and ァィゥェォ glue onto the mora before.
_ROWS = {
    "": "アイウエオ", "k": "カキクケコ", "s": "サシスセソ", "t": "タチツテト",
    "n": "ナニヌネノ", "h": "ハヒフヘホ", "m": "マミムメモ", "y": "ヤ_ユ_ヨ",
    "r": "ラリルレロ", "w": "ワヰ_ヱヲ", "g": "ガギグゲゴ", "z": "ザジズゼゾ",
    "d": "ダヂヅデド", "b": "バビブベボ", "p": "パピプペポ",
}  # fmt: skip
_MORA: dict[str, tuple[str, str]] = {}
for _consonant, _kana in _ROWS.items():
    for _vowel, _ch in zip("aiueo", _kana, strict=True):
        if _ch != "_":
            _MORA[_ch] = (_consonant, _vowel)
_MORA.update({"シ": ("sh", "i"), "チ": ("ch", "i"), "ツ": ("ts", "u"), "フ": ("f", "u"),
              "ジ": ("j", "i"), "ヂ": ("j", "i"), "ヅ": ("z", "u"), "ヰ": ("", "i"),
              "ヱ": ("", "e"), "ヲ": ("", "o"), "ヴ": ("v", "u")})  # fmt: skip
_SMALL_Y = {"ャ": "a", "ュ": "u", "ョ": "o"}
_SMALL_V = {"ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o", "ヮ": "a"}


def kana_phonemes(kana: str) -> tuple[str, ...]:
    """Katakana (or hiragana) as phonemes: キョシュ → ky o sh u, カケツ → k a k e ts u.
    Anything that is not kana is skipped."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKC", kana):
        if "\u3041" <= ch <= "\u3096":  # hiragana → katakana
            ch = chr(ord(ch) + 0x60)
        if ch in _MORA:
            consonant, vowel = _MORA[ch]
            if consonant:
                out.append(consonant)
            out.append(vowel)
        elif ch in _SMALL_Y and out and out[-1] == "i":
            out.pop()  # キ + ョ: ky o; シ + ュ: sh u
            if out and out[-1] in ("sh", "ch", "j"):
                out.append(_SMALL_Y[ch])
            else:
                consonant = out.pop() if out and out[-1] not in "aiueo" else ""
                out += [consonant + "y", _SMALL_Y[ch]] if consonant else ["y", _SMALL_Y[ch]]
        elif ch in _SMALL_V and out and out[-1] in "aiueo":
            out[-1] = _SMALL_V[ch]  # ティ: t i; ファ: f a
        elif ch == "ン":
            out.append("N")
        elif ch in "ッ":
            out.append("Q")
        elif ch == "ー" and out and out[-1] in "aiueo":
            out.append(out[-1])
    return tuple(out)


def morae(kana: str) -> int:
    """How many morae a katakana reading has (small ャュョァィゥェォ do not count)."""
    return sum(1 for ch in kana if ch in _MORA or ch in "ンッー")


def _distance(a: Sequence[str], b: Sequence[str], limit: int) -> int:
    """Levenshtein distance over phonemes, stopping early once past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _numbers(text: str) -> tuple[str, ...]:
    return tuple(_NUMBER.findall(normalise(text)))


@dataclass(frozen=True, slots=True)
class Term:
    """A glossary term with its reading."""

    text: str
    phonemes: tuple[str, ...]
    morae: int
    starts_content: bool
    ends_content: bool
    numbers: tuple[str, ...]

    @property
    def allowed(self) -> int:
        """Phoneme edits a stretch may differ by and still be taken for this term."""
        return int(len(self.phonemes) * RATIO) if self.morae >= 3 else 0


@dataclass(frozen=True, slots=True)
class Replacement:
    """One correction: characters ``start:end`` of the text were ``before``, now ``term``."""

    start: int
    end: int
    before: str
    term: str
    distance: int


class GlossaryFix:
    """Corrects recognised text towards ``terms`` by reading (see the module's notes)."""

    def __init__(self, terms: Iterable[str], reader: Reader = openjtalk_reader) -> None:
        self._reader = reader
        seen: dict[str, None] = dict.fromkeys(t.strip() for t in terms if t.strip())
        self.terms: tuple[Term, ...] = tuple(
            term for term in (self._term(t) for t in seen) if term is not None
        )

    def _term(self, text: str) -> Term | None:
        morphs = self._reader(text)
        pron = "".join(m.pron for m in morphs)
        phonemes = kana_phonemes(pron)
        if not morphs or not phonemes:
            return None
        return Term(text, phonemes, morae(pron), morphs[0].pos not in _FUNCTION,
                    morphs[-1].pos not in _FUNCTION, _numbers(text))  # fmt: skip

    def fix(self, text: str) -> str:
        """``text`` with every stretch that sounds like a term written as the term."""
        return self.apply(text, self.replacements(text))

    @staticmethod
    def apply(text: str, replacements: Iterable[Replacement]) -> str:
        """``text`` with ``replacements`` (from :meth:`replacements` of the same text) made."""
        out = text
        for r in sorted(replacements, key=lambda r: r.start, reverse=True):
            out = out[: r.start] + r.term + out[r.end :]
        return out

    def replacements(self, text: str) -> list[Replacement]:
        """What :meth:`fix` would change, left to right, none overlapping."""
        if not self.terms:
            return []
        written = [  # where a term is already written out: left alone
            (m.start(), m.end()) for t in self.terms for m in re.finditer(re.escape(t.text), text)
        ]
        found: list[Replacement] = []
        for run in _JAPANESE.finditer(text):
            found += self._in_run(text, run.start(), run.group(0), written)
        chosen: list[Replacement] = []
        # The closest and longest first; then nothing that overlaps one already chosen.
        for r in sorted(found, key=lambda r: (r.distance, -(r.end - r.start), r.start)):
            if all(r.end <= c.start or r.start >= c.end for c in chosen):
                chosen.append(r)
        return sorted(chosen, key=lambda r: r.start)

    def _in_run(self, text: str, offset: int, run: str,
                written: list[tuple[int, int]]) -> list[Replacement]:  # fmt: skip
        morphs = self._reader(run)
        if "".join(m.surface for m in morphs) != run:
            return []  # the reader rewrote something: no safe way to map it back
        starts = [offset]
        for m in morphs:
            starts.append(starts[-1] + len(m.surface))
        sounds = [kana_phonemes(m.pron) for m in morphs]
        found: list[Replacement] = []
        for i in range(len(morphs)):
            for j in range(i + 1, min(len(morphs), i + MAX_SPAN) + 1):
                start, end = starts[i], starts[j]
                if j == i + 1 and _KANJI.search(morphs[i].surface):
                    continue  # one real word in kanji: Whisper's choice, kept
                if any(s < end and start < e for s, e in written):
                    continue
                phonemes = tuple(p for s in sounds[i:j] for p in s)
                before = text[start:end]
                best: list[tuple[int, Term]] = []
                for term in self.terms:
                    if (morphs[i].pos not in _FUNCTION) != term.starts_content or (
                        morphs[j - 1].pos not in _FUNCTION
                    ) != term.ends_content:
                        continue
                    d = _distance(phonemes, term.phonemes, term.allowed)
                    if d <= term.allowed and _numbers(before) == term.numbers:
                        best.append((d, term))
                if not best:
                    continue
                best.sort(key=lambda b: b[0])
                if len(best) > 1 and best[1][0] == best[0][0]:
                    continue  # two terms fit as well: not ours to choose
                d, term = best[0]
                if term.text != before:
                    found.append(Replacement(start, end, before, term.text, d))
        return found


@lru_cache(maxsize=8)
def glossary_fix(terms: tuple[str, ...]) -> GlossaryFix:
    """A :class:`GlossaryFix` for ``terms`` with OpenJTalk, kept for the next call with the
    same terms (a room's hints change rarely; reading them costs a few ms a term)."""
    return GlossaryFix(terms)
