"""The minutes' 発言 section and the job's alignment, from a recording folder written here
(no model): floor turns with their segments in order, the chair's remark outside turns,
draft / corrected / inaudible marks, and nothing of a closed session (秘密会), neither
stored by the job nor shown by the minutes.

Seen to fail with each defence removed: the minutes' closed-session filter
(``_utterances``'s ``hidden``) and the job's (``transcripts._segments``) each let 秘密の話
through; ``turn_of`` without the speaker check gives the chair's remark the member's turn.
"""

from __future__ import annotations

import json
import time
from datetime import UTC
from pathlib import Path

import pytest

from server.recording.event_log import EventKind
from server.recording.minutes import build_minutes, floor_context, render_markdown, turn_of
from server.recording.recorder import EVENTS, Manifest, RecordingState, write_manifest
from server.recording.transcripts import _segments
from server.transcription.segments import Segment
from server.transcription.worker import TrackResult

STARTED = time.time() - 100


def folder(tmp_path: Path) -> Path:
    """A 12 s recording: 山田委員 holds the floor 1–5 s, a closed session 6–8 s."""
    lines = [
        {"t": 0, "kind": EventKind.RECORDING.value, "action": "started"},
        {"t": 0, "kind": EventKind.JOIN.value, "type": "meeting.present", "pid": "p1",
         "pid_name": "山田委員", "pid_role": "member"},
        {"t": 0, "kind": EventKind.JOIN.value, "type": "meeting.present", "pid": "p2",
         "pid_name": "田中委員長", "pid_role": "chair"},
        {"t": 1000, "kind": EventKind.FLOOR.value, "type": "floor.given", "pid": "p1",
         "pid_name": "山田委員", "pid_role": "member"},
        {"t": 5000, "kind": EventKind.FLOOR.value, "type": "floor.ended", "pid": "p1",
         "pid_name": "山田委員", "pid_role": "member"},
        {"t": 6000, "kind": EventKind.RECORDING.value, "action": "paused",
         "type": "committee.closed_session", "closed": True, "at": STARTED + 6},
        {"t": 8000, "kind": EventKind.RECORDING.value, "action": "resumed",
         "type": "committee.closed_session", "closed": False, "at": STARTED + 8,
         "since": STARTED + 6},
    ]
    path = tmp_path / "rec"
    path.mkdir()
    with (path / EVENTS).open("w", encoding="utf-8") as fh:
        for seq, line in enumerate(lines):
            fh.write(json.dumps({"seq": seq, **line}, ensure_ascii=False) + "\n")
    write_manifest(path, Manifest("r1", "dx-committee", "委員会", STARTED,
                                  RecordingState.STOPPED, STARTED + 12, 12_000,
                                  {"audio/01.opus": "p1", "audio/02.opus": "p2"}))
    return path


def seg(i: int, pid: str, start: float, end: float, text: str, turn: int | None,
        status: str = "auto") -> Segment:
    name, role = {"p1": ("山田委員", "member"), "p2": ("田中委員長", "chair")}[pid]
    return Segment(i, f"audio/0{pid[1]}.opus", pid, name, role, turn, start, end,
                         text, text, status, False)


def test_the_statements_section(tmp_path: Path) -> None:
    rec = folder(tmp_path)
    segments = [
        seg(1, "p1", 1.5, 2.5, "山田でございます", 0),
        seg(2, "p2", 2.6, 3.0, "静粛に願います", None),
        seg(3, "p1", 3.2, 4.5, "賛成いたします", 0, "corrected"),
        seg(4, "p1", 6.5, 7.5, "秘密の話", None),
        seg(5, "p2", 9.0, 10.0, "聞こえない", None, "inaudible"),
    ]
    m = build_minutes(rec, None, include_moderation=False, tz=UTC, audio=False,
                      transcript=segments)
    assert m.transcript is not None
    assert [(u.name, u.turn) for u in m.transcript] == [
        ("山田委員", 0), ("田中委員長", None), ("田中委員長", None)]
    assert [x.text for x in m.transcript[0].lines] == ["山田でございます", "賛成いたします"]
    md = render_markdown(m)
    section = md.split("## 発言\n", 1)[1].split("\n## ", 1)[0]
    assert "秘密の話" not in md, "nothing of the closed session"
    assert "山田委員（委員）" in section and "田中委員長（議長）" in section
    assert "| 山田でございます | 自動文字起こし（未校正） |" in section
    assert "| 賛成いたします | 校正済み |" in section
    assert "（聴取不能）" in section and "聞こえない" not in section
    assert "発言権の外" in section
    # No transcript: no section at all.
    assert "## 発言\n" not in render_markdown(build_minutes(
        rec, None, include_moderation=False, tz=UTC, audio=False))


def test_the_job_aligns_to_the_speakers_turns_and_drops_the_closed_session(
    tmp_path: Path,
) -> None:
    context = floor_context(folder(tmp_path))
    assert context.turns == (("p1", 1.0, 5.0),)
    ((closed_from, closed_to),) = context.closed
    assert closed_from == pytest.approx(6.0) and closed_to == pytest.approx(8.0)
    assert "山田委員" in context.terms and "田中委員長" in context.terms
    assert turn_of(context.turns, "p1", 2.0, 3.0) == 0
    assert turn_of(context.turns, "p2", 2.0, 3.0) is None, "the chair speaks in no turn"
    result = TrackResult(segments=((2.0, 3.0, "山田です"), (6.2, 7.8, "秘密の話"),
                                   (9.0, 9.5, "再開後")))
    stored = _segments(context, "p1", result)
    assert [(s.text, s.turn, s.name, s.role) for s in stored] == [
        ("山田です", 0, "山田委員", "member"), ("再開後", None, "山田委員", "member")]


def test_each_track_is_recognised_in_its_speakers_language(tmp_path: Path) -> None:
    rec = folder(tmp_path)
    assert floor_context(rec).language_of("p1") == "ja", "Japanese unless the log says"
    with (rec / EVENTS).open("a", encoding="utf-8") as fh:
        for seq, line in enumerate([
            {"t": 9000, "kind": EventKind.CAPTION.value, "type": "caption.mode",
             "auto": True, "lang": "en"},
            {"t": 9500, "kind": EventKind.CAPTION.value, "type": "caption.posted",
             "line": {"seq": 1, "text": "안녕하세요", "auto": True, "lang": "ko",
                      "speaker": "p2"}},
        ], start=7):
            fh.write(json.dumps({"seq": seq, **line}, ensure_ascii=False) + "\n")
    context = floor_context(rec)
    assert context.language_of("p2") == "ko", "as the live captions heard them"
    assert context.language_of("p1") == "en", "else the room's caption language"
