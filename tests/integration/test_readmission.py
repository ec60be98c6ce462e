"""An admitted person whose connection drops comes back into the room, not the lobby.

The admission's acknowledgement carries a resume token that says "in the room"; a join
with it (what the page sends after a reconnect, and what cluster nodes send for their
sockets after a leader failover) skips the lobby, unless the person was removed or
banned since.
"""

from __future__ import annotations

from typing import Any

from rooms.model import Role
from tests.conftest import Server
from tests.meetings import COMMITTEE, MeetingClient, add_staff, console, invitation


async def drop(client: MeetingClient) -> None:
    """The connection goes (the rejoin below ends any seat the server still holds)."""
    await client.sio.disconnect()


async def back(server: Server, made: list[Any], payload: dict[str, Any]) -> dict[str, Any]:
    client = await MeetingClient(server.url).connect()
    made.append(client)
    client.ack = await client.call("join", payload)
    return client.ack  # type: ignore[no-any-return]


async def test_an_admitted_member_reconnects_into_the_room(server: Server,
                                                           made: list[Any]) -> None:
    await add_staff(server)
    staff = await console(server, made)
    token = invitation(server, COMMITTEE, Role.MEMBER, "田中委員")
    member = await MeetingClient(server.url).connect()
    made.append(member)
    join = {"name": "x", "room": COMMITTEE, "lang": "ja", "token": token}
    waiting = await member.call("join", join)
    assert waiting["place"] == "lobby" and waiting["resume"], waiting
    pid, device = waiting["self"], waiting["device"]
    await staff.act("lobby:admit", {"target": pid})
    admitted = await member.expect("meeting:admitted")
    assert admitted["place"] == "room" and admitted["resume"] != waiting["resume"]

    # The connection drops; the page joins again with the admission's token: same person,
    # straight into the room, and the staff's lobby stays empty.
    await drop(member)
    rejoin = {**join, "device": device, "resume": admitted["resume"]}
    ack = await back(server, made, rejoin)
    assert (ack["ok"], ack["self"], ack["place"]) == (True, pid, "room"), ack
    assert (await staff.act("lobby:list"))["lobby"] == []

    # The lobby's own token (from before the admission) still means the lobby.
    await drop(made[-1])
    ack = await back(server, made, {**rejoin, "resume": waiting["resume"]})
    assert (ack["self"], ack["place"]) == (pid, "lobby"), ack
    await staff.act("lobby:admit", {"target": pid})
    readmitted = await made[-1].expect("meeting:admitted")

    # Removed (and the removal lifted at once): an admission from before it does not
    # count any more; they wait to be admitted again.
    removed = await staff.act("sanction:remove", {"target": pid, "reason": "確認のため"})
    await staff.act("sanction:lift", {"sanction": removed["sanction"]})
    ack = await back(server, made, {**rejoin, "resume": readmitted["resume"]})
    assert (ack["ok"], ack["place"]) == (True, "lobby"), ack

    # A token used from another device is refused outright, as before.
    ack = await back(server, made, {**rejoin, "device": "d_" + "A" * 32,
                                    "resume": readmitted["resume"]})
    assert (ack["ok"], ack["reason"]) == (False, "bad_token"), ack
