"""GuardedPacket: what the server's socket.io decoder accepts (server/sockets/packets.py)."""

from __future__ import annotations

import json

import pytest
from socketio import packet

from rooms.errors import ValidationError
from server.sockets.packets import MAX_DEPTH, GuardedPacket, check_payload


def nested(depth: int) -> object:
    value: object = 1
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def test_depth_limit_is_exact() -> None:
    check_payload(nested(MAX_DEPTH), 0)
    with pytest.raises(ValidationError):
        check_payload(nested(MAX_DEPTH + 1), 0)
    with pytest.raises(ValidationError):
        check_payload(nested(100_000), 0)


def test_placeholders_must_name_an_attachment() -> None:
    check_payload(["pose", {"_placeholder": True, "num": 0}], 1)
    for bad in (1, -1, "0", True, None, 0.0):
        with pytest.raises(ValidationError):
            check_payload(["pose", {"_placeholder": True, "num": bad}], 1)
    check_payload(["x", {"_placeholder": "yes", "num": 7}], 0)  # not a placeholder


@pytest.mark.parametrize("text", ['2["chat:send",{"text":"hi"}]', '21["join",{}]', "0", "1",
                                  '3["ok"]', '51-["pose",{"_placeholder":true,"num":0}]'])
def test_good_packets_decode_as_usual(text: str) -> None:
    mine, theirs = GuardedPacket(encoded_packet=text), packet.Packet(encoded_packet=text)
    assert (mine.packet_type, mine.id, mine.data) == (theirs.packet_type, theirs.id, theirs.data)


@pytest.mark.parametrize("text", ["", "x", "9", "4{}", '2["a",{', "2" + "[" * 5000,
                                  "2" + json.dumps(nested(MAX_DEPTH + 1)),
                                  '51-["pose",{"_placeholder":true,"num":3}]'])
def test_bad_packets_become_a_disconnect(text: str) -> None:
    p = GuardedPacket(encoded_packet=text)
    assert (p.packet_type, p.namespace, p.id, p.data) == (packet.DISCONNECT, None, None, None)
