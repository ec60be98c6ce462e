"""The scoring of recognised Japanese: normalisation and character error rate."""

from __future__ import annotations

import pytest

from server.transcription.engine import hint_terms
from server.transcription.text import cer, edit_distance, kanji_to_int, normalise


@pytest.mark.parametrize(
    ("kanji", "value"),
    [("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("百五", 105), ("三百十二", 312),
     ("千", 1000), ("二千二十六", 2026), ("二〇二六", 2026), ("一万二千", 12_000),
     ("三億五万", 300_050_000), ("万", None), ("二三十", None)],
)  # fmt: skip
def test_kanji_numerals(kanji: str, value: int | None) -> None:
    assert kanji_to_int(kanji) == value


def test_normalise_removes_punctuation_and_spaces_and_unifies_numbers() -> None:
    assert normalise("議案第十二号について、採決します。") == "議案第12号について採決します"
    assert normalise("議案第１２号 について採決します！") == "議案第12号について採決します"
    assert normalise("「可決」されました…") == "可決されました"
    assert normalise("ＡＢＣ　委員") == "abc委員"


def test_edit_distance_and_cer() -> None:
    assert edit_distance("", "abc") == 3
    assert edit_distance("kitten", "sitting") == 3
    assert cer("定足数に達しております。", "定足数に達しております") == 0
    assert cer("定足数に達しております。", "定則数に足しております") == pytest.approx(2 / 11)
    assert cer("議案第十二号", "議案第12号") == 0
    with pytest.raises(ValueError):
        cer("。", "x")


def test_hint_terms_drop_blanks_repeats_and_stop_at_the_limit() -> None:
    assert hint_terms([" 採決 ", "", "採決", "山田  委員"]) == ("採決", "山田 委員")
    many = [f"用語{i:03d}" for i in range(100)]
    kept = hint_terms(many)
    assert 0 < len(kept) < 100 and kept == tuple(many[: len(kept)])
    assert sum(len(t) + 1 for t in kept) <= 200
