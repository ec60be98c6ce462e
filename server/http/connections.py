"""TCP connections before HTTP: a header-read timeout and a per-address connection cap.

When Hiroba faces browsers itself (its own TLS, no reverse proxy), nothing in front of it
bounds what a slow client may hold. aiohttp keeps a connection that never completes its
request headers until the keep-alive timeout (75 s under ``run_app``, an hour with a bare
``AppRunner``), and one address may open connections until the process runs out of file
descriptors (docs/security.md, issue 14 finding 8). :class:`ConnectionGuard` wraps the
protocol factory of the listening socket:

- **per-address cap**: a connection from an address (IPv4 address, IPv6 ``/ipv6_prefix``:
  :func:`server.common.networks.limit_key`) that already holds ``per_address`` open
  connections is aborted as it is accepted, before any TLS handshake or HTTP parsing costs
  anything. A trusted proxy's address (``trusted_proxies``) is exempt: every browser
  behind it shares that address, and the proxy bounds its own clients.
- **header-read timeout**: a connection that has not sent complete request headers (the
  blank line ending them) within ``header_timeout`` seconds of being accepted, TLS
  handshake included, is aborted. Only the first request of a connection is timed:
  after it aiohttp's keep-alive timeout governs idle connections, and a WebSocket or a
  long poll streams for as long as it lives.

TLS is started by the guard itself (``loop.start_tls``) after the cap has been checked,
so that a refused connection costs no handshake. :class:`GuardedSite` is the aiohttp site
``hiroba serve`` listens with; :func:`raise_file_limit` lifts the soft descriptor limit
to the hard one at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import ssl
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from server.common.networks import Network, allowed, limit_key, parse_networks

log = logging.getLogger(__name__)

#: The bytes that end a request's headers.
_END_OF_HEADERS = b"\r\n\r\n"
#: The most bytes kept while TLS is being set up (more than any request's headers).
_EARLY_MAX = 256 * 1024
#: At most one warning about refused connections per this many seconds (an attack must
#: not flood the log).
_WARN_EVERY_S = 60.0


@dataclass
class ConnectionCounts:
    """What the guard has done since start (``/metrics``)."""

    refused: int = 0
    timed_out: int = 0


class ConnectionGuard:
    """Per-address open-connection counts and the header-read timer of one server."""

    def __init__(
        self, *, header_timeout: float, per_address: int, trusted_proxies: Sequence[str] = (),
        ipv6_prefix: int = 64,
    ) -> None:
        """``per_address`` 0: no cap. ``header_timeout`` 0: no timeout."""
        self.header_timeout = header_timeout
        self.per_address = per_address
        self.exempt: tuple[Network, ...] = parse_networks(trusted_proxies)
        self.ipv6_prefix = ipv6_prefix
        #: limit key → open connections (keys with none are removed).
        self.open: dict[str, int] = {}
        self.counts = ConnectionCounts()
        self._live: set[_Guarded] = set()
        self._warned = -_WARN_EVERY_S

    def wrap(
        self, factory: Callable[[], asyncio.Protocol], ssl_context: ssl.SSLContext | None
    ) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for ``loop.create_server`` (without its ``ssl``: the guard
        starts TLS itself) that hands each admitted connection to ``factory``'s protocol."""

        def make() -> asyncio.Protocol:
            return _Guarded(self, factory, ssl_context)

        return make

    def admit(self, peer: str) -> str | None:
        """The limit key ``peer`` is counted under, now counted once more; None when it
        already holds its share (then it is not counted)."""
        key = limit_key(peer, self.ipv6_prefix)
        if self.per_address <= 0 or allowed(peer, self.exempt):
            self.open[key] = self.open.get(key, 0) + 1
            return key
        held = self.open.get(key, 0)
        if held >= self.per_address:
            self.counts.refused += 1
            now = time.monotonic()
            if now - self._warned >= _WARN_EVERY_S:
                self._warned = now
                log.warning(
                    "closing new connections from %s: it holds %d (tcp_connections_per_address;"
                    " a reverse proxy must be listed in trusted_proxies)", key, held)
            return None
        self.open[key] = held + 1
        return key

    def release(self, key: str) -> None:
        """One connection counted under ``key`` has closed."""
        held = self.open.get(key, 0) - 1
        if held > 0:
            self.open[key] = held
        else:
            self.open.pop(key, None)

    def close_all(self) -> None:
        """Abort every connection still waiting for its headers (shutdown: aiohttp closes
        the ones it knows of, which are those past their handshake)."""
        for guarded in list(self._live):
            guarded.abort()


class _Guarded(asyncio.Protocol):
    """One accepted connection: counted, timed until its headers are complete, then
    passed through to aiohttp's request handler."""

    def __init__(
        self, guard: ConnectionGuard, factory: Callable[[], asyncio.Protocol],
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.guard = guard
        self.factory = factory
        self.ssl_context = ssl_context
        self.key: str | None = None
        self.raw: asyncio.Transport | None = None
        self.inner: asyncio.Protocol | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.headers_done = False
        #: The last bytes seen, for an end of headers split across two reads.
        self.tail = b""
        self.tls: asyncio.Task[None] | None = None
        #: What arrived between the handshake and ``start_tls`` returning (a client
        #: sends its request at once), handed over with the connection.
        self.early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.raw = transport
        peer = transport.get_extra_info("peername")
        host = peer[0] if isinstance(peer, tuple) and peer else str(peer or "")
        self.key = self.guard.admit(host)
        if self.key is None:
            transport.abort()  # no handshake, no parsing: the cheapest answer
            return
        self.guard._live.add(self)
        if self.guard.header_timeout > 0:
            self.timer = asyncio.get_running_loop().call_later(
                self.guard.header_timeout, self._expire)
        if self.ssl_context is None:
            self._hand_over(transport)
        else:
            self.tls = asyncio.get_running_loop().create_task(self._start_tls(transport))

    async def _start_tls(self, transport: asyncio.Transport) -> None:
        loop = asyncio.get_running_loop()
        assert self.ssl_context is not None
        try:
            secure = await loop.start_tls(
                transport, self, self.ssl_context, server_side=True,
                ssl_handshake_timeout=self.guard.header_timeout or None)
        except Exception:  # (a bad handshake, a timeout, the peer gone: all the same here)
            transport.abort()
            # asyncio tells the protocol nothing of a connection lost in its handshake.
            self._release()
            return
        if secure is None or transport.is_closing() or self.key is None:
            self._release()  # lost during the handshake (asyncio returned no transport)
            return
        self._hand_over(secure)

    def _hand_over(self, transport: asyncio.Transport) -> None:
        self.inner = self.factory()
        self.inner.connection_made(transport)
        early, self.early = self.early, []
        for data in early:
            if self.inner is None:
                break  # (closed while handing over)
            self.inner.data_received(data)

    def _expire(self) -> None:
        self.timer = None
        if not self.headers_done:
            self.guard.counts.timed_out += 1
            self.abort()

    def abort(self) -> None:
        if self.raw is not None:
            self.raw.abort()

    def data_received(self, data: bytes) -> None:
        if not self.headers_done:
            seen = self.tail + data
            if _END_OF_HEADERS in seen or b"\n\n" in seen:  # (aiohttp takes bare LFs too)
                self.headers_done = True
                if self.timer is not None:
                    self.timer.cancel()
                    self.timer = None
            else:
                self.tail = seen[-3:]
        if self.inner is not None:
            self.inner.data_received(data)
        elif sum(map(len, self.early)) + len(data) > _EARLY_MAX:
            self.abort()
        else:
            self.early.append(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def _release(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.key is not None:
            self.guard.release(self.key)
            self.key = None
        self.guard._live.discard(self)
        self.early = []

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        if self.tls is not None and not self.tls.done():
            self.tls.cancel()
        inner, self.inner = self.inner, None
        if inner is not None:
            inner.connection_lost(exc)


class GuardedSite(web.BaseSite):
    """An aiohttp TCP site whose connections pass through a :class:`ConnectionGuard`."""

    __slots__ = ("_bound_port", "_guard", "_host", "_port")

    def __init__(
        self, runner: web.BaseRunner, host: str | None, port: int, guard: ConnectionGuard, *,
        ssl_context: ssl.SSLContext | None = None, backlog: int = 128,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host = host
        self._port = port
        self._guard = guard
        self._bound_port = port

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host or '0.0.0.0'}:{self._bound_port}"

    @property
    def port(self) -> int:
        """The port listened on (the bound one when 0 was asked for)."""
        return self._bound_port

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._guard.wrap(server, self._ssl_context), self._host, self._port,
            backlog=self._backlog, reuse_address=True)
        if self._server.sockets:
            self._bound_port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        await super().stop()
        self._guard.close_all()


def raise_file_limit() -> tuple[int, int]:
    """Lift this process's soft limit on open files to its hard limit (each connection is
    a descriptor; the common soft 1,024 is exhausted by a thousand slow clients) and log
    it. Returns (soft, hard) as they are afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.info("open-file limit raised from %d to %d (hard limit)", soft, target)
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)
    else:
        log.info("open-file limit: %d", soft)
    if soft < 4096:
        log.warning("open-file limit %d is low for a public server: raise LimitNOFILE "
                    "(docs/operations.md)", soft)
    return soft, hard


#: The app's guard (made by ``create_app`` from the settings; read by :func:`listening`
#: and ``/metrics``).
CONNECTION_GUARD_KEY = web.AppKey("connection_guard", ConnectionGuard)
#: Seconds an idle kept-alive connection is kept (as aiohttp's ``run_app``).
KEEPALIVE_S = 75.0
#: Seconds a stopping server waits for requests still running (aiohttp's default is 60).
SHUTDOWN_S = 5.0


@contextlib.asynccontextmanager
async def listening(
    app: web.Application, host: str | None, port: int,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[GuardedSite]:
    """``app`` served on ``host:port`` through its :data:`CONNECTION_GUARD_KEY` guard
    (startup run on entry, shutdown and clean-up on exit): how ``hiroba serve`` runs."""
    # shutdown_timeout: the app's shutdown closes every socket (clients reconnect at once);
    # what is left is a download or a long poll, which must not hold a restart for
    # aiohttp's default minute.
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None,
                           keepalive_timeout=KEEPALIVE_S, shutdown_timeout=SHUTDOWN_S)
    await runner.setup()
    try:
        site = GuardedSite(runner, host, port, app[CONNECTION_GUARD_KEY],
                           ssl_context=ssl_context)
        await site.start()
        yield site
    finally:
        await runner.cleanup()


async def serve(app: web.Application, host: str | None, port: int,
                ssl_context: ssl.SSLContext | None) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then shut it down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with listening(app, host, port, ssl_context):
        await stop.wait()
