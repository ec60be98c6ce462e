"""The correction of recognised text against the glossary by reading
(server/transcription/glossary_fix.py), with the real OpenJTalk reader."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from server.transcription.engine import committee_glossary
from server.transcription.glossary_fix import (
    GlossaryFix,
    kana_phonemes,
    openjtalk_reader,
)

ROOM = ("総務委員会", "議案第十二号", "議案第十五号", "請願第三号", "山田委員", "佐藤委員")
TERMS = (*ROOM, *committee_glossary())


@pytest.fixture(scope="module")
def fix() -> GlossaryFix:
    return GlossaryFix(TERMS)


def test_kana_become_phonemes() -> None:
    assert kana_phonemes("キョシュ") == ("ky", "o", "sh", "u")
    assert kana_phonemes("かけつ") == ("k", "a", "k", "e", "ts", "u")
    assert kana_phonemes("テーソクスー") == ("t", "e", "e", "s", "o", "k", "u", "s", "u", "u")
    assert kana_phonemes("ティッシュ") == ("t", "i", "Q", "sh", "u")
    assert kana_phonemes("ギャン") == ("gy", "a", "N")


@pytest.mark.parametrize(("heard", "meant"), [
    ("かけつされました。", "可決されました。"),  # what Whisper base wrote
    ("定則数に達しております。", "定足数に達しております。"),
    ("議案第十二号についてさいけつします。", "議案第十二号について採決します。"),
    ("本案はひけつされました。", "本案は否決されました。"),
    ("起立少数であります。", "起立少数であります。"),  # already right: left alone
])  # fmt: skip
def test_known_near_misses_are_fixed(fix: GlossaryFix, heard: str, meant: str) -> None:
    assert fix.fix(heard) == meant


@pytest.mark.parametrize("text", [
    "兄は中学校の教師として働いています。",  # 教師 sounds near 挙手, which is short: exact only
    "遅れてしまって、どうかお許しください。",
    "子どもたちが運動会のかけっこで走りました。",
    "学校では規律を守ることが大切です。",
    "これはきょうしゅです",  # 挙手 is two morae: one phoneme off is too far
    "本案は否決されました。",  # a term already written is never turned into its neighbour 可決
])  # fmt: skip
def test_near_but_not_a_term_is_left_alone(fix: GlossaryFix, text: str) -> None:
    assert fix.fix(text) == text


def test_a_stretch_ending_in_a_particle_is_not_taken_for_a_term() -> None:
    # 修正どうに sounds one phoneme off 修正動議, but に is a particle: the term has none.
    assert GlossaryFix(["修正動議"]).fix("修正どうに戻す") == "修正どうに戻す"
    # A term that itself ends in a particle may take one.
    assert GlossaryFix(["可決を"]).fix("かけつを") == "可決を"
    # カケ is only part of the morpheme かけつ: no stretch cuts a morpheme.
    assert GlossaryFix(["加計"]).fix("かけつ") == "かけつ"


def test_two_terms_that_fit_as_well_are_not_chosen_between() -> None:
    assert GlossaryFix(["佐藤委員", "加藤委員"]).fix("さとう委員") == "佐藤委員"
    assert GlossaryFix(["佐藤委員", "砂糖委員"]).fix("さとう委員") == "さとう委員"  # both サトー


def test_numbers_must_agree() -> None:
    # 第十一号 is two phonemes from 第十二号, within the term's allowance: the numbers differ.
    assert GlossaryFix(["議案第十二号"]).fix("議案第十一号について") == "議案第十一号について"
    assert GlossaryFix(["議案第十二号"]).fix("議案だい十二号について") == "議案第十二号について"


def test_a_term_already_written_is_not_rewritten_into_a_longer_one() -> None:
    # 佐藤委員長 sounds one phoneme from the term 加藤委員長, but holds the term 佐藤委員.
    assert GlossaryFix(["佐藤委員", "加藤委員長"]).fix("佐藤委員長") == "佐藤委員長"


def test_no_terms_no_change() -> None:
    assert GlossaryFix([]).fix("かけつされました") == "かけつされました"


# Text made of committee-ish and everyday characters, so that many draws come near a term.
_ALPHABET = (
    "可決採定足数挙手起立否質疑討論休憩委員長会議案号第十二三山田佐藤"
    "今日雨朝駅前教師許学校先生走子供海家族のはをにがでしますたいかけつさきょう"
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(st.text(alphabet=_ALPHABET, min_size=1, max_size=12))
def test_text_without_any_terms_reading_is_never_changed(text: str) -> None:
    fix = _shared()
    sounds = kana_phonemes("".join(m.pron for m in openjtalk_reader(text)))
    # No stretch of the text's phonemes within the term's allowance of any term's reading
    # (nor its written form): then nothing may change.
    assume(all(t.text not in text and not _near_somewhere(sounds, t.phonemes, t.allowed)
               for t in fix.terms))  # fmt: skip
    assert fix.fix(text) == text


_FIX: list[GlossaryFix] = []


def _shared() -> GlossaryFix:
    if not _FIX:
        _FIX.append(GlossaryFix(TERMS))
    return _FIX[0]


def _near_somewhere(sounds: tuple[str, ...], term: tuple[str, ...], allowed: int) -> bool:
    # Approximate substring search: the term against any stretch of the text's phonemes
    # (a stretch may start and end anywhere at no cost).
    previous = [0] * (len(sounds) + 1)
    for i, p in enumerate(term, 1):
        current = [i]
        for j, s in enumerate(sounds, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (p != s)))
        previous = current
    return min(previous) <= allowed
