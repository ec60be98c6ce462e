"""Slow and piled-up TCP connections (issue 14 finding 8), with raw sockets against a real
server listening as ``hiroba serve`` does (server/http/connections.py ``listening``).

A connection that has not sent complete request headers within ``http_header_timeout``
is closed (silent, or dribbling a header line at a time); a connection from an address
already holding ``tcp_connections_per_address`` open ones is closed as it is accepted,
while other addresses (and that address once it holds fewer) are served; a trusted
proxy's address is never capped. Every count is small and every wait bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import ssl
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp

from server.app import create_app
from server.config.settings import Settings
from server.config.tls import make_self_signed
from server.http.connections import (
    CONNECTION_GUARD_KEY,
    ConnectionGuard,
    listening,
    raise_file_limit,
)

CAP = 5
#: How long a closed connection may take to be seen closed (the defences act at once or
#: after the test's short timeout; without them nothing closes for 75 s).
WITHIN = 3.0
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"


@contextlib.asynccontextmanager
async def serving(settings: Settings, tls: ssl.SSLContext | None = None
                  ) -> AsyncIterator[ConnectionGuard]:
    app = create_app(settings)
    async with listening(app, "127.0.0.1", settings.port, tls):
        yield app[CONNECTION_GUARD_KEY]


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect(port: int, source: str = "127.0.0.1") -> Conn:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def closed(conn: Conn, within: float = WITHIN) -> bool:
    """Whether the server closes ``conn`` (EOF or reset) within ``within`` seconds, reading
    and discarding whatever it answers first."""
    reader, _ = conn
    try:
        async with asyncio.timeout(within):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True


async def answers(conn: Conn) -> bool:
    """Whether a complete request on ``conn`` gets a 200."""
    reader, writer = conn
    writer.write(REQUEST)
    async with asyncio.timeout(WITHIN):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)  # the whole answer: the next one starts clean
    return head.startswith(b"HTTP/1.1 200")


def done(*conns: Conn) -> None:
    for _, writer in conns:
        writer.transport.abort()


async def test_connections_without_complete_headers_are_closed(settings: Settings) -> None:
    settings = replace(settings, http_header_timeout=0.5, tcp_connections_per_address=CAP)
    async with serving(settings) as guard:
        silent = await connect(settings.port)
        dribbling = await connect(settings.port)
        prompt = await connect(settings.port)
        _, writer = dribbling
        writer.write(b"GET / HTTP/1.1\r\n")
        assert await answers(prompt)  # complete headers in time: served...

        async def dribble() -> None:
            for n in range(10):  # a header line every 0.2 s: never complete
                await asyncio.sleep(0.2)
                if writer.is_closing():
                    return
                writer.write(f"X-Slow-{n}: 1\r\n".encode())

        task = asyncio.create_task(dribble())
        assert await closed(silent)
        assert await closed(dribbling)
        task.cancel()
        assert guard.counts.timed_out == 2
        # ...and, past its headers, kept alive for its next request after the timeout.
        assert await answers(prompt)
        done(silent, dribbling, prompt)


async def test_one_address_is_capped_and_others_are_served(settings: Settings) -> None:
    # A long header timeout: here only the cap may close anything.
    settings = replace(settings, http_header_timeout=30.0, tcp_connections_per_address=CAP,
                       trusted_proxies=("127.0.0.3/32",))
    async with serving(settings) as guard:
        held = [await connect(settings.port) for _ in range(CAP)]
        extra = [await connect(settings.port) for _ in range(3)]
        for conn in extra:
            assert await closed(conn), "a connection beyond the cap was kept"
        assert guard.counts.refused == 3
        # Another address is served meanwhile, and the held connections still work.
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=connector) as http, http.get(
            f"http://127.0.0.1:{settings.port}/healthz"
        ) as r:
            assert r.status == 200
        assert await answers(held[0])
        # Once the address holds fewer, it is served again.
        done(held.pop())
        await asyncio.sleep(0.1)  # (the server sees the close)
        again = await connect(settings.port)
        assert await answers(again)
        # A trusted proxy's address carries everyone behind it: never capped.
        proxy = [await connect(settings.port, "127.0.0.3") for _ in range(CAP + 3)]
        assert await answers(proxy[-1])
        assert guard.counts.refused == 3
        done(*held, *extra, again, *proxy)
    assert guard.open == {}  # every connection released


async def test_over_tls_a_silent_connection_is_closed_and_nothing_stays_counted(
    settings: Settings, tmp_path: Path,
) -> None:
    # Hiroba's own TLS: the timer covers the handshake, and a connection lost during it
    # (asyncio tells no protocol of that) is no longer counted.
    cert, key = make_self_signed(tmp_path / "cert.pem", tmp_path / "key.pem", [], days=1)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    settings = replace(settings, http_header_timeout=0.5, tcp_connections_per_address=CAP)
    async with serving(settings, tls) as guard:
        silent = await connect(settings.port)
        async with aiohttp.ClientSession() as http, http.get(
            f"https://127.0.0.1:{settings.port}/healthz", ssl=False
        ) as r:
            assert r.status == 200 and r.url.scheme == "https"
        assert await closed(silent)
        assert guard.counts.timed_out == 1
        done(silent)
        await asyncio.sleep(0.1)  # (the server sees the HTTPS client go)
        assert guard.open == {}


def test_the_file_limit_is_raised_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:  # make room to watch it rise (lowering the soft limit is allowed)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 1024) // 2, hard))
    raised, _ = raise_file_limit()
    assert raised == hard == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
