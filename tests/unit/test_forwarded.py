"""Reading a trusted proxy's X-Forwarded-For and X-Forwarded-Proto (server/http/forwarded.py)."""

from __future__ import annotations

import pytest

from rooms.errors import HirobaError
from server.common.networks import parse_networks
from server.config.settings import load_settings
from server.http.forwarded import client_address, client_scheme

PROXIES = parse_networks(["127.0.0.1/32", "10.0.0.0/24", "fd00::/64"])


@pytest.mark.parametrize(
    ("header", "client"),
    [
        (None, "127.0.0.1"),  # no header: the proxy's peer is the client
        ("", "127.0.0.1"),
        ("198.51.100.7", "198.51.100.7"),
        (" 198.51.100.7 ", "198.51.100.7"),
        # the browser's own entries (left) are never believed
        ("1.1.1.1, 198.51.100.7", "198.51.100.7"),
        ("127.0.0.1, 198.51.100.7", "198.51.100.7"),
        # chains of trusted proxies are walked past
        ("198.51.100.7, 10.0.0.3", "198.51.100.7"),
        ("6.6.6.6, 198.51.100.7, 10.0.0.3, 10.0.0.4", "198.51.100.7"),
        ("10.0.0.9, 10.0.0.3", "10.0.0.9"),  # all trusted: as far as can be seen
        # unreadable entries left of a trusted hop stop the walk at that hop
        ("garbage, 10.0.0.3", "10.0.0.3"),
        # ports and brackets, IPv6 written in full or short
        ("198.51.100.7:4711", "198.51.100.7"),
        ("[2001:db8::7]:4711", "2001:db8::7"),
        ("2001:0db8:0000::7", "2001:db8::7"),
        ("2001:db8::7, fd00::3", "2001:db8::7"),
        # the rightmost entry is the proxy's own: unreadable means a misconfigured proxy
        ("garbage", None),
        ("198.51.100.7, garbage", None),
        ("198.51.100.7,", None),
        ("[::1", None),
    ],
)
def test_client_address(header: str | None, client: str | None) -> None:
    assert client_address("127.0.0.1", header, PROXIES) == client


@pytest.mark.parametrize(
    ("header", "scheme"),
    [(None, "http"), ("https", "https"), ("HTTPS", "https"), ("http", "http"),
     ("http, https", "https"),  # the nearest proxy's, last
     ("https, http", "http"), ("gopher", "http"), ("", "http")],
)
def test_client_scheme(header: str | None, scheme: str) -> None:
    assert client_scheme("http", header) == scheme


def test_trusted_proxies_setting() -> None:
    assert load_settings({}).trusted_proxies == ()
    chosen = load_settings({"HIROBA_TRUSTED_PROXIES": "127.0.0.1/32, 10.0.0.0/24",
                            "HIROBA_ICE_HOST_ADDRESSES": "203.0.113.20"})
    assert chosen.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/24")
    with pytest.raises(HirobaError, match="trusted_proxies"):
        load_settings({"HIROBA_TRUSTED_PROXIES": "nginx"})
