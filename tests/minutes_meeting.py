"""A short committee meeting recorded by the real :class:`Recorder`, for minutes tests.

The meeting core (:class:`moderation.meeting.Meeting`) runs the procedure and
:mod:`server.recording.events` words its events, as the server does; a fake clock makes
every time exact. Audio is fed as Opus-shaped packets (a TOC byte and filler): the
recorder never decodes, and the minutes only look at packet sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from moderation.events import DomainEvent
from moderation.meeting import Meeting
from moderation.roster import MeetingRules
from moderation.sanctions import SanctionBook
from moderation.wordfilter import WordFilter
from rooms.model import Role, RoomKind
from server.recording.event_log import EventKind
from server.recording.events import Names, attendance, event_line
from server.recording.recorder import Recorder

#: 2026-11-27 10:00:00 JST.
T0 = 1_795_741_200.0
RECORDING_ID = "MinutesTestRecording01"
HOSTILE = "<script>alert(1)</script>|x"
#: A 20 ms packet of "speech" (60 bytes) and of near-silence (4 bytes).
SPEECH = b"\xf8" + bytes(range(1, 60))
QUIET = b"\xf8\xff\xfe\x00"


class RecordedMeeting:
    """Drive a meeting at exact times (seconds from the recording's start)."""

    def __init__(self, folder: Path) -> None:
        self.now = 0.0
        self.folder = folder
        self.recorder = Recorder(folder, RECORDING_ID, "dx-committee", "第3回DX推進委員会",
                                 clock=lambda: self.now, wall=lambda: T0)
        self.meeting = Meeting("dx-committee", RoomKind.COMMITTEE, SanctionBook(),
                               WordFilter([]), MeetingRules())
        self.names: Names = {}
        self.rtp: dict[str, int] = {}

    def at(self, seconds: float) -> float:
        self.now = seconds
        return T0 + seconds

    def log(self, events: Sequence[DomainEvent]) -> None:
        for e in events:
            line = event_line(self.meeting, e, self.names)
            if line is not None:
                self.recorder.feed_event(*line)

    def start(self) -> None:
        self.recorder.start()
        for line in attendance(self.meeting, self.names):
            self.recorder.feed_event(EventKind.JOIN, line)

    def speak(self, pid: str, start: float, seconds: float, packet: bytes = SPEECH) -> None:
        """``pid``'s audio: a 20 ms packet every 20 ms from ``start``."""
        for i in range(round(seconds / 0.02)):
            self.now = start + i * 0.02
            rtp = self.rtp[pid] = self.rtp.get(pid, 0) + 960
            self.recorder.feed_audio(pid, packet, rtp)

    def stop(self, seconds: float) -> None:
        self.now = seconds
        self.recorder.stop()


def record_meeting(folder: Path) -> RecordedMeeting:
    """Record the standard test meeting (60 s) into ``folder``:

    - present at the start: 事務局 (staff console), 山田議長 (chair);
    - 田中委員 (member) admitted at 6 s, leaves at 50 s; a hostile citizen admitted at
      32 s (muted at 45 s), 太郎 (citizen) at 34.6 s;
    - agenda: 開会 opened at 10 s, 議題1 at 20 s and still open at the end (40 s);
    - 田中委員 has the floor 12–30 s and speaks 13–18 s; the chair speaks 40–43 s
      without the floor; everyone else's audio is silence;
    - a caption at 13 s corrected at 14 s; a question (1 vote, answered); two opinions,
      the second hidden by staff; a poll 賛成/反対 closed at 42 s with counts [1, 1].
    """
    m = RecordedMeeting(folder)
    mt = m.meeting
    mt.join("staff", "事務局", Role.STAFF, T0 - 60, account="jimu", console=True)
    mt.join("chair", "山田議長", Role.CHAIR, T0 - 50, device="d_chair")
    m.start()
    m.log(mt.join("mem", "田中委員", Role.MEMBER, m.at(5), device="d_mem"))
    m.log(mt.admit("staff", "mem", m.at(6)))
    m.log(mt.agenda_add("chair", "開会", 60, m.at(7)))
    m.log(mt.agenda_add("chair", "議題1 | 予算\n（案）", 600, m.at(7)))
    m.log(mt.agenda_advance("chair", m.at(10)))
    m.log(mt.raise_hand("mem", m.at(11)))
    m.log(mt.give_floor("chair", m.at(12), "mem", limit=60))
    m.log(mt.caption_post("staff", "ただいまから会議を始めます", m.at(13)))
    m.log(mt.caption_correct("staff", "ただいまから委員会を始めます", m.at(14)))
    m.speak("mem", 13.0, 5.0)
    m.speak("mem", 18.0, 2.0, QUIET)
    m.log(mt.agenda_advance("chair", m.at(20)))
    m.log(mt.yield_floor("mem", m.at(30)))
    m.log(mt.join("cit", HOSTILE, Role.CITIZEN, m.at(31), device="d_cit"))
    m.log(mt.admit("staff", "cit", m.at(32)))
    m.log(mt.chat_send("cit", "hello", m.at(33)))
    m.log(mt.question_ask("cit", "次回は<b>いつ</b>?", m.at(34)))
    m.log(mt.join("cit2", "太郎", Role.CITIZEN, m.at(34.5), device="d_cit2"))
    m.log(mt.admit("staff", "cit2", m.at(34.6)))
    m.log(mt.question_vote("cit2", 1, m.at(35)))
    m.log(mt.opinion_submit("cit2", "", "公園に|ベンチを\n置いてほしい", m.at(35.5)))
    m.log(mt.opinion_support("cit", 1, m.at(35.7)))
    m.log(mt.opinion_submit("cit", "", "広告です", m.at(36.2)))
    m.log(mt.opinion_hide("staff", 2, True, m.at(36.5), reason="宣伝"))
    m.log(mt.question_answer("chair", 1, m.at(37), "来月です"))
    m.log(mt.poll_create("chair", "賛成ですか", ["賛成", "反対"], m.at(38)))
    m.log(mt.poll_vote("cit", 1, [0], m.at(39)))
    m.log(mt.poll_vote("cit2", 1, [1], m.at(40)))
    m.speak("chair", 40.0, 3.0)
    m.log(mt.poll_close("chair", 1, m.at(42)))
    m.log(mt.mute("staff", "cit", m.at(45), reason="荒らし"))
    m.log(mt.leave("mem", m.at(50)))
    m.stop(60)
    return m
