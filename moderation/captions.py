"""Live captions typed by a captioner (要約筆記), or made by the speech recogniser from
whoever holds the floor (automatic captions, issue 17): a numbered sequence of lines shown
to everyone in the page and over the stage. The last line may be corrected (a captioner
fixes a typo just after sending); earlier lines are part of the record. An automatic line
may be corrected by a captioner while it is still in memory (any of the last
:data:`HISTORY`): the correction is what pages show, and the recogniser's text is kept
beside it (``auto_text``), so the record says which is which.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from moderation.events import DomainEvent
from moderation.limits import CAPTION_MAX, clean_text
from rooms.errors import ProcedureError, Reason

#: Lines kept in memory per room (what a newcomer is sent; the archive has them all).
HISTORY = 200
#: ``by`` of an automatic line (no person typed it).
AUTO_BY = "auto"


@dataclass(frozen=True, slots=True)
class CaptionLine:
    """One caption line as stored."""

    seq: int
    room: str
    text: str
    at: float
    by: str
    corrected_at: float | None = None
    #: Made by the speech recogniser (``by`` is then :data:`AUTO_BY`).
    auto: bool = False
    #: The language it was recognised in (automatic lines).
    lang: str = ""
    #: Who spoke it (automatic lines): participant id and display name.
    speaker: str = ""
    speaker_name: str = ""
    #: When the phrase was spoken (Unix seconds; automatic lines).
    spoken_from: float | None = None
    spoken_to: float | None = None
    #: The recogniser's text, kept when a captioner corrected an automatic line.
    auto_text: str = ""


@dataclass(frozen=True, slots=True)
class CaptionPosted(DomainEvent):
    topic = "caption.posted"
    line: CaptionLine


@dataclass(frozen=True, slots=True)
class CaptionCorrected(DomainEvent):
    topic = "caption.corrected"
    line: CaptionLine


@dataclass(frozen=True, slots=True)
class CaptionModeChanged(DomainEvent):
    """Staff switched automatic captions on or off (or changed their language)."""

    topic = "caption.mode"
    auto: bool
    lang: str


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

    def post_auto(self, text: object, now: float, *, lang: str, speaker: str,
                  speaker_name: str, spoken_from: float, spoken_to: float) -> CaptionPosted:
        """An automatic line: what the recogniser heard ``speaker`` say."""
        line = CaptionLine(self._next_seq, self.room, clean_text(text, CAPTION_MAX, "caption"),
                           now, AUTO_BY, auto=True, lang=lang, speaker=speaker,
                           speaker_name=speaker_name, spoken_from=spoken_from,
                           spoken_to=spoken_to)  # fmt: skip
        self._next_seq += 1
        self._lines.append(line)
        del self._lines[: -self.history]
        return CaptionPosted(self.room, now, line=line)

    def correct_last(self, by: str, text: object, now: float, *, seq: int | None = None
                     ) -> CaptionCorrected:
        """Replace the text of the last line (``seq``, when given, must name it), or of the
        automatic line ``seq`` names (automatic lines arrive while a captioner types: the
        one to fix is seldom the last). An automatic line keeps the recogniser's text."""
        if not self._lines:
            raise ProcedureError(Reason.WRONG_STATE, "there is no caption line to correct")
        index = len(self._lines) - 1
        if seq is not None and seq != self._lines[index].seq:
            index = next((i for i, line in enumerate(self._lines)
                          if line.seq == seq and line.auto), -1)  # fmt: skip
            if index < 0:
                raise ProcedureError(Reason.WRONG_STATE, "only the last line "
                                     f"({self._lines[-1].seq}) or an automatic one may be "
                                     "corrected")  # fmt: skip
        line = self._lines[index]
        original = line.auto_text or (line.text if line.auto else "")
        fixed = replace(line, text=clean_text(text, CAPTION_MAX, "caption"), by=by,
                        corrected_at=now, auto_text=original)
        self._lines[index] = fixed
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
