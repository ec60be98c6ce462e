"""A citizen cannot pass for an invited member, the chair or staff (issue 14, finding 6).

The names of people present with those roles are reserved by confusable skeleton: the
same name, the name with invisible characters, spaces or look-alike letters in it, is
refused ``name_reserved`` when a citizen joins. Everything goes through a real server and
real socket.io clients.
"""

from __future__ import annotations

from rooms.model import Role
from server.console.routes import MEETINGS_KEY
from tests.conftest import Client, Server, eventually
from tests.meetings import COMMITTEE, CONSULTATION, MeetingClient, add_staff, admitted, console


async def joins(server: Server, made: list[Client], name: str, room: str = COMMITTEE,
                **extra: object) -> dict[str, object]:
    client = await MeetingClient(server.url).connect()
    made.append(client)
    return await client.call(  # type: ignore[no-any-return]
        "join", {"name": name, "room": room, "lang": "ja", **extra})


async def test_citizens_cannot_take_the_names_of_invitees_and_staff(
    server: Server, made: list[Client],
) -> None:
    service = server.app[MEETINGS_KEY]
    await add_staff(server, display="事務局 鈴木")
    staff = await console(server, made)
    member = await admitted(server, made, staff, "佐藤委員", Role.MEMBER)
    await admitted(server, made, staff, "ロバート委員長", Role.CHAIR)
    for imitation in ("佐藤委員", "佐藤 委員", "佐藤\u034f委員\ufe0f", "佐藤\u3164委員",
                      "口バート委員長", "ロバ一ト委員長", "事務局鈴木"):
        for extra in ({}, {"gallery": True}):
            ack = await joins(server, made, imitation, **extra)
            assert not ack["ok"] and ack["reason"] == "name_reserved", (imitation, ack)
    # Other names are fine, and so is the member's own second tab (invited again).
    assert (await joins(server, made, "佐藤", gallery=True))["ok"]
    assert (await joins(server, made, "加藤委員", gallery=True))["ok"]
    again = await admitted(server, made, staff, "佐藤委員", Role.MEMBER)
    assert again.ack["ok"], again.ack
    # A name is reserved while its holder is present: once they left, it is free.
    for holder in (member, again):
        await holder.sio.disconnect()
    await eventually(lambda: not any(p.name == "佐藤委員" for p in service.meeting(COMMITTEE)
                                     .people.values()), what="the member left")
    assert (await joins(server, made, "佐藤委員", gallery=True))["ok"]


async def test_staff_names_are_reserved_in_the_room_they_are_in(
    server: Server, made: list[Client],
) -> None:
    await add_staff(server, display="まちづくり課")
    await console(server, made, room=CONSULTATION)
    refused = await joins(server, made, "まちづくり課", room=CONSULTATION)
    assert refused["reason"] == "name_reserved", refused
    # In another room, where no such person is, the name is free.
    assert (await joins(server, made, "まちづくり課", room="plaza"))["ok"]
