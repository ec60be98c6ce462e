"""The gallery's cluster messages (issue 19, server/cluster/messages.py): the leader's
public messages and snapshots of a room, a node's ask for one, a node's periodic summary
of its viewers and their requests, a promotion for a viewer on another node. Each round-
trips; anything else, or anything too large, is refused with its reason."""

from __future__ import annotations

import json

import pytest

from rooms.errors import Reason, ValidationError
from server.cluster.messages import (
    MAX_GALLERY_PUBLIC,
    MAX_SUMMARY_REQUESTS,
    MAX_SUMMARY_VIEWERS,
    GalleryAsk,
    GalleryPresence,
    GalleryPromote,
    GalleryPublic,
    GallerySummary,
    Message,
    decode,
    encode,
)

REQUEST: dict[str, object] = {"viewer": "v_1", "name": "あおい", "hand": True, "ask": False,
                              "text": "", "since": 1765000000.5}
EXAMPLES: list[Message] = [
    GalleryPublic("committee", {"t": "snapshot", "people": [{"slot": 3, "name": "委員長"}],
                                "floor": {"holder": "p_1", "holder_slot": 3},
                                "captions": [], "chat": [], "opinions": [], "closed": False}),
    GalleryPublic("committee", {"t": "chat", "change": "chat.hidden",
                                "message": {"id": "m1", "hidden": True}}),
    GalleryPublic("committee", {"t": "caption", "change": "caption.posted",
                                "line": {"seq": 4, "text": "開会します"}}),
    GalleryAsk("node-b", "committee"),
    GallerySummary("node-b", {"committee": ("v_1", "v_2")}, {"committee": (REQUEST,)}),
    GallerySummary("node-b", {}, {}),
    GalleryPromote("committee", "v_1", "tok", "/?room=committee&token=tok"),
    GalleryPresence("node-b", "committee", "v_1", True),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_gallery_message_round_trips(message: Message) -> None:
    assert decode(encode(message)) == message


def _reason(body: dict[str, object]) -> Reason:
    with pytest.raises(ValidationError) as caught:
        decode(json.dumps(body).encode())
    return caught.value.reason


def test_only_public_gallery_messages_are_relayed() -> None:
    """The leader relays a room's public STATE messages and snapshots; nothing else (a
    viewer's own ``promoted``, ``hello`` or ``error``, or no object at all) is accepted."""
    for t in ("promoted", "hello", "error", "count", None):
        assert _reason({"k": "gallery_public", "room": "r", "msg": {"t": t}}) is Reason.BAD_FIELD
    assert _reason({"k": "gallery_public", "room": "r", "msg": "state"}) is Reason.BAD_FIELD
    assert _reason({"k": "gallery_public", "room": "r"}) is Reason.MISSING_FIELD


def test_a_relayed_message_is_bounded() -> None:
    big = {"t": "state", "chat": ["x" * MAX_GALLERY_PUBLIC]}
    assert _reason({"k": "gallery_public", "room": "r", "msg": big}) is Reason.TOO_LONG


def test_a_summary_is_checked_and_bounded() -> None:
    def summary(rooms: object, requests: object) -> dict[str, object]:
        return {"k": "gallery_summary", "from": "b", "rooms": rooms, "requests": requests}

    assert _reason(summary([], {})) is Reason.BAD_FIELD
    assert _reason(summary({"r": "v_1"}, {})) is Reason.BAD_FIELD
    assert _reason(summary({"r": [1]}, {})) is Reason.BAD_FIELD
    many = {"r": [f"v{i}" for i in range(MAX_SUMMARY_VIEWERS + 1)]}
    assert _reason(summary(many, {})) is Reason.TOO_LONG
    assert _reason(summary({}, {"r": [REQUEST] * (MAX_SUMMARY_REQUESTS + 1)})) is Reason.BAD_FIELD
    for bad in ({**REQUEST, "hand": 1}, {**REQUEST, "name": "x" * 81},
                {**REQUEST, "since": "now"}, {**REQUEST, "extra": 1},
                {k: v for k, v in REQUEST.items() if k != "text"}):
        assert _reason(summary({}, {"r": [bad]})) is Reason.BAD_FIELD, bad


def test_a_presence_names_its_node() -> None:
    assert _reason({"k": "gallery", "room": "r", "viewer": "v", "arrived": 1}) is \
        Reason.MISSING_FIELD
