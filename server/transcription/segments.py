"""One transcript segment, as a row of ``transcript_segments`` holds it: read by the store,
changed by staff corrections (:mod:`server.transcription.edits`), kept whole in an edit's
``before`` and ``after`` (so the stored history and the rows have one shape), and sent to
the pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Segment:
    """A segment of one recording (the recording is the caller's context, not a field)."""

    id: int
    track: str
    pid: str
    name: str
    role: str
    #: Index of the floor turn it falls in (the minutes' turns), None outside turns.
    turn: int | None
    start: float
    end: float
    text: str
    auto_text: str
    #: ``auto`` (as the engine said it), ``corrected`` or ``inaudible``.
    status: str = "auto"
    #: Merged into another segment by an edit (kept for the history).
    removed: bool = False

    def to_json(self, *, full: bool = True) -> dict[str, object]:
        """The wire form, and (full) the form kept in ``transcript_edits``; ``full`` (staff)
        adds the participant id, the engine's words and whether it was merged away."""
        body: dict[str, object] = {
            "id": self.id, "track": self.track, "name": self.name, "role": self.role,
            "turn": self.turn, "start": self.start, "end": self.end, "text": self.text,
            "status": self.status,
        }
        if full:
            body.update(pid=self.pid, auto_text=self.auto_text, removed=self.removed)
        return body

    @staticmethod
    def from_json(body: Mapping[str, Any]) -> Segment:
        """A segment from its full form (an edit's stored ``before``/``after`` rows)."""
        turn = body.get("turn")
        return Segment(int(body["id"]), str(body["track"]), str(body["pid"]), str(body["name"]),
                       str(body["role"]), None if turn is None else int(turn),
                       float(body["start"]), float(body["end"]), str(body["text"]),
                       str(body["auto_text"]), str(body["status"]), bool(body["removed"]))
