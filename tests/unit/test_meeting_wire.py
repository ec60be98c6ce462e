"""The meeting's wire and storage shapes: messages validated at the edge, records stored
and read back unchanged. (The event catalogues of both languages and their documentation:
tests/integration/test_event_catalogue.py.)"""

from __future__ import annotations

import pytest

from moderation.agenda import AgendaItem
from moderation.audit import entry
from moderation.captions import CaptionLine
from moderation.chat import ChatMessage, ChatReport
from moderation.floor import FloorRecord
from moderation.lobby import Waiter
from moderation.opinions import Opinion
from moderation.policy import Action
from moderation.polls import PollRecord
from moderation.questions import Question
from moderation.sanctions import SanctionRecord
from rooms.errors import Reason, ValidationError
from rooms.model import Role
from server.meetings import messages as msg
from server.meetings.api import OPERATIONS
from server.sockets import events
from server.storage.records import from_json, to_json


def python_events() -> dict[str, str]:
    return {k: v for k, v in vars(events).items() if k.isupper() and isinstance(v, str)}


def test_every_operation_has_a_message_that_refuses_unknown_fields() -> None:
    names = [event for event, _, _ in OPERATIONS]
    assert len(names) == len(set(names))
    for event, message, _ in OPERATIONS:
        assert event in python_events().values()
        with pytest.raises(ValidationError) as err:
            message.parse({"surprise": 1})
        assert err.value.reason is Reason.UNKNOWN_FIELD, event
        with pytest.raises(ValidationError) as err:
            message.parse("text")
        assert err.value.reason is Reason.BAD_PAYLOAD, event


def test_message_checks() -> None:
    assert msg.FloorGive.parse({}) == msg.FloorGive()
    assert msg.PollVote.parse({"poll": 1, "choices": [0, 2]}).choices == (0, 2)
    for payload, reason in (({"target": "p_123"}, Reason.BAD_FIELD),
                            ({"limit": True}, Reason.BAD_FIELD),
                            ({"limit": float("nan")}, Reason.BAD_FIELD)):
        with pytest.raises(ValidationError) as err:
            msg.FloorGive.parse(payload)
        assert err.value.reason is reason
    with pytest.raises(ValidationError) as err:
        msg.ChatSend.parse({"text": "x" * 2001})
    assert err.value.reason is Reason.TOO_LONG
    with pytest.raises(ValidationError) as err:
        msg.ChatSend.parse({})
    assert err.value.reason is Reason.MISSING_FIELD


RECORDS = [
    FloorRecord("r", "speaking", "p_1", 10.0, 70.0, "jimu", (("p_2", 11.0),), (("p_3", 5.5),)),
    AgendaItem(1, "開会", 300, "open", 12.0, 3.5, True),
    ChatMessage(1, "r", "p_1", "さくら", "citizen", "こんにちは", 1.0, True, "jimu", 2.0, "理由"),
    ChatReport(2, "r", 1, "p_2", "失礼", 3.0, "upheld", "jimu", 4.0),
    Opinion(3, "r", "p_1", "k_a", "さくら", "遊具", "ベンチを", 5.0, "adopted", ("k_b", "k_c"),
            None, "検討します", "jimu", 6.0, False),
    Question(4, "r", "p_1", "k_a", "さくら", "いつ?", 7.0, "answered", ("k_b",), "来春",
             "jimu", 8.0, ""),
    PollRecord(5, "r", "賛否", ("賛", "否"), True, 2, ("citizen", "member"), "closed", "jimu",
               9.0, "jimu", 10.0, (("k_a", (0, 1)), ("k_b", (1,)))),
    CaptionLine(6, "r", "字幕", 11.0, "jimu", 12.0),
    Waiter("p_9", "待つ人", "member", 13.0),
    SanctionRecord(7, "ban", None, "p_1", "h_x", None, "荒らし", "荒らし行為", "jimu", 14.0,
                   None, 15.0, "jimu"),
    entry("r", 16.0, actor="jimu", actor_name="事務局", actor_role=Role.STAFF,
          action=Action.MUTE, target="p_1", target_name="さくら", reason="連投",
          details={"seconds": 60, "sanction": 3}),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_records_round_trip_through_json(record: object) -> None:
    text = to_json(record)
    assert '"type"' not in text, "the event topic is not stored"
    assert from_json(type(record), text) == record


def test_corrupt_records_are_refused() -> None:
    with pytest.raises((TypeError, KeyError, ValueError)):
        from_json(AgendaItem, '{"id": "1", "title": "x", "planned": 1}')
    with pytest.raises((TypeError, KeyError, ValueError)):
        from_json(AgendaItem, '{"title": "x", "planned": 1}')
