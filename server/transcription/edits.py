"""Staff corrections of a transcript (issue 17), as pure functions over segment lists.

An edit takes the recording's segments (removed ones included, ordered by start then id)
and returns the new list together with the rows it changed, before and after, which
:mod:`server.transcription.edit_store` keeps in ``transcript_edits``. Four kinds:

- ``text``: a segment's text is replaced (status ``corrected``);
- ``merge``: a segment and the next one shown (by start, then id) of the same speaker
  become one; the second is kept, marked removed, so the record loses nothing;
- ``split``: a segment is cut at a character offset into two; the time is cut in
  proportion to the characters unless a time is given;
- ``inaudible``: a segment's text becomes 「（聴取不能）」 (status ``inaudible``).

Because an edit's ``after`` rows are whole segments, replaying the edits in order over the
engine's segments gives the current transcript again, and laying the ``before`` rows back
in reverse order gives the transcript as it was after any earlier edit (the diff between
versions). Refusals are :class:`rooms.errors.ValidationError` (``400``) for input that can
never be right and :class:`rooms.errors.ProcedureError` ``wrong_state`` (``409``) for an
edit the transcript's present state does not allow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from rooms.errors import ProcedureError, Reason, ValidationError
from server.transcription.segments import Segment

#: What an inaudible passage reads as in the transcript and the minutes.
INAUDIBLE: Final = "（聴取不能）"
#: A segment's text at most (characters): a speaker's segment is a sentence or a few.
MAX_TEXT_CHARS: Final = 2000
KINDS: Final = ("text", "merge", "split", "inaudible")
STATUSES: Final = ("auto", "corrected", "inaudible")



@dataclass(frozen=True, slots=True)
class Edit:
    """What one edit changed: its kind, the segment ids it touched, and those segments
    before (a segment it created is absent) and after."""

    kind: str
    segments: tuple[int, ...]
    before: tuple[Segment, ...]
    after: tuple[Segment, ...]


def ordered(segments: Iterable[Segment]) -> list[Segment]:
    """Segments in transcript order: by start time, then id (the order they came in)."""
    return sorted(segments, key=lambda s: (s.start, s.id))


def _find(segments: Sequence[Segment], sid: object) -> Segment:
    if isinstance(sid, bool) or not isinstance(sid, int):
        raise ValidationError(Reason.BAD_FIELD, "segment is a segment id")
    for s in segments:
        if s.id == sid:
            if s.removed:
                raise ProcedureError(Reason.WRONG_STATE,
                                     f"segment {sid} was merged into another")
            return s
    raise ValidationError(Reason.BAD_FIELD, f"no segment {sid} in this transcript")


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(Reason.BAD_FIELD, "text is a string")
    text = value.strip()
    if not text:
        raise ValidationError(Reason.BAD_FIELD, "text is empty (mark it inaudible, or merge)")
    if len(text) > MAX_TEXT_CHARS:
        raise ValidationError(Reason.TOO_LONG, f"text is over {MAX_TEXT_CHARS} characters")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise ValidationError(Reason.BAD_FIELD, "text holds control characters")
    return text


def _fields(body: Mapping[str, Any], allowed: set[str]) -> None:
    for key in body:
        if key not in allowed:
            raise ValidationError(Reason.UNKNOWN_FIELD, f"unknown field: {str(key)[:40]}")


def _replace(segments: Sequence[Segment], changed: Iterable[Segment]) -> list[Segment]:
    by_id = {s.id: s for s in changed}
    out = [by_id.pop(s.id, s) for s in segments]
    return ordered(out + list(by_id.values()))


def apply_edit(segments: Sequence[Segment], body: Mapping[str, Any], *,
               new_id: int) -> tuple[list[Segment], Edit]:
    """Apply the edit ``body`` (``{kind, ...}`` as the HTTP API takes it) to
    ``segments``; ``new_id``: the id a segment created by a split gets. Returns the new
    list (ordered) and what changed. Raises on anything the edit may not do."""
    kind = body.get("kind")
    if kind not in KINDS:
        raise ValidationError(Reason.BAD_FIELD, "kind is text, merge, split or inaudible")
    segments = ordered(segments)
    if kind == "text":
        _fields(body, {"kind", "segment", "text"})
        seg = _find(segments, body.get("segment"))
        text = _text(body.get("text"))
        if text == seg.text and seg.status == "corrected":
            raise ProcedureError(Reason.WRONG_STATE, "the text is unchanged")
        after: tuple[Segment, ...] = (dataclasses.replace(seg, text=text, status="corrected"),)
        before: tuple[Segment, ...] = (seg,)
    elif kind == "inaudible":
        _fields(body, {"kind", "segment"})
        seg = _find(segments, body.get("segment"))
        if seg.status == "inaudible":
            raise ProcedureError(Reason.WRONG_STATE, "the segment is marked inaudible already")
        after = (dataclasses.replace(seg, text=INAUDIBLE, status="inaudible"),)
        before = (seg,)
    elif kind == "merge":
        _fields(body, {"kind", "segment"})
        first = _find(segments, body.get("segment"))
        shown = [s for s in segments if not s.removed]
        at = shown.index(first)
        if at + 1 >= len(shown):
            raise ProcedureError(Reason.WRONG_STATE, "the last segment has none to merge with")
        second = shown[at + 1]
        if second.pid != first.pid or second.track != first.track:
            raise ProcedureError(Reason.WRONG_STATE,
                                 "the next segment is another speaker's: not merged")
        status = "auto" if first.status == second.status == "auto" else "corrected"
        merged = dataclasses.replace(
            first, end=max(first.end, second.end), text=first.text + second.text,
            auto_text=first.auto_text + second.auto_text, status=status)
        if len(merged.text) > MAX_TEXT_CHARS:
            raise ValidationError(Reason.TOO_LONG,
                                  f"the merged text would be over {MAX_TEXT_CHARS} characters")
        after = (merged, dataclasses.replace(second, removed=True))
        before = (first, second)
    else:
        _fields(body, {"kind", "segment", "at", "time"})
        seg = _find(segments, body.get("segment"))
        cut = body.get("at")
        if isinstance(cut, bool) or not isinstance(cut, int) or not 0 < cut < len(seg.text):
            raise ValidationError(Reason.BAD_FIELD, "at is a character offset inside the text "
                                  f"(1 to {len(seg.text) - 1})")
        if seg.status == "inaudible":
            raise ProcedureError(Reason.WRONG_STATE, "an inaudible segment is not split")
        time = body.get("time")
        if time is None:
            # Speech runs at about an even rate of characters: cut the time likewise.
            t = round(seg.start + (seg.end - seg.start) * cut / len(seg.text), 3)
        elif (isinstance(time, bool) or not isinstance(time, int | float)
              or not seg.start <= time <= seg.end):
            raise ValidationError(Reason.BAD_FIELD, "time is a moment within the segment")
        else:
            t = float(time)
        t = min(max(t, seg.start), seg.end)
        auto_a, auto_b = ((seg.auto_text[:cut], seg.auto_text[cut:])
                          if seg.auto_text == seg.text else (seg.auto_text, ""))
        head = dataclasses.replace(seg, end=t, text=seg.text[:cut], auto_text=auto_a)
        tail = dataclasses.replace(seg, id=new_id, start=t, text=seg.text[cut:],
                                   auto_text=auto_b)
        after = (head, tail)
        before = (seg,)
    touched = tuple(s.id for s in after)
    return _replace(segments, after), Edit(str(kind), touched, before, after)


def replay(segments: Sequence[Segment], after: Sequence[Segment]) -> list[Segment]:
    """``segments`` with an edit's ``after`` rows laid over them (a new id is added)."""
    return _replace(segments, after)


def undo(segments: Sequence[Segment], before: Sequence[Segment],
         touched: Sequence[int]) -> list[Segment]:
    """``segments`` as they were before an edit that touched ``touched`` and found
    ``before`` (a segment it created is taken out again)."""
    old = {s.id for s in before}
    kept = [s for s in segments if s.id in old or s.id not in set(touched)]
    return _replace(kept, before)


def shown_text(segments: Iterable[Segment]) -> str:
    """The transcript as lines of text (the diff's input): ``[h:mm:ss] name: text`` per
    segment not removed, in order (times from the recording's start)."""
    lines = []
    for s in ordered(segments):
        if s.removed:
            continue
        t = int(s.start)
        lines.append(f"[{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}] {s.name}: {s.text}")
    return "\n".join(lines) + ("\n" if lines else "")
