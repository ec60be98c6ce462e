"""Minutes of a recording (server/recording/minutes.py): what they say about a meeting
recorded by the real Recorder, public against staff edition, hand-written logs that start
mid-meeting, and escaping in Markdown and HTML."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rooms.errors import HirobaError
from server.recording.index import RecordingRow
from server.recording.minutes import Minutes, build_minutes, render_html, render_markdown
from server.recording.recorder import EVENTS, Manifest, RecordingState, write_manifest
from server.recording.speech import speech_of
from tests.minutes_meeting import HOSTILE, RECORDING_ID, T0, record_meeting

JST = timezone(timedelta(hours=9), "JST")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / RECORDING_ID
    record_meeting(path)
    return path


@pytest.fixture(scope="module")
def public(folder: Path) -> Minutes:
    return build_minutes(folder, None, include_moderation=False, tz=JST)


@pytest.fixture(scope="module")
def staff(folder: Path) -> Minutes:
    return build_minutes(folder, None, include_moderation=True, tz=JST)


def hm(t: datetime | None) -> str:
    assert t is not None
    return t.strftime("%H:%M:%S")


def test_meeting_date_and_times(public: Minutes) -> None:
    assert (public.title, public.room) == ("第3回DX推進委員会", "dx-committee")
    assert public.started.isoformat() == "2026-11-27T10:00:00+09:00"
    assert hm(public.ended) == "10:01:00" and public.seconds == 60
    assert not public.staff and public.moderation is None


def test_the_index_row_gives_the_title(folder: Path) -> None:
    row = RecordingRow(RECORDING_ID, "dx-committee", "第3回 正式名称", T0, T0 + 60,
                       RecordingState.STOPPED, True, T0 + 100, 60_000, 1, "jimu", False)
    assert build_minutes(folder, row, include_moderation=False, tz=JST).title == "第3回 正式名称"


def test_attendance_by_role(public: Minutes, staff: Minutes) -> None:
    seen = {(a.role, a.name): (hm(a.joined), a.left and hm(a.left), a.present_at_start)
            for a in staff.attendance}
    assert seen == {
        ("chair", "山田議長"): ("10:00:00", None, True),
        ("staff", "事務局"): ("10:00:00", None, True),
        ("member", "田中委員"): ("10:00:06", "10:00:50", False),
        ("citizen", HOSTILE): ("10:00:32", None, False),
        ("citizen", "太郎"): ("10:00:34", None, False),
    }
    assert [a.role for a in staff.attendance][:3] == ["chair", "member", "staff"]
    assert {a.role for a in public.attendance} == {"chair", "member", "staff"}, (
        "the public edition counts citizens without naming them")
    assert public.citizens == 2


def test_agenda_start_times_and_durations(public: Minutes) -> None:
    got = [(a.title, hm(a.start), a.seconds, a.planned) for a in public.agenda]
    assert got == [("開会", "10:00:10", 10.0, 60),
                   ("議題1 | 予算 （案）", "10:00:20", 40.0, 600)], (
        "an item still open at the end runs to the end")


def test_speaker_timeline_and_speaking_time(public: Minutes) -> None:
    floor, voice = public.timeline
    assert (floor.name, floor.source, hm(floor.start), hm(floor.end)) == (
        "田中委員", "floor", "10:00:12", "10:00:30")
    assert floor.seconds == 18.0
    assert floor.voiced == pytest.approx(5.0, abs=0.1), "speech 13-18 s, then quiet packets"
    assert (voice.name, voice.role, voice.source, hm(voice.start)) == (
        "山田議長", "chair", "voice", "10:00:40")
    assert voice.seconds == pytest.approx(3.0, abs=0.1)
    speaking = {s.name: s for s in public.speaking}
    assert speaking["田中委員"].turns == 1 and speaking["田中委員"].floor_seconds == 18.0
    assert speaking["田中委員"].voiced_seconds == pytest.approx(5.0, abs=0.1)
    assert speaking["山田議長"].turns == 0
    assert speaking["山田議長"].voiced_seconds == pytest.approx(3.0, abs=0.1)


def test_without_audio_only_the_floor_counts(folder: Path) -> None:
    m = build_minutes(folder, None, include_moderation=False, tz=JST, audio=False)
    assert [(t.name, t.voiced) for t in m.timeline] == [("田中委員", None)]
    assert [(s.name, s.voiced_seconds) for s in m.speaking] == [("田中委員", None)]


def test_speech_is_told_from_packet_sizes(folder: Path) -> None:
    (stretch,) = speech_of(folder / "audio" / "01.opus")
    assert stretch.start == pytest.approx(13.0, abs=0.05)
    assert stretch.end == pytest.approx(18.0, abs=0.05)


def test_captions_polls_opinions_questions(public: Minutes, staff: Minutes) -> None:
    (caption,) = public.captions
    assert (hm(caption.at), caption.text, caption.corrected) == (
        "10:00:13", "ただいまから会議を始めます", "ただいまから委員会を始めます")
    (poll,) = public.polls
    assert (poll.question, poll.options, poll.counts, poll.voters) == (
        "賛成ですか", ("賛成", "反対"), (1, 1), 2)
    assert hm(poll.opened) == "10:00:38" and hm(poll.closed) == "10:00:42"
    assert [(o.text, o.supports, o.status, o.author) for o in public.opinions] == [
        ("公園に|ベンチを\n置いてほしい", 1, "submitted", "")], "the hidden one left out"
    assert [(o.text, o.hidden, o.author) for o in staff.opinions] == [
        ("公園に|ベンチを\n置いてほしい", False, "太郎"), ("広告です", True, HOSTILE)]
    (question,) = public.questions
    assert (question.text, question.votes, question.status, question.answer) == (
        "次回は<b>いつ</b>?", 1, "answered", "来月です")
    assert question.author == "" and staff.questions[0].author == HOSTILE


def test_moderation_only_in_the_staff_edition(public: Minutes, staff: Minutes) -> None:
    assert staff.moderation is not None
    actions = [(x.actor, x.action, x.target, x.reason) for x in staff.moderation]
    assert ("事務局", "sanction.mute", HOSTILE, "荒らし") in actions
    assert ("事務局", "opinion.hide", "", "宣伝") in actions
    for text in (render_markdown(public), render_html(public)):
        assert "荒らし" not in text and "sanction.mute" not in text and "運営上の措置" not in text
    assert "荒らし" in render_markdown(staff) and "運営上の措置" in render_html(staff)


def test_html_escapes_everything(staff: Minutes) -> None:
    page = render_html(staff)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page.lower() and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|x" in page
    assert "次回は&lt;b&gt;いつ&lt;/b&gt;?" in page
    assert not re.search(r"(src|href)=|@import|url\(", page), "no external resources"
    assert 'name="viewport"' in page and "<h2>出席者</h2>" in page
    english = render_html(staff, lang="en")
    assert '<html lang="en">' in english and "<h2>Attendance</h2>" in english


def _cells(line: str) -> int:
    """Cells of a Markdown table row: pipes not escaped with a backslash, less one."""
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def test_markdown_tables_hold_hostile_text(staff: Minutes) -> None:
    text = render_markdown(staff)
    assert not re.search(r"(?<!\\)<", text), "every < is escaped: shown, never a tag"
    assert "\\<script\\>alert(1)\\</script\\>\\|x" in text
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|---"):
            width = _cells(lines[i - 1])
            for row in lines[i + 1:]:
                if not row.startswith("|"):
                    break
                assert _cells(row) == width, row
    assert "| 議題1 \\| 予算 （案） | 10:00:20 | 40秒 | 10分00秒 |" in lines
    assert any(row.startswith("| 10:00:35 |  | 公園に\\|ベンチを 置いてほしい | 1 |")
               for row in lines), "a newline in user text does not end the row"
    assert "## 議事" in lines and "## Agenda" in render_markdown(staff, lang="en")


def test_a_log_that_starts_mid_meeting(tmp_path: Path) -> None:
    """A turn and an item begun before the recording: their ends say when they began;
    a torn last line is dropped."""
    folder = tmp_path / "r"
    folder.mkdir()
    write_manifest(folder, Manifest("MidMeetingRecording001", "dx", "", T0,
                                    RecordingState.STOPPED, T0 + 30, 30_000))
    lines = [
        {"t": 0, "seq": 0, "kind": "recording", "action": "started"},
        {"t": 5000, "seq": 1, "kind": "floor", "type": "floor.ended", "pid": "p1",
         "pid_name": "佐藤委員", "pid_role": "member", "spoken": 65.0, "cause": "yielded"},
        {"t": 8000, "seq": 2, "kind": "agenda", "type": "agenda.closed", "item_id": 3,
         "spent": 300.0, "overrun": 0},
        {"t": 9000, "seq": 3, "kind": "floor", "type": "floor.given", "pid": "p2",
         "pid_name": "鈴木委員", "pid_role": "member"},
    ]
    (folder / EVENTS).write_text(
        "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines) + '{"t": 9', "utf-8")
    m = build_minutes(folder, None, include_moderation=False, tz=JST)
    assert m.title == "dx"
    assert [(t.name, hm(t.start), hm(t.end)) for t in m.timeline] == [
        ("佐藤委員", "10:00:00", "10:00:05"), ("鈴木委員", "10:00:09", "10:00:30")]
    assert [(a.title, hm(a.start), a.seconds) for a in m.agenda] == [("#3", "10:00:00", 8.0)]
    assert m.attendance == () and "なし" in render_markdown(m)


def test_no_recording_in_the_folder(tmp_path: Path) -> None:
    with pytest.raises(HirobaError):
        build_minutes(tmp_path, None, include_moderation=False, tz=JST)
