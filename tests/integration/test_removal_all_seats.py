"""A removal sends away every seat of the person, not only the socket it was aimed at.

An invited member opens the committee in two tabs of one browser (one device token, the
same invitation). Staff remove the first tab's participant: the second tab is told
``removed`` and disconnected as well, and the device cannot come back while the removal
lasts.
"""

from __future__ import annotations

from typing import Any

from rooms.model import Role
from tests.conftest import Client, Server
from tests.meetings import COMMITTEE, MeetingClient, add_staff, admitted, console, invitation


async def test_a_removal_ejects_the_second_tab_of_the_same_device(
    server: Server, made: list[Client],
) -> None:
    await add_staff(server)
    staff = await console(server, made)
    token = invitation(server, COMMITTEE, Role.MEMBER, "佐藤委員")
    # (Role.CITIZEN: the helper must not mint a second invitation; the token makes a member.)
    first = await admitted(server, made, staff, "佐藤委員", Role.CITIZEN, token=token)
    device = first.ack["device"]
    second = await admitted(server, made, staff, "佐藤委員", Role.CITIZEN, token=token,
                            device=device)
    assert second.ack["self"] != first.ack["self"]
    assert second.ack["device"] == device, (device, second.ack["device"])
    assert second.ack["meeting"]["self"]["role"] == "member", second.ack["meeting"]["self"]
    await second.act("chat:send", {"text": "二つ目のタブです"})

    await staff.act("sanction:remove", {"target": first.ack["self"], "reason": "妨害"})
    for tab in (first, second):
        notice = await tab.expect("meeting:notice", lambda n: n["kind"] == "removed")
        assert notice["reason"] == "妨害"
        assert await tab.ended(), "every tab of the removed person is disconnected"
    # Coming back with the same device is refused while the removal lasts.
    again = await MeetingClient(server.url).connect()
    made.append(again)
    refused: dict[str, Any] = await again.call(
        "join", {"name": "別の名前", "room": COMMITTEE, "lang": "ja", "device": device})
    assert (refused["ok"], refused["reason"]) == (False, "banned"), refused
