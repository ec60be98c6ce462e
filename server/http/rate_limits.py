"""Per-address rate limits of the expensive HTTP routes (issue 14 finding 5).

Building minutes, an export or the archive list costs CPU and disk; recording files are
large. Anyone may ask for the public ones, so one address must not be able to keep the
server busy with them. Each route class has a token bucket per client address
(:func:`server.common.networks.limit_key`: an IPv4 address, an IPv6 ``/ipv6_prefix``
network; behind a trusted proxy the forwarded address, which
:mod:`server.http.forwarded` has put in ``request.remote`` before this middleware runs):
a burst of ``per_minute`` requests, refilled at ``per_minute`` a minute. A request over it
gets ``429 rate_limited`` with ``Retry-After`` (whole seconds until a token is back),
before its handler runs. Which routes belong to which class is :data:`ROUTE_CLASSES`,
keyed by the route's pattern, so that a new expensive route is one line here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from rooms.errors import Reason
from server.common.networks import limit_key
from server.http.routes import error_response

HEAVY = "heavy"
MEDIA = "media"

#: Route pattern (aiohttp's canonical form) → the class whose budget it draws from.
ROUTE_CLASSES: Final[Mapping[str, str]] = MappingProxyType({
    "/api/recordings/{id}/minutes": HEAVY,
    "/api/recordings": HEAVY,  # the archive list
    "/api/search": HEAVY,  # the archive search (issue 17)
    "/api/rooms/{room}/export/{file}": HEAVY,
    "/api/rooms/{room}/audit": HEAVY,
    "/api/recordings/{id}/files/{name}": MEDIA,
    "/avatars/{id}.vrm": MEDIA,  # approved VRM avatars, up to avatar_max_bytes each
})
#: Buckets untouched for this long are full again and are dropped (bounded memory).
_IDLE_S = 120.0
#: How many requests between two sweeps of idle buckets.
_SWEEP_EVERY = 1024


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimiter:
    """One token bucket per (class, address); ``per_minute`` of each class."""

    per_minute: Mapping[str, float]
    ipv6_prefix: int = 64
    clock: Callable[[], float] = time.monotonic
    buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)
    #: Requests refused per class since start (``/metrics``).
    refused: dict[str, int] = field(default_factory=dict)
    _seen: int = 0

    def take(self, kind: str, remote: str) -> float:
        """0 when ``remote`` may make a ``kind`` request now (a token is taken), else the
        seconds until it may."""
        rate = self.per_minute[kind]
        now = self.clock()
        self._seen += 1
        if self._seen % _SWEEP_EVERY == 0:
            self._sweep(now)
        key = (kind, limit_key(remote, self.ipv6_prefix))
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = _Bucket(rate, now)
        else:
            bucket.tokens = min(rate, bucket.tokens + (now - bucket.at) * rate / 60)
            bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        self.refused[kind] = self.refused.get(kind, 0) + 1
        return (1 - bucket.tokens) * 60 / rate

    def _sweep(self, now: float) -> None:
        for key in [k for k, b in self.buckets.items() if now - b.at > _IDLE_S]:
            del self.buckets[key]


def rate_limit_middleware(limiter: RateLimiter) -> Middleware:
    """The middleware applying ``limiter`` to :data:`ROUTE_CLASSES`; after the
    forwarded-address middleware."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route
        resource = route.resource
        kind = ROUTE_CLASSES.get(resource.canonical) if resource is not None else None
        if kind is not None and request.method in ("GET", "HEAD"):
            wait = limiter.take(kind, request.remote or "")
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                response = error_response(
                    429, Reason.RATE_LIMITED,
                    f"too many requests from your address; try again in {seconds} s")
                response.headers["Retry-After"] = str(seconds)
                return response
        return await handler(request)

    return middleware
