"""The cluster's control messages: every kind round-trips, anything else is refused with
its reason (server/cluster/messages.py)."""

from __future__ import annotations

import json

import pytest

from rooms.errors import Reason, ValidationError
from server.cluster.messages import (
    AudioCall,
    AudioClose,
    Connect,
    Disconnect,
    EventCall,
    GalleryCount,
    GalleryPresence,
    Message,
    Reply,
    ResumeIssued,
    Speakers,
    Withheld,
    decode,
    encode,
)

EXAMPLES: list[Message] = [
    Connect("node-b", "sid1", {"HTTP_COOKIE": "hiroba_staff=x", "REMOTE_ADDR": "10.0.0.7"}),
    Disconnect("node-b", "sid1"),
    EventCall(7, "node-b", "sid1", "join", [{"name": "あおい", "room": "plaza", "lang": "ja"}]),
    EventCall(8, "node-b", "sid1", "rtc:offer", [{"sdp": "v=0", "blob": b"\x00\xff\x10"}]),
    EventCall(9, "node-b", "sid1", "leave", []),
    AudioCall(10, "node-c", "sid2", "publish"),
    Reply(7, {"ok": True, "self": "p_1", "raw": b"\x01\x02"}),
    Reply(8, None),
    ResumeIssued("sid1", "resume-token"),
    AudioClose("p_1", "publish"),
    Speakers("committee", ("p_1", "p_2")),
    Speakers("committee", ()),
    Withheld("committee", ("p_3",)),
    Withheld("committee", ()),
    GalleryPresence("node-b", "committee", "v_abc", True),
    GalleryPresence("node-b", "committee", "v_abc", False),
    GalleryCount("committee", 1834, 2210),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_kind_round_trips(message: Message) -> None:
    assert decode(encode(message)) == message


def test_a_reply_whose_ack_is_not_json_goes_out_empty() -> None:
    """The edge waiting for it is answered at once (with nothing) rather than time out."""
    assert decode(encode(Reply(3, {"ok": True, "odd": object()}))) == Reply(3, None)


def _reason(data: bytes) -> Reason:
    with pytest.raises(ValidationError) as caught:
        decode(data)
    return caught.value.reason


def _with(message: Message, **changes: object) -> bytes:
    body = json.loads(encode(message))
    body.update(changes)
    return json.dumps(body).encode()


def _without(message: Message, key: str) -> bytes:
    body = json.loads(encode(message))
    del body[key]
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", Reason.BAD_PAYLOAD),
        (b"\xff\xfe not json", Reason.BAD_PAYLOAD),
        (b"[1, 2]", Reason.BAD_PAYLOAD),
        (b'"connect"', Reason.BAD_PAYLOAD),
        (b"{}", Reason.BAD_PAYLOAD),
        (b'{"k": "shutdown"}', Reason.BAD_PAYLOAD),
        (b'{"k": 3}', Reason.BAD_PAYLOAD),
        (_without(Reply(1, None), "id"), Reason.MISSING_FIELD),
        (_without(Connect("a", "s", {}), "env"), Reason.MISSING_FIELD),
        (_without(EventCall(1, "a", "s", "join", []), "from"), Reason.MISSING_FIELD),
        (_with(Reply(1, None), id="1"), Reason.BAD_FIELD),
        (_with(Reply(1, None), id=True), Reason.BAD_FIELD),
        (_with(Reply(1, None), id=1.5), Reason.BAD_FIELD),
        (_with(EventCall(1, "a", "s", "join", []), args={"name": "x"}), Reason.BAD_FIELD),
        (_with(EventCall(1, "a", "s", "join", []), sid=None), Reason.BAD_FIELD),
        (_with(EventCall(1, "a", "s", "join", []), args=[{"__b64__": "%%%"}]), Reason.BAD_FIELD),
        (_with(Connect("a", "s", {}), env={"HTTP_COOKIE": 3}), Reason.BAD_FIELD),
        (_with(Connect("a", "s", {}), env=["HTTP_COOKIE"]), Reason.BAD_FIELD),
        (_with(Speakers("r", ()), ids="p_1"), Reason.BAD_FIELD),
        (_with(Speakers("r", ()), ids=[1]), Reason.BAD_FIELD),
        (_with(AudioClose("p", "all"), extra=1), Reason.UNKNOWN_FIELD),
    ],
)
def test_a_bad_message_is_refused_with_its_reason(data: bytes, reason: Reason) -> None:
    assert _reason(data) is reason
