"""What the public recording keeps of a closed session (秘密会): that it was closed, from
when to when, and nothing from inside.

While a committee room's session is closed the recorder is *paused* for it
(:class:`server.recording.service.RecordingService`): no event line, no audio packet and no
motion record is written; only two markers, :func:`closed_marker` when it closes and again
when it reopens (``closed: false`` with ``since``). Audio files are padded with silence
across the pause as across any pause, so the replay stays in time.

The committee's record is logged whole after each change; one logged after the session
reopened would still tell what was decided inside (a motion put, a vote by name, an
attendance change). :func:`redact_record` takes out every entry whose time falls inside a
closed period, keeping the periods themselves (start and end, without the reason or who
closed it: the public minutes say only that it was closed and when).

A staff-only record of the closed part is not built (no ``closed_session_staff_record``
setting): nothing of it is written anywhere (docs/recording.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: The event-log ``type`` of the markers (kind ``recording``).
MARKER_TYPE = "committee.closed_session"


def closed_marker(closed: bool, at: float, since: float | None = None) -> dict[str, Any]:
    """The ``recording`` line saying the session closed (the recording pauses) or reopened
    (it resumes; ``since``: when it had closed)."""
    line: dict[str, Any] = {"action": "paused" if closed else "resumed", "type": MARKER_TYPE,
                            "closed": closed, "at": at}
    if since is not None:
        line["since"] = since
    return line


def _periods(record: dict[str, Any]) -> list[tuple[float, float]]:
    out = []
    for c in record.get("closed") or ():
        if isinstance(c, dict) and isinstance(c.get("start"), int | float):
            end = c.get("end")
            out.append((float(c["start"]),
                        float(end) if isinstance(end, int | float) else float("inf")))
    return out


def _inside(at: object, periods: Sequence[tuple[float, float]]) -> bool:
    return isinstance(at, int | float) and any(s <= at <= e for s, e in periods)


def redact_record(record: dict[str, Any]) -> dict[str, Any]:
    """A committee record (``plain(CommitteeRecord)``) without what happened inside its
    closed periods; the periods kept, without reason or names."""
    periods = _periods(record)
    if not periods:
        return record
    out = dict(record)

    def keep(key: str, field: str) -> None:
        items = record.get(key)
        if isinstance(items, list):
            out[key] = [x for x in items
                        if not (isinstance(x, dict) and _inside(x.get(field), periods))]

    keep("history", "at")
    keep("verifications", "at")
    keep("recusals", "at")
    keep("quorum_log", "at")
    keep("votes", "opened_at")
    keep("motions", "at")
    motions = []
    for m in out.get("motions") or ():
        if isinstance(m, dict) and _inside(m.get("decided_at"), periods):
            m = {**m, "outcome": None, "decided_at": None}  # decided inside: not told
        motions.append(m)
    out["motions"] = motions
    status = []
    for s in record.get("status") or ():
        if isinstance(s, dict) and _inside(s.get("at"), periods):
            s = {**s, "reason": "", "by": None}
        status.append(s)
    out["status"] = status
    out["closed"] = [{**c, "reason": "", "by": "", "end_by": None}
                     for c in record.get("closed") or () if isinstance(c, dict)]
    return out
