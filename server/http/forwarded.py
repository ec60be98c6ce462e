"""Behind a reverse proxy: the browser's address and scheme, from a proxy we trust.

Behind nginx every TCP peer is the proxy, so without this the per-address login limit
counts all citizens together, the session cookie lacks ``Secure`` and ``/api/motion/stats``
believes everyone is on loopback. With ``trusted_proxies`` set, a request whose TCP peer
is inside those networks is read as the proxy reports it:

- the address is taken from ``X-Forwarded-For`` walking from the right (the entry the
  nearest proxy appended) past every trusted proxy; the first address that is not a
  trusted proxy is the browser. Entries further left were written by the browser itself
  and are never believed.
- the scheme is ``X-Forwarded-Proto``'s last value, when it is ``http`` or ``https``.

A request from any other peer keeps its TCP address and scheme, whatever headers it
carries. A trusted proxy's header whose last entry is not an address is refused (400).
The request is cloned with the resolved ``remote`` and ``scheme`` and without the
forwarding headers, so every handler after the middleware (``request.remote``,
``request.secure``) sees the browser as if it were a direct peer.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict

from rooms.errors import Reason
from server.common.networks import (
    FORWARDING_HEADERS,
    Network,
    allowed,
    parse_networks,
    peer_address,
)
from server.http.routes import error_response

_SCHEMES = frozenset({"http", "https"})


def _address(text: str) -> str | None:
    """``text`` as a normalised IP address, or None. Accepts ``[v6]`` and ``v4:port``."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    address = peer_address(text)
    return None if address is None else str(address)


def client_address(
    peer: str, forwarded_for: str | None, trusted: Sequence[Network]
) -> str | None:
    """The browser's address for a request from trusted proxy ``peer`` (see module doc).

    If the header is missing the peer itself is the client. If an entry further left cannot
    be read, the last address a trusted proxy vouched for is used (a browser cannot choose
    it). None if the rightmost entry, the proxy's own, cannot be read: the proxy is
    misconfigured (passing the browser's header on instead of appending to it), and
    falling back to the proxy's address would give the browser the proxy's rights.
    """
    client = peer
    if not forwarded_for:
        return client
    for hop, entry in enumerate(reversed(forwarded_for.split(","))):
        address = _address(entry)
        if address is None:
            return None if hop == 0 else client
        client = address
        if not allowed(address, trusted):
            return client
    return client  # every hop was a trusted proxy: the leftmost is as far as we can see


def client_scheme(current: str, forwarded_proto: str | None) -> str:
    """The scheme the browser used, as the nearest proxy reports it."""
    if not forwarded_proto:
        return current
    last = forwarded_proto.split(",")[-1].strip().lower()
    return last if last in _SCHEMES else current


def forwarded_client_middleware(trusted_proxies: Sequence[str]) -> Middleware:
    """The middleware for ``settings.trusted_proxies`` (CIDR strings); put it first."""
    trusted = parse_networks(trusted_proxies)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.remote
        if not trusted or peer is None or not allowed(peer, trusted):
            return await handler(request)
        remote = client_address(peer, request.headers.get("X-Forwarded-For"), trusted)
        if remote is None:
            return error_response(
                400, Reason.BAD_PAYLOAD,
                "X-Forwarded-For from the proxy does not end with an address: the proxy "
                "must append the client's address ($proxy_add_x_forwarded_for in nginx)",
            )
        scheme = client_scheme(request.scheme, request.headers.get("X-Forwarded-Proto"))
        # The forwarding headers are used up: without them the loopback- and
        # allowlist-only endpoints judge the browser's address like any direct peer's.
        headers = CIMultiDict(request.headers)
        for name in FORWARDING_HEADERS:
            headers.popall(name, None)
        return await handler(request.clone(remote=remote, scheme=scheme, headers=headers))

    return middleware
