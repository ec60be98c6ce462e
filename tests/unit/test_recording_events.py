"""What of a meeting goes into a recording's event log (server/recording/events.py): who,
role, what and when; the lobby left out; hidden texts redacted as on the wire."""

from __future__ import annotations

from typing import Any

from moderation.events import DomainEvent
from moderation.meeting import Meeting
from moderation.roster import MeetingRules
from moderation.sanctions import SanctionBook
from moderation.wordfilter import WordFilter
from rooms.model import Role, RoomKind
from server.recording.event_log import Event, EventKind, encode_event
from server.recording.events import Names, attendance, event_line


def lines(
    m: Meeting, events: list[DomainEvent], names: Names
) -> list[tuple[EventKind, dict[str, Any]]]:
    out = [line for e in events if (line := event_line(m, e, names)) is not None]
    for kind, data in out:  # every line is a valid log line
        encode_event(Event(0, 0, kind, data))
    return out


def test_meeting_events_become_log_lines() -> None:
    m = Meeting("dx", RoomKind.COMMITTEE, SanctionBook(), WordFilter([]), MeetingRules())
    names: Names = {}
    lines(m, m.join("staff", "事務局", Role.STAFF, 0, account="jimu", console=True), names)
    present = attendance(m, names)
    assert [(p["pid_name"], p["pid_role"]) for p in present] == [("事務局", "staff")]

    waiting = lines(m, m.join("mem", "田中委員", Role.MEMBER, 1, device="d_m"), names)
    assert waiting == [], "the lobby is not the room"
    (admitted, audit) = lines(m, m.admit("staff", "mem", 2), names)
    assert admitted[0] is EventKind.JOIN and admitted[1]["pid_name"] == "田中委員"
    assert audit[0] is EventKind.MODERATION and audit[1]["entry"]["action"] == "lobby.admit"

    (given, _) = lines(m, m.give_floor("staff", 3, "mem"), names)
    assert given[0] is EventKind.FLOOR
    assert {k: given[1][k] for k in ("type", "pid", "pid_name", "pid_role", "at")} == {
        "type": "floor.given", "pid": "mem", "pid_name": "田中委員", "pid_role": "member", "at": 3}
    (posted,) = lines(m, m.chat_send("mem", "秘密の話", 4), names)
    assert posted[0] is EventKind.CHAT and posted[1]["message"]["text"] == "秘密の話"
    hidden = lines(m, m.chat_hide("staff", 1, 5, "不適切"), names)
    chat = [d for k, d in hidden if k is EventKind.CHAT]
    assert chat == [{"type": "chat.hidden", "message": {"id": 1, "hidden": True}, "at": 5}]

    left = lines(m, m.leave("mem", 6), names)
    assert [(k, d["pid_name"], d["pid_role"]) for k, d in left if k is EventKind.LEAVE] == [
        (EventKind.LEAVE, "田中委員", "member")], "named though already gone from the meeting"
    lines(m, m.join("cit", "さくら", Role.CITIZEN, 7, device="d_c"), names)
    assert lines(m, m.leave("cit", 8), names) == [], "left the lobby: never in the room"
