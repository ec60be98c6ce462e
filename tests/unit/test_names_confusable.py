"""Display names drop invisible and filler characters, and look-alike names share one
confusable skeleton (issue 14, finding 6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rooms.confusables import confusable, skeleton
from rooms.errors import HirobaError
from rooms.names import is_invisible, normalise_name
from server.recording.minutes_render import render_html, render_markdown
from server.recording.minutes_types import (
    Attendee,
    Minutes,
    ModerationEntry,
    OpinionEntry,
    QuestionEntry,
    SpeakingTime,
    Turn,
)

#: Characters that draw nothing, each of which once passed into a name unchanged.
INVISIBLE = [
    "\u034f",  # combining grapheme joiner
    "\ufe0f", "\ufe00",  # variation selectors
    "\U000e0100", "\U000e01ef",  # ideographic variation selectors
    "\u180b", "\u180c", "\u180d", "\u180e", "\u180f",  # Mongolian selectors, separator
    "\u3164", "\uffa0", "\u115f", "\u1160",  # Hangul fillers
    "\u2800",  # blank Braille pattern
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",  # zero widths, soft hyphen
    "\u202e", "\u2066", "\u200f",  # bidi controls
    "\U000e0001", "\U000e0041",  # tags
    "\u17b4",  # Khmer inherent vowel
]


@pytest.mark.parametrize("ch", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_invisible_characters_leave_a_name(ch: str) -> None:
    assert is_invisible(ch)
    assert normalise_name(f"佐藤{ch}委員{ch}") == "佐藤委員"
    with pytest.raises(HirobaError) as raised:
        normalise_name(ch * 3)
    assert raised.value.reason == "bad_name"


def test_visible_characters_stay() -> None:
    for name in ("佐藤委員", "がっこう", "김민준", "Ἀθηνᾶ", "Zoë", "☺", "まちづくり・はなこ",
                 "O'Neil"):
        assert normalise_name(name) == name
        assert not any(is_invisible(ch) for ch in name)


@pytest.mark.parametrize(("original", "imitation"), [
    ("佐藤委員", "佐藤委員"),  # the very same
    ("佐藤委員", "佐藤\u3000委員"),  # a space in between
    ("佐藤委員", "佐藤\u034f委員\ufe0f"),  # invisible characters
    ("ロバート", "口バート"),  # Katakana ロ / Kanji 口
    ("エリカ", "工リ力"),  # エ / 工, カ / 力
    ("ユーコ", "ユ一コ"),  # long vowel mark / Kanji one
    ("タナカ", "夕ナ力"),
    ("ヘンリー", "へンり―"),
    ("Sato", "Ѕаtо"),  # Cyrillic
    ("ADAM", "ΑDΑΜ"),  # Greek capitals
    ("Paul", "ΡAUL"),  # Greek capital rho, and case
    ("Sato", "Ｓａｔｏ"),  # full width
    ("Bill", "Bi11"),  # digits for letters
    ("modern", "rnodern"),
    ("ｻﾄｳ", "サトウ"),  # half width
])
def test_look_alikes_share_a_skeleton(original: str, imitation: str) -> None:
    assert skeleton(original) == skeleton(imitation)
    assert confusable(imitation, ["田中委員長", original]) == original


@pytest.mark.parametrize(("one", "other"), [
    ("佐藤委員", "佐藤"),
    ("佐藤委員", "加藤委員"),
    ("がっこう", "かっこう"),
    ("Sato", "Saito"),
    ("さとう", "サトウ"),  # Hiragana and Katakana are told apart
])
def test_different_names_keep_different_skeletons(one: str, other: str) -> None:
    assert skeleton(one) != skeleton(other)
    assert confusable(other, [one]) is None


def _minutes(staff: bool) -> Minutes:
    t0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    return Minutes(
        recording_id="r1", room="dx-committee", title="DX委員会", started=t0, ended=t0,
        seconds=600.0, recovered=False, staff=staff,
        attendance=(Attendee("佐藤委員", "member", t0, None, True),
                    Attendee("事務局", "staff", t0, None, True),
                    Attendee("さくら", "citizen", t0, None, True)),
        citizens=1, agenda=(),
        timeline=(Turn("佐藤委員", "member", t0, t0, 30.0, None, "floor"),),
        speaking=(SpeakingTime("佐藤委員", "member", 1, 30.0, None),),
        captions=(), polls=(),
        opinions=(OpinionEntry(t0, "", "意見", 0, "submitted", "", author="佐藤委員"),),
        questions=(QuestionEntry(t0, "質問", 0, "open", "", author="さくら"),),
        moderation=(ModerationEntry(t0, "事務局", "mute", "さくら", "", ""),) if staff else None,
        audio=False,
    )


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_minutes_name_members_and_staff_with_their_role(render: Any) -> None:
    """Every name of a non-citizen in the minutes comes with its role: in a role column
    (timeline, speaking times), under a role heading (attendance) or, in the staff
    edition's tables of authors and actors, after the name."""
    public = render(_minutes(staff=False), "ja")
    assert "佐藤委員 | 委員 |" in public or "<td>佐藤委員</td><td>委員</td>" in public, public
    staff = render(_minutes(staff=True), "ja")
    assert "佐藤委員（委員）" in staff and "事務局（事務局）" in staff, staff
    assert "さくら（" not in staff, "a citizen's name stays plain"
    english = render(_minutes(staff=True), "en")
    assert "佐藤委員 (member)" in english and "事務局 (staff)" in english
