"""A crowd cannot lock a meeting's own people out of its room (issue 14, finding 1).

Places of a room are kept for invited roles and staff (``reserved_places``); the public
gallery has a quota of its own (``gallery_share``) and one client address (an IPv6 /64)
only a few of its places (``gallery_per_address``). The browsers' addresses come from the
trusted proxy's ``X-Forwarded-For`` (the server trusts 127.0.0.1 as its proxy), as in a
public deployment. The committee room is made small (12 places) so that a crowd fills it
quickly: the limits are shares of whatever the capacity is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import socketio

from rooms.model import Role
from server.config.settings import Settings
from server.http.routes import HUB_KEY
from tests.conftest import Server, running_server
from tests.meetings import COMMITTEE, invitation

CAPACITY = 12
RESERVED = 4  # so the public may hold 8 places


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, trusted_proxies=("127.0.0.1/32",), reserved_places=RESERVED,
                   gallery_share=1.0, gallery_per_address=0)


@pytest.fixture
async def small(server: Server) -> Server:
    """The server, its committee room holding ``CAPACITY`` people."""
    room = server.app[HUB_KEY].rooms[COMMITTEE]
    room.info = replace(room.info, capacity=CAPACITY)
    return server


class Browser:
    """A socket.io client behind the proxy at ``address``."""

    def __init__(self, address: str) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.headers = {"X-Forwarded-For": address}

    async def join(self, url: str, name: str, **extra: Any) -> dict[str, Any]:
        if not self.sio.connected:
            await self.sio.connect(url, transports=["websocket"], headers=self.headers,
                                   wait_timeout=5)
        return await self.sio.call(  # type: ignore[no-any-return]
            "join", {"name": name, "room": COMMITTEE, "lang": "ja", **extra}, timeout=5)


@pytest.fixture
async def browsers() -> AsyncIterator[list[Browser]]:
    made: list[Browser] = []
    yield made
    for b in made:
        if b.sio.connected:
            await b.sio.disconnect()


async def watch(url: str, made: list[Browser], address: str, n: int) -> list[dict[str, Any]]:
    """``n`` sockets from ``address`` asking for the public gallery; their acks."""
    acks = []
    for i in range(n):
        b = Browser(address)
        made.append(b)
        acks.append(await b.join(url, f"傍聴{i}", gallery=True))
    return acks


def outcomes(acks: list[dict[str, Any]]) -> list[str]:
    return [a.get("place", "?") if a["ok"] else a["reason"] for a in acks]


async def test_a_crowd_from_one_address_leaves_the_chair_a_place(
    small: Server, browsers: list[Browser],
) -> None:
    crowd = "198.51.100.7"
    acks = await watch(small.url, browsers, crowd, CAPACITY + 2)
    # The public holds capacity - reserved places; then the room is full for it.
    public = CAPACITY - RESERVED
    assert outcomes(acks) == ["gallery"] * public + ["room_full"] * (CAPACITY + 2 - public)
    # The invited chair, even from the crowd's own address, still gets in, and members.
    chair = Browser(crowd)
    browsers.append(chair)
    ack = await chair.join(small.url, "山田委員長",
                           token=invitation(small, COMMITTEE, Role.CHAIR, "山田委員長"))
    assert ack["ok"] and ack["place"] == "room", ack
    # A seat held from the reserve does not become a citizen's place.
    late = await watch(small.url, browsers, "198.51.100.99", 1)
    assert outcomes(late) == ["room_full"]


async def test_gallery_places_are_capped_per_address_and_by_quota(
    settings: Settings, no_blocking: None,
) -> None:
    capped = replace(settings, gallery_share=0.75, gallery_per_address=2)  # 6 gallery places
    made: list[Browser] = []
    async with running_server(capped) as server:
        try:
            await _capped(server, made)
        finally:
            for b in made:
                if b.sio.connected:
                    await b.sio.disconnect()


async def _capped(server: Server, made: list[Browser]) -> None:
    room = server.app[HUB_KEY].rooms[COMMITTEE]
    room.info = replace(room.info, capacity=CAPACITY)
    url = server.url
    # One IPv4 address: two places, then address_limit.
    assert outcomes(await watch(url, made, "198.51.100.7", 3)) == [
        "gallery", "gallery", "address_limit"]
    # One IPv6 /64, from three addresses in it: the same.
    v6 = [*await watch(url, made, "2001:db8:0:7::1", 1),
          *await watch(url, made, "2001:db8:0:7::2", 1),
          *await watch(url, made, "2001:db8:0:7:ffff::3", 1)]
    assert outcomes(v6) == ["gallery", "gallery", "address_limit"]
    # Other addresses still get places, until the gallery's quota (6) is reached.
    assert outcomes(await watch(url, made, "198.51.100.8", 2)) == ["gallery"] * 2
    assert outcomes(await watch(url, made, "2001:db8:0:8::1", 1)) == ["room_full"]
    # The chair is not counted against any of it.
    chair = Browser("198.51.100.7")
    made.append(chair)
    ack = await chair.join(url, "山田委員長",
                           token=invitation(server, COMMITTEE, Role.CHAIR, "山田委員長"))
    assert ack["ok"] and ack["place"] == "room", ack
    # A gallery place given up is free again for that address.
    assert (await made[0].sio.call("leave", {}, timeout=5))["ok"]
    assert outcomes(await watch(url, made, "198.51.100.7", 1)) == ["gallery"]
