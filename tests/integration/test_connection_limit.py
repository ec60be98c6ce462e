"""At most ``max_connections_per_address`` sockets from one client address on a node.

The browsers' addresses come from a trusted proxy's ``X-Forwarded-For`` (the server trusts
127.0.0.1/32), which is how a public deployment sees them; loopback peers themselves are
not counted (a proxy on this machine).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import aiohttp
import pytest
import socketio

from tests.conftest import Server
from tests.meetings import CONSULTATION

LIMIT = 3
CROWDED = "198.51.100.7"
OTHER = "198.51.100.8"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, trusted_proxies=("127.0.0.1/32",),
                   max_connections_per_address=LIMIT)


class Browser:
    """A socket.io client behind the proxy at ``address``; records a refusal."""

    def __init__(self, address: str | None) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.headers = {} if address is None else {"X-Forwarded-For": address}
        self.refusal: Any = None

        @self.sio.event
        async def connect_error(data: Any) -> None:
            self.refusal = data

    async def connect(self, url: str) -> bool:
        try:
            await self.sio.connect(url, transports=["websocket"], headers=self.headers,
                                   wait_timeout=5)
        except socketio.exceptions.ConnectionError:
            return False
        return True

    async def chat_join(self, name: str) -> dict[str, Any]:
        return await self.sio.call(  # type: ignore[no-any-return]
            "join", {"name": name, "room": CONSULTATION, "lang": "ja"}, timeout=5)


async def test_one_address_is_limited_and_others_go_on(server: Server) -> None:
    made: list[Browser] = []
    try:
        crowd = [Browser(CROWDED) for _ in range(LIMIT)]
        made += crowd
        for b in crowd:
            assert await b.connect(server.url)
        # One more from the same address is refused with a reason. (Counted at socket.io's
        # connect, the same for both transports; python-socketio's polling client takes
        # 25 s to give up, so only WebSocket is driven here.)
        for _ in range(2):
            extra = Browser(CROWDED)
            made.append(extra)
            assert not await extra.connect(server.url)
            # (The page's socket.io client reads the inner object as the error's data.)
            assert extra.refusal["data"] == {
                "reason": "rate_limited",
                "message": "too many connections from your network; try again later"
            }, extra.refusal
        # Another address, and the proxy itself (loopback, not counted), are not affected;
        # the crowd's own sockets keep working.
        other, local = Browser(OTHER), Browser(None)
        made += [other, local]
        assert await other.connect(server.url) and await local.connect(server.url)
        for n, b in enumerate([*crowd, other, local]):
            assert (await b.chat_join(f"市民{n}"))["ok"]
        # A socket that leaves frees its place.
        await crowd[0].sio.disconnect()
        again = Browser(CROWDED)
        made.append(again)
        assert await again.connect(server.url)
        assert (await again.chat_join("戻った人"))["ok"]
        # When everyone has gone, the address has its whole allowance again.
        for b in made:
            if b.sio.connected:
                await b.sio.disconnect()
        fresh = [Browser(CROWDED) for _ in range(LIMIT)]
        made += fresh
        for b in fresh:
            assert await b.connect(server.url)
    finally:
        for b in made:
            if b.sio.connected:
                await b.sio.disconnect()


async def test_without_a_trusted_proxy_the_peer_address_counts(server: Server) -> None:
    """127.0.0.2 is loopback: not counted, whatever X-Forwarded-For it sends; the server
    is not fooled into counting (or refusing) the address the header names."""
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0)))
    made: list[socketio.AsyncClient] = []
    try:
        for _ in range(LIMIT + 2):
            client = socketio.AsyncClient(reconnection=False, http_session=session)
            made.append(client)
            await client.connect(server.url, transports=["websocket"],
                                 headers={"X-Forwarded-For": CROWDED}, wait_timeout=5)
            assert client.connected
        # ...and the address it names still has its whole allowance.
        named = [Browser(CROWDED) for _ in range(LIMIT)]
        for b in named:
            made.append(b.sio)
            assert await b.connect(server.url)
    finally:
        for client in made:
            if client.connected:
                await client.disconnect()
        await session.close()
