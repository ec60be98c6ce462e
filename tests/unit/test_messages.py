"""Edge validation: every malformed payload is refused with the right reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rooms.errors import HirobaError, Reason
from rooms.names import normalise_name
from server.sockets.messages import JoinRequest, LeaveRequest, MoveRequest

GOOD = {"name": "さくら", "room": "plaza", "lang": "ja"}


def reason_of(fn, payload) -> Reason:
    with pytest.raises(HirobaError) as err:
        fn(payload)
    return err.value.reason


def test_good_join_gets_default_avatar() -> None:
    req = JoinRequest.parse(GOOD)
    assert (req.name, req.room, req.lang, req.token) == ("さくら", "plaza", "ja", None)
    assert req.avatar.hair == "short"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (None, Reason.BAD_PAYLOAD),
        ("join", Reason.BAD_PAYLOAD),
        ([1, 2], Reason.BAD_PAYLOAD),
        ({**GOOD, "admin": True}, Reason.UNKNOWN_FIELD),
        ({"name": "a", "room": "plaza"}, Reason.MISSING_FIELD),
        ({**GOOD, "lang": "fr"}, Reason.BAD_FIELD),
        ({**GOOD, "room": 5}, Reason.BAD_FIELD),
        ({**GOOD, "room": "x" * 65}, Reason.BAD_FIELD),
        ({**GOOD, "room": ""}, Reason.BAD_FIELD),
        ({**GOOD, "name": ""}, Reason.BAD_NAME),
        ({**GOOD, "name": "\u200b\u202e \t"}, Reason.BAD_NAME),
        ({**GOOD, "name": "あ" * 25}, Reason.BAD_NAME),
        ({**GOOD, "name": 12}, Reason.BAD_NAME),
        ({**GOOD, "token": 5}, Reason.BAD_FIELD),
        ({**GOOD, "token": "t" * 2000}, Reason.BAD_FIELD),
        ({**GOOD, "avatar": "red"}, Reason.BAD_FIELD),
        ({**GOOD, "avatar": {"body": "red"}}, Reason.BAD_FIELD),
        ({**GOOD, "avatar": {"hair": "mohawk"}}, Reason.BAD_FIELD),
        ({**GOOD, "avatar": {"wings": True}}, Reason.UNKNOWN_FIELD),
    ],
)
def test_bad_join_payloads(payload, reason) -> None:
    assert reason_of(JoinRequest.parse, payload) is reason


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"x": 1, "z": 2}, Reason.MISSING_FIELD),
        ({"x": "1", "z": 2, "h": 0}, Reason.BAD_FIELD),
        ({"x": True, "z": 2, "h": 0}, Reason.BAD_FIELD),
        ({"x": float("nan"), "z": 2, "h": 0}, Reason.BAD_FIELD),
        ({"x": 1e300, "z": 2, "h": 0}, Reason.BAD_FIELD),
        ({"x": 1, "z": 2, "h": 0, "y": 3}, Reason.UNKNOWN_FIELD),
        (b"\x00\x01", Reason.BAD_PAYLOAD),
    ],
)
def test_bad_moves(payload, reason) -> None:
    assert reason_of(MoveRequest.parse, payload) is reason


def test_leave_accepts_nothing_or_empty_object_only() -> None:
    LeaveRequest.parse(None)
    LeaveRequest.parse({})
    assert reason_of(LeaveRequest.parse, {"now": 1}) is Reason.UNKNOWN_FIELD


def test_names_are_normalised() -> None:
    assert normalise_name("  Ｔａｒｏ\u3000 山田  ") == "Taro 山田"
    assert normalise_name("ﾀﾛｳ") == "タロウ"
    assert normalise_name("evil\u202eeman") == "evileman"
    assert normalise_name("a\nb\tc") == "a b c"


@given(st.text(max_size=300))
def test_any_text_is_a_valid_name_or_a_bad_name_error(raw: str) -> None:
    try:
        name = normalise_name(raw)
    except HirobaError as exc:
        assert exc.reason is Reason.BAD_NAME
    else:
        assert 1 <= len(name) <= 24
        assert name == name.strip()
        assert normalise_name(name) == name, "normalising is idempotent"
