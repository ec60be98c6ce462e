"""Address checks shared by the endpoints that answer some networks only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Headers a reverse proxy adds. An allowlist checks the TCP peer, which behind a proxy on
#: the same host is 127.0.0.1 for everyone: unless the proxy is one of ``trusted_proxies``
#: (server/http/forwarded.py then puts the browser's address in the request and removes these
#: headers), such a request is refused outright.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDR networks (a bare address is a /32 or /128); raises ValueError on a bad one."""
    return tuple(ipaddress.ip_network(v.strip()) for v in values)


def peer_address(remote: str | None) -> Address | None:
    """A peer's address as an IP address (IPv4 for an IPv4-mapped IPv6 one), or None."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return address


def limit_key(remote: str, ipv6_prefix: int = 64) -> str:
    """The key every per-address limit counts ``remote`` under: an IPv4 address as itself,
    an IPv6 address as its ``/ipv6_prefix`` network. One household is given a whole IPv6
    prefix (a /64 or more for Japanese IPoE lines) and picks a fresh address from it at
    will, so counting full IPv6 addresses would be no limit at all. Anything that is not an
    IP address (a Unix socket's peer) is its own key."""
    address = peer_address(remote)
    if address is None:
        return remote
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    return str(ipaddress.IPv6Network((address, ipv6_prefix), strict=False))


def is_loopback(remote: str | None) -> bool:
    """Whether a peer address is a loopback one."""
    address = peer_address(remote)
    return address is not None and address.is_loopback


def allowed(remote: str | None, networks: Sequence[Network]) -> bool:
    """Whether a peer address is inside one of ``networks``."""
    address = peer_address(remote)
    return address is not None and any(address in net for net in networks)


def through_untrusted_proxy(request: web.Request) -> bool:
    """Whether ``request`` carries forwarding headers that no trusted proxy vouched for:
    its ``remote`` is then a proxy's, not the client's."""
    return any(h in request.headers for h in FORWARDING_HEADERS)
