"""Behind a reverse proxy: ``trusted_proxies`` makes Hiroba see the browser, not nginx.

The server listens on 127.0.0.1 and trusts 127.0.0.1/32 as its proxy. Requests from
127.0.0.1 carrying ``X-Forwarded-For``/``X-Forwarded-Proto`` are what nginx would send
for a browser; requests bound to 127.0.0.2 are a peer that is *not* the proxy and whose
identical headers must be ignored.
"""

from __future__ import annotations

from dataclasses import replace

import aiohttp
import pytest
import socketio

from server.staff.auth import COOKIE
from tests.conftest import Server
from tests.meetings import CONSULTATION, STAFF_PASSWORD, add_staff, http

BROWSER_A = "198.51.100.7"
BROWSER_B = "198.51.100.8"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # (The per-account login back-off, tested in test_outsider_findings.py, stays out of
    # the way of the per-address limit tested here.)
    return replace(settings, trusted_proxies=("127.0.0.1/32",),
                   staff_login_account_failures=1000)


def not_the_proxy() -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))


async def test_the_login_limit_counts_each_browser_behind_the_proxy(server: Server) -> None:
    await add_staff(server)
    login = server.url + "/api/login"
    wrong = {"account": "jimu", "password": "guess"}
    right = {"account": "jimu", "password": STAFF_PASSWORD}
    attempts = int(server.settings.staff_login_attempts_per_minute)
    for _ in range(attempts):
        assert (await http("POST", login, body=wrong, **{"X-Forwarded-For": BROWSER_A}))[0] \
            == 401
    status, body, _ = await http("POST", login, body=right, **{"X-Forwarded-For": BROWSER_A})
    assert (status, body["reason"]) == (429, "rate_limited")
    # The browser cannot escape by writing another address in front of the proxy's entry:
    # only the entry the proxy appended (the rightmost) is believed.
    status, body, _ = await http("POST", login, body=right,
                                    **{"X-Forwarded-For": f"{BROWSER_B}, {BROWSER_A}"})
    assert (status, body["reason"]) == (429, "rate_limited")
    # Another citizen behind the same proxy is not held up by the first one.
    status, body, _ = await http("POST", login, body=right, **{"X-Forwarded-For": BROWSER_B})
    assert status == 200 and body["ok"], body


async def test_a_peer_that_is_not_the_proxy_cannot_claim_an_address(server: Server) -> None:
    await add_staff(server)
    login = server.url + "/api/login"
    wrong = {"account": "jimu", "password": "guess"}
    attempts = int(server.settings.staff_login_attempts_per_minute)
    for i in range(attempts):
        # A fresh "address" every time: ignored, every attempt counts against 127.0.0.2.
        status, _, _ = await http("POST", login, body=wrong, connector=not_the_proxy(),
                                     **{"X-Forwarded-For": f"203.0.113.{i + 1}"})
        assert status == 401
    status, body, _ = await http("POST", login, body=wrong, connector=not_the_proxy(),
                                    **{"X-Forwarded-For": "203.0.113.200"})
    assert (status, body["reason"]) == (429, "rate_limited")


async def test_https_at_the_proxy_gives_a_secure_cookie_and_hsts(server: Server) -> None:
    await add_staff(server)
    host = server.url.removeprefix("http://")
    public = f"https://{host}"
    right = {"account": "jimu", "password": STAFF_PASSWORD}
    via_tls = {"X-Forwarded-For": BROWSER_A, "X-Forwarded-Proto": "https", "Origin": public}
    status, body, r = await http("POST", server.url + "/api/login", body=right, **via_tls)
    assert status == 200 and body["ok"], body
    assert r.cookies[COOKIE]["secure"] is True
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    # The same headers from a peer that is not the proxy: plain HTTP, so the https origin
    # is foreign (CSRF refusal), and the own http origin gets no Secure cookie and no HSTS.
    status, body, r = await http("POST", server.url + "/api/login", body=right,
                                    connector=not_the_proxy(), **via_tls)
    assert (status, body["reason"]) == (403, "bad_csrf")
    status, body, r = await http("POST", server.url + "/api/login", body=right,
                                    connector=not_the_proxy(),
                                    **{**via_tls, "Origin": server.url})
    assert status == 200 and body["ok"], body
    assert not r.cookies[COOKIE]["secure"]
    assert "Strict-Transport-Security" not in r.headers
    # A scheme that is neither http nor https is ignored.
    status, _, r = await http("GET", server.url + "/", **{"X-Forwarded-Proto": "gopher"})
    assert status == 200 and "Strict-Transport-Security" not in r.headers


async def test_sockets_through_the_proxy_keep_the_origin_rule(server: Server) -> None:
    public = "https://" + server.url.removeprefix("http://")
    proxied = {"X-Forwarded-For": BROWSER_A, "X-Forwarded-Proto": "https", "Origin": public}
    # socket.io over WebSocket through the proxy's headers: the page's https origin is its
    # own, with no allowed_origins configured, and a join works.
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(server.url, transports=["websocket"], headers=proxied, wait_timeout=5)
    try:
        ack = await client.call("join", {"name": "広場の人", "room": CONSULTATION, "lang": "ja"},
                                timeout=5)
        assert ack["ok"], ack
        await motion_origins(server, ack["motion"]["token"], proxied)
    finally:
        await client.disconnect()
    polling = server.url + "/socket.io/?EIO=4&transport=polling"
    status, _, _ = await http("GET", polling, **proxied)
    assert status == 200
    # From a peer that is not the proxy the same https origin is foreign.
    status, _, _ = await http("GET", polling, connector=not_the_proxy(), **proxied)
    assert status == 400


async def motion_origins(server: Server, token: str, proxied: dict[str, str]) -> None:
    """The motion WebSocket: the proxied https origin is accepted from the proxy only."""
    for connector, expected in ((None, "ok"), (not_the_proxy(), 4403)):
        async with aiohttp.ClientSession(connector=connector) as session, \
                session.ws_connect(server.url + "/motion", headers=proxied) as ws:
            await ws.send_str(token)
            assert (await ws.receive()).data == expected


async def test_loopback_only_endpoints_see_the_browser(server: Server) -> None:
    stats = server.url + "/api/motion/stats"
    metrics = server.url + "/metrics"
    # The proxy itself (no forwarded address) is loopback; a browser behind it is not.
    assert (await http("GET", stats))[0] == 200
    assert (await http("GET", metrics))[0] == 200
    for url in (stats, metrics):
        status, text, _ = await http("GET", url, **{"X-Forwarded-For": BROWSER_A})
        assert status == 403, (url, text)
    # A peer that is not the proxy, sending forwarding headers, is refused outright: its
    # own address (127.0.0.2, loopback) may be a proxy's on this machine.
    for url in (stats, metrics):
        status, _, _ = await http("GET", url, connector=not_the_proxy(),
                                     **{"X-Forwarded-For": "127.0.0.1"})
        assert status == 403, url
        status, _, _ = await http("GET", url, connector=not_the_proxy())
        assert status == 200, url


async def test_unreadable_forwarding_headers_are_refused_or_skipped(server: Server) -> None:
    """A garbled header cannot choose an address, nor borrow the proxy's."""
    rooms = server.url + "/api/rooms"
    stats = server.url + "/api/motion/stats"
    # The last entry is the proxy's own: if it is not an address the proxy passed the
    # browser's header on unchecked, and the request is refused with a reason.
    for value in ("garbage", f"{BROWSER_A}, garbage", ",,,", "[::1", "127.0.0.1, "):
        for url in (rooms, stats):
            status, body, _ = await http("GET", url, **{"X-Forwarded-For": value})
            assert status == 400 and body["reason"] == "bad_payload", (value, url)
            assert "X-Forwarded-For" in body["message"]
    # An unreadable entry left of a trusted hop stops the walk at that hop: the browser
    # is 127.0.0.5 (loopback, served by the stats), never what the garbage might claim.
    assert (await http("GET", stats, **{"X-Forwarded-For": "garbage, 127.0.0.5"}))[0] == 200
    assert (await http("GET", stats, **{"X-Forwarded-For": "garbage, 198.51.100.9"}))[0] \
        == 403
    # Ports and brackets as some proxies write them.
    for value in ("198.51.100.9:4711", "[2001:db8::9]:4711", "2001:db8::9"):
        status, _, _ = await http("GET", stats, **{"X-Forwarded-For": value})
        assert status == 403, value
    # And the server goes on serving everyone.
    assert (await http("GET", rooms))[0] == 200
