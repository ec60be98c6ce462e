"""Staff corrections of a transcript (server/transcription/edits.py, issue 17): the
refusals with their reason codes, and properties over random transcripts: a merge or a
split keeps each speaker's text and the time order, the kept ``after`` rows replay to the
same transcript, and the ``before`` rows undo it; the search query's escaping.

Seen to fail with each defence removed: the adjacency check (merge of a segment with a
later, non-adjacent one: ``test_merge_only_with_the_next_segment_of_the_same_speaker``),
the same-speaker check (same test), the split offset range (``..._offset_out_of_range``),
the proportional cut (``test_split_cuts_time_in_proportion``), quoting of FTS syntax
(``test_fts_query_is_literal``: a bare ``"`` breaks the MATCH), the LIKE escaping.
"""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.errors import HirobaError
from server.storage.migrations import MIGRATIONS
from server.transcription.edits import (
    INAUDIBLE,
    MAX_TEXT_CHARS,
    apply_edit,
    ordered,
    replay,
    shown_text,
    undo,
)
from server.transcription.search import (
    fts_query,
    replace_rows_sql,
    search_sql,
    snippet,
    terms,
)
from server.transcription.segments import Segment


def seg(i: int, start: float, end: float, text: str, pid: str = "p1") -> Segment:
    return Segment(i, f"audio/{pid}.opus", pid, pid.upper(), "member", None, start, end, text,
               text)


BASE = [seg(1, 0.0, 2.0, "本日の委員会を"), seg(2, 2.0, 4.0, "開会します。"),
        seg(3, 4.0, 6.0, "異議なし。", "p2"), seg(4, 6.0, 8.0, "採決します。")]


def reason(body: dict[str, object], segs: list[Segment] = BASE) -> str:
    with pytest.raises(HirobaError) as caught:
        apply_edit(segs, body, new_id=99)
    return caught.value.reason.value


def text_per_track(segs: list[Segment]) -> dict[str, str]:
    out: dict[str, str] = {}
    for s in ordered(segs):
        if not s.removed:
            out[s.track] = out.get(s.track, "") + s.text
    return out


def test_text_edit_marks_corrected_and_keeps_engine_words() -> None:
    after, edit = apply_edit(BASE, {"kind": "text", "segment": 2, "text": "開会いたします。"},
                             new_id=99)
    changed = next(s for s in after if s.id == 2)
    assert (changed.text, changed.status, changed.auto_text) == (
        "開会いたします。", "corrected", "開会します。")
    assert edit.before == (BASE[1],) and edit.segments == (2,)


def test_refusals_have_reason_codes() -> None:
    assert reason({"kind": "text", "segment": 77, "text": "x"}) == "bad_field"
    assert reason({"kind": "text", "segment": "1", "text": "x"}) == "bad_field"
    assert reason({"kind": "text", "segment": 1, "text": "  "}) == "bad_field"
    assert reason({"kind": "text", "segment": 1, "text": "あ" * (MAX_TEXT_CHARS + 1)}) == (
        "too_long")
    assert reason({"kind": "text", "segment": 1, "text": "a\x00b"}) == "bad_field"
    assert reason({"kind": "rewrite", "segment": 1}) == "bad_field"
    assert reason({"kind": "text", "segment": 1, "text": "x", "by": "me"}) == "unknown_field"
    removed = [replace(BASE[0], removed=True), *BASE[1:]]
    assert reason({"kind": "text", "segment": 1, "text": "x"}, removed) == "wrong_state"
    assert reason({"kind": "merge", "segment": 4}) == "wrong_state"  # the last one


def test_merge_only_with_the_next_segment_of_the_same_speaker() -> None:
    # 2 → 3: another speaker; 3 → 4: another speaker too.
    assert reason({"kind": "merge", "segment": 2}) == "wrong_state"
    assert reason({"kind": "merge", "segment": 3}) == "wrong_state"
    # 1 → 2 is fine; the second is kept, removed.
    after, _ = apply_edit(BASE, {"kind": "merge", "segment": 1}, new_id=99)
    first = next(s for s in after if s.id == 1)
    assert (first.text, first.end) == ("本日の委員会を開会します。", 4.0)
    assert next(s for s in after if s.id == 2).removed
    # Same speaker but not adjacent: p1's 2 and 4 with p2's 3 between.
    gap = [BASE[1], BASE[2], replace(BASE[3], pid="p1", track=BASE[1].track)]
    assert reason({"kind": "merge", "segment": 2}, gap) == "wrong_state"


def test_split_offset_out_of_range() -> None:
    for at in (0, 7, -1, 3.5, True, None):
        assert reason({"kind": "split", "segment": 1, "at": at}) == "bad_field"
    assert reason({"kind": "split", "segment": 1, "at": 3, "time": 9.0}) == "bad_field"


def test_split_cuts_time_in_proportion() -> None:
    after, edit = apply_edit(BASE, {"kind": "split", "segment": 1, "at": 3}, new_id=99)
    head, tail = (next(s for s in after if s.id == i) for i in (1, 99))
    assert (head.text, tail.text) == ("本日の", "委員会を")
    assert head.end == tail.start == pytest.approx(2.0 * 3 / 7, abs=1e-3)
    assert edit.segments == (1, 99) and edit.before == (BASE[0],)
    after, _ = apply_edit(BASE, {"kind": "split", "segment": 1, "at": 3, "time": 1.5},
                          new_id=99)
    assert next(s for s in after if s.id == 99).start == 1.5


def test_inaudible() -> None:
    after, _ = apply_edit(BASE, {"kind": "inaudible", "segment": 3}, new_id=99)
    s = next(s for s in after if s.id == 3)
    assert (s.text, s.status) == (INAUDIBLE, "inaudible")
    assert reason({"kind": "inaudible", "segment": 3}, after) == "wrong_state"


# -- properties -------------------------------------------------------------------------

_words = st.text(alphabet="あいうえお議案採決可決予算ABC", min_size=2, max_size=12)


@st.composite
def transcripts(draw: st.DrawFn) -> list[Segment]:
    """Two speakers' tracks, each with segments in time order, interleaved."""
    segs: list[Segment] = []
    i = 1
    for pid in ("p1", "p2"):
        t = draw(st.floats(0, 5))
        for _ in range(draw(st.integers(1, 6))):
            d = draw(st.floats(0.1, 6))
            segs.append(seg(i, round(t, 3), round(t + d, 3), draw(_words), pid))
            t += d + draw(st.floats(0, 2))
            i += 1
    return ordered(segs)


@st.composite
def edit_bodies(draw: st.DrawFn, segs: list[Segment]) -> dict[str, object]:
    shown = [s for s in segs if not s.removed]
    target = draw(st.sampled_from(shown))
    kind = draw(st.sampled_from(["text", "merge", "split", "inaudible"]))
    if kind == "text":
        return {"kind": kind, "segment": target.id, "text": draw(_words)}
    if kind == "split":
        return {"kind": kind, "segment": target.id,
                "at": draw(st.integers(1, max(1, len(target.text) - 1)))}
    return {"kind": kind, "segment": target.id}


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_merge_and_split_keep_text_and_time_order(data: st.DataObject) -> None:
    segs = data.draw(transcripts())
    for _ in range(4):
        body = data.draw(edit_bodies(segs))
        if body["kind"] not in ("merge", "split"):
            continue
        try:
            after, _ = apply_edit(segs, body, new_id=max(s.id for s in segs) + 1)
        except HirobaError:
            continue
        assert text_per_track(after) == text_per_track(segs)
        for track in {s.track for s in after}:
            mine = [s for s in ordered(after) if s.track == track and not s.removed]
            assert all(s.start <= s.end for s in mine)
            assert all(a.end <= b.start + 1e-9 for a, b in itertools.pairwise(mine))
        segs = after


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_edits_replay_and_undo(data: st.DataObject) -> None:
    original = data.draw(transcripts())
    segs, kept = original, []
    for _ in range(5):
        try:
            segs, edit = apply_edit(segs, data.draw(edit_bodies(segs)),
                                    new_id=max(s.id for s in segs) + 1)
        except HirobaError:
            continue
        kept.append(edit)
    replayed = original
    for e in kept:
        replayed = replay(replayed, e.after)
    assert replayed == segs
    undone = segs
    for e in reversed(kept):
        undone = undo(undone, e.before, e.segments)
    assert undone == original
    assert shown_text(undone) == shown_text(original)


# -- the search query -------------------------------------------------------------------

@pytest.fixture
def db() -> sqlite3.Connection:
    c = sqlite3.connect(":memory:")
    for m in MIGRATIONS:
        c.executescript(m)
    c.execute("INSERT INTO recordings (id, room_id, title, started, state, published)"
              " VALUES ('r1', 'room', 'T', 0, 'stopped', 1), ('r2', 'room', 'U', 1,"
              " 'stopped', 0)")
    replace_rows_sql(c, "r1", [seg(1, 3.0, 4.0, '予算案 "AND" 100%_達成 NEAR(x)')], "")
    replace_rows_sql(c, "r2", [seg(2, 1.0, 2.0, "予算の秘密")], "# 会議録\n\n予算")
    return c


def test_fts_query_is_literal(db: sqlite3.Connection) -> None:
    assert fts_query(['a"b']) == '"a""b"'
    for q in ('"AND"', "NEAR(x)", '"', "予算案 AND", "100%_", "案 \"AND"):
        hits = search_sql(db, terms(q), published_only=True)
        assert hits and hits[0].recording == "r1", q
    assert search_sql(db, terms("予算案 *"), published_only=True) == []  # * is no prefix
    assert search_sql(db, terms("予算* OR 秘密"), published_only=False) == []  # nor OR
    assert search_sql(db, terms("100%x"), published_only=True) == []  # % is no wildcard
    assert search_sql(db, terms("0_"), published_only=True) == []  # _ neither


def test_short_terms_and_published_only(db: sqlite3.Connection) -> None:
    assert [h.recording for h in search_sql(db, terms("予算"), published_only=True)] == ["r1"]
    everything = {h.recording for h in search_sql(db, terms("予算"), published_only=False)}
    assert everything == {"r1", "r2"}
    hit = search_sql(db, terms("達成"), published_only=True)[0]
    assert (hit.kind, hit.ref, hit.at) == ("segment", "1", 3.0)
    assert hit.to_json()["replay"] == "/replay?id=r1&t=3"


def test_terms_and_snippet() -> None:
    for bad in ("", "   ", "x" * 101, 3, "a\x01b"):
        with pytest.raises(HirobaError):
            terms(bad)
    assert terms("ＡＢＣ　予算") == ["ABC", "予算"]  # NFKC: full-width letters and space
    s = snippet("あ" * 40 + "予算" + "い" * 40, ["予算"])
    assert s.startswith("…") and s.endswith("…") and "\x02予算\x03" in s


def test_rebuild_replaces_only_that_recordings_rows(db: sqlite3.Connection) -> None:
    for _ in range(2):  # twice: the second deletes by the range the first kept
        replace_rows_sql(db, "r1", [seg(1, 3.0, 4.0, "修正後の発言")], "")
        assert search_sql(db, terms("修正後"), published_only=True)[0].recording == "r1"
        assert search_sql(db, terms("達成"), published_only=True) == []
        assert {h.recording for h in search_sql(db, terms("秘密"), published_only=False)} == {
            "r2"}
    count = db.execute("SELECT COUNT(*) FROM archive_search").fetchone()[0]
    assert count == 1 + 3  # r1's segment; r2's segment and its two minutes lines
