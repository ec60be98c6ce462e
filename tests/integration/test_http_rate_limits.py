"""Per-address limits of the expensive HTTP routes (issue 14 finding 5), over real HTTP.

One address over its budget gets ``429 rate_limited`` with ``Retry-After`` while another
address is served; minutes, the archive list and exports draw on one budget, recording
files on their own. Behind a trusted proxy the forwarded address is what counts, an IPv6
client by its /64.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from tests.conftest import Server
from tests.meetings import COMMITTEE, add_staff, login
from tests.published import publish, record

LIMIT = 4


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, http_heavy_per_minute=LIMIT, http_media_per_minute=LIMIT,
                   trusted_proxies=("127.0.0.9/32",))


async def get(server: Server, path: str, source: str = "127.0.0.1",
              **headers: str) -> tuple[int, Any, aiohttp.ClientResponse]:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as http, http.get(
        server.url + path, headers=headers
    ) as r:
        body = await r.json() if r.content_type == "application/json" else await r.read()
        return r.status, body, r


async def test_one_address_over_its_budget_gets_429_and_others_are_served(
    server: Server,
) -> None:
    rid = await record(server)
    await publish(server, rid)
    minutes = f"/api/recordings/{rid}/minutes?format=md"
    for path in [minutes] * (LIMIT - 1) + ["/api/recordings"]:
        status, _, _ = await get(server, path)
        assert status == 200
    status, body, r = await get(server, minutes)
    assert status == 429 and body["reason"] == "rate_limited" and "try again" in body["message"]
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    status, _, _ = await get(server, "/api/recordings")  # the same budget
    assert status == 429
    # Staff exports draw on it too (the limit is checked before the session).
    await add_staff(server)
    cookie, _ = await login(server)
    status, _, _ = await get(server, f"/api/rooms/{COMMITTEE}/export/chat.csv", Cookie=cookie)
    assert status == 429
    # Another address is served meanwhile.
    status, _, _ = await get(server, minutes, source="127.0.0.2")
    assert status == 200
    # Recording files have their own budget.
    audio = f"/api/recordings/{rid}/files/audio/01.opus"
    for _ in range(LIMIT):
        status, _, _ = await get(server, audio)
        assert status == 200
    status, _, r = await get(server, audio)
    assert status == 429 and "Retry-After" in r.headers
    # Cheap routes are never limited.
    status, _, _ = await get(server, "/healthz")
    assert status == 200


async def test_behind_a_trusted_proxy_the_browser_address_counts(server: Server) -> None:
    rid = await record(server)
    await publish(server, rid)
    minutes = f"/api/recordings/{rid}/minutes?format=md"

    async def via_proxy(client: str) -> int:
        status, _, _ = await get(server, minutes, source="127.0.0.9",
                                 **{"X-Forwarded-For": client})
        return status

    assert [await via_proxy("198.51.100.7") for _ in range(LIMIT)] == [200] * LIMIT
    assert await via_proxy("198.51.100.7") == 429
    assert await via_proxy("198.51.100.8") == 200  # the proxy itself is not the key
    # An IPv6 household is one key for its whole /64.
    assert [await via_proxy(f"2001:db8:0:1::{n}") for n in range(1, LIMIT + 1)] == [200] * LIMIT
    assert await via_proxy("2001:db8:0:1::ffff") == 429
    assert await via_proxy("2001:db8:0:2::1") == 200
