"""Per-address limits count an IPv6 client by its /64 (``ipv6_limit_prefix``), IPv4 by address.

A household on a Japanese IPoE line holds a /64 or more and may use a fresh address from
it for every connection: counted by full address, the socket and login limits would be no
limit at all. The browsers' IPv6 addresses come from the trusted proxy's X-Forwarded-For
(the server itself listens on 127.0.0.1 and trusts it as its proxy).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.conftest import Server
from tests.integration.test_connection_limit import Browser
from tests.meetings import add_staff, http

LIMIT = 3


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # (The per-account login back-off, tested in test_outsider_findings.py, stays out of
    # the way of the per-address limit tested here.)
    return replace(settings, trusted_proxies=("127.0.0.1/32",),
                   max_connections_per_address=LIMIT, staff_login_account_failures=1000)


async def test_sockets_from_one_ipv6_64_share_one_allowance(server: Server) -> None:
    made: list[Browser] = []
    try:
        # Each socket from another address of the same /64: together they are one client.
        for n in range(LIMIT):
            b = Browser(f"2001:db8:0:7::{n + 1}")
            made.append(b)
            assert await b.connect(server.url)
        extra = Browser("2001:db8:0:7:ffff:ffff:ffff:fffe")
        made.append(extra)
        assert not await extra.connect(server.url)
        assert extra.refusal["data"]["reason"] == "rate_limited", extra.refusal
        # The next /64 is another household.
        neighbour = Browser("2001:db8:0:8::1")
        made.append(neighbour)
        assert await neighbour.connect(server.url)
    finally:
        for b in made:
            if b.sio.connected:
                await b.sio.disconnect()


async def test_a_wider_prefix_is_configurable(server: Server) -> None:
    assert server.settings.ipv6_limit_prefix == 64
    # (the key function itself, with another prefix: a /56 covers 256 /64s)
    from server.common.networks import limit_key
    assert limit_key("2001:db8:0:7::1", 56) == limit_key("2001:db8:0:42::1", 56)
    assert limit_key("2001:db8:0:7::1") != limit_key("2001:db8:0:8::1")
    assert limit_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert limit_key("198.51.100.7") != limit_key("198.51.100.8")


async def test_staff_login_attempts_from_one_ipv6_64_share_one_allowance(
    server: Server,
) -> None:
    await add_staff(server)
    login = server.url + "/api/login"
    wrong = {"account": "jimu", "password": "guess"}
    attempts = int(server.settings.staff_login_attempts_per_minute)
    for n in range(attempts):
        status, _, _ = await http("POST", login, body=wrong,
                                  **{"X-Forwarded-For": f"2001:db8:0:9::{n + 1:x}"})
        assert status == 401
    status, body, _ = await http("POST", login, body=wrong,
                                 **{"X-Forwarded-For": "2001:db8:0:9:abcd::1"})
    assert (status, body["reason"]) == (429, "rate_limited")
    status, _, _ = await http("POST", login, body=wrong,
                              **{"X-Forwarded-For": "2001:db8:0:a::1"})
    assert status == 401
