"""Live captions typed by a captioner (要約筆記): a numbered sequence of lines shown to
everyone in the page and over the stage. The last line may be corrected (a captioner
fixes a typo just after sending); earlier lines are part of the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from moderation.events import DomainEvent
from moderation.limits import CAPTION_MAX, clean_text
from rooms.errors import ProcedureError, Reason

#: Lines kept in memory per room (what a newcomer is sent; the archive has them all).
HISTORY = 200


@dataclass(frozen=True, slots=True)
class CaptionLine:
    """One caption line as stored."""

    seq: int
    room: str
    text: str
    at: float
    by: str
    corrected_at: float | None = None


@dataclass(frozen=True, slots=True)
class CaptionPosted(DomainEvent):
    topic = "caption.posted"
    line: CaptionLine


@dataclass(frozen=True, slots=True)
class CaptionCorrected(DomainEvent):
    topic = "caption.corrected"
    line: CaptionLine


@dataclass
class Captions:
    """The captions of one room."""

    room: str
    history: int = HISTORY
    _lines: list[CaptionLine] = field(default_factory=list)
    _next_seq: int = 1

    def lines(self) -> tuple[CaptionLine, ...]:
        return tuple(self._lines)

    def post(self, by: str, text: object, now: float) -> CaptionPosted:
        line = CaptionLine(self._next_seq, self.room, clean_text(text, CAPTION_MAX, "caption"),
                           now, by)
        self._next_seq += 1
        self._lines.append(line)
        del self._lines[: -self.history]
        return CaptionPosted(self.room, now, line=line)

    def correct_last(self, by: str, text: object, now: float, *, seq: int | None = None
                     ) -> CaptionCorrected:
        """Replace the text of the last line (``seq``, when given, must name it)."""
        if not self._lines:
            raise ProcedureError(Reason.WRONG_STATE, "there is no caption line to correct")
        last = self._lines[-1]
        if seq is not None and seq != last.seq:
            raise ProcedureError(
                Reason.WRONG_STATE, f"only the last line ({last.seq}) may be corrected"
            )
        fixed = replace(last, text=clean_text(text, CAPTION_MAX, "caption"), by=by,
                        corrected_at=now)
        self._lines[-1] = fixed
        return CaptionCorrected(self.room, now, line=fixed)

    def to_records(self) -> tuple[CaptionLine, ...]:
        return self.lines()

    @classmethod
    def from_records(
        cls, room: str, lines: Iterable[CaptionLine], *, history: int = HISTORY
    ) -> Captions:
        """Rebuild from the most recent lines (at least the last one, to allow correcting)."""
        kept = sorted(lines, key=lambda line: line.seq)[-history:]
        return cls(room, history, kept, (kept[-1].seq + 1) if kept else 1)
