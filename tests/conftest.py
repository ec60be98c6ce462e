"""Shared fixtures: a real Hiroba server on 127.0.0.1 and real socket.io clients."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web

from server.app import create_app
from server.config.settings import Settings, load_settings
from server.tracking.pipeline import PipelineFactory

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
#: The peers the tests drive (shared with the benchmarks): the test's work, as tests/ is.
CLIENTS = ROOT / "bench" / "clients"
#: One event-loop step longer than this fails an integration test (``no_blocking``).
SLOW_STEP_SECONDS = 0.5
#: Not the server's work: the test clients' socket.io / engine.io read loops, and
#: pytest-asyncio's fixture set-up and tear-down (building the app, before it serves).
NOT_SERVER = ("engineio/async_client.py", "socketio/async_client.py", "pytest_asyncio/plugin.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], within: float = 5.0, what: str = "condition"
) -> None:
    """Wait until ``check()`` holds (polled every 50 ms), failing after ``within`` seconds:
    what a test awaits instead of sleeping for a guessed time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not met within {within} s")
        await asyncio.sleep(0.05)


class LoopBlockWatch(logging.Handler):
    """Collects asyncio's debug-mode warnings about callbacks that held the loop too long."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.slow: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # The test's own tasks are the test's work (hypothesis drawing payloads, a client
        # decoding what came back, on a loaded machine), not the server's: the server runs
        # in tasks of its own, whose coroutines live outside tests/.
        if "coro=<test_" in message:
            return
        where = re.search(r"running at (\S+?):\d+", message)
        if where is not None and (
            any(Path(where.group(1)).is_relative_to(mine) for mine in (TESTS, CLIENTS))
            or where.group(1).endswith(NOT_SERVER)
        ):
            return
        if "took" in message and ("Executing" in message or "callback" in message.lower()):
            self.slow.append(message)


@pytest.fixture
async def no_blocking() -> AsyncIterator[None]:
    """Fail the test if anything blocks the event loop for more than half a second.

    250 ms was below this 2-core machine's noise in whole-suite runs: single steps of
    255-312 ms came from the server's engine.io writer and aiortc's connection set-up as
    well as from the test's side (docs/performance.md, "Test suite"). A handler that
    really blocks (a file, a tracker, a hash on the loop) still shows.
    """
    loop = asyncio.get_running_loop()
    # The whole suite runs in one process whose heap grows to millions of objects (every
    # earlier test's modules, Playwright, models): a full collection of it, triggered in
    # whatever step allocates next, took about half a second late in clean-clone runs and
    # was charged to that step (an aiortc ICE task, 0.516 s). Those objects are the
    # suite's, not the server's: frozen, collections during the test scan only what the
    # test made, as a served process's would. (No collection first: it would cost every
    # test that time; what is frozen is collected after ``unfreeze``.)
    gc.freeze()
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_STEP_SECONDS
    watch = LoopBlockWatch()
    logger = logging.getLogger("asyncio")
    logger.addHandler(watch)
    try:
        yield
    finally:
        logger.removeHandler(watch)
        loop.set_debug(False)
        gc.unfreeze()
    assert not watch.slow, f"the event loop was blocked: {watch.slow}"


class Server:
    """A running server: its URL and its live application."""

    def __init__(self, app: web.Application, url: str, settings: Settings) -> None:
        self.app = app
        self.url = url
        self.settings = settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return replace(
        load_settings({}),
        data_dir=tmp_path / "data",
        port=free_port(),
        tick_hz=10.0,
        # Tests negotiate many peers on one socket in a second; the offer budget itself
        # (offers_per_second) is tested at its defaults in test_audio_budget.py.
        offers_burst=1000.0,
        # The tests meet in the demo's plaza, consultation and committee: asked for, as
        # `make run` asks (a city's server starts without them).
        seed_demo=True,
    )


@contextlib.asynccontextmanager
async def running_server(
    settings: Settings, *, pipeline_factory: PipelineFactory | None = None
) -> AsyncIterator[Server]:
    """The one way the tests start a server: ``create_app(settings)`` listening on
    ``127.0.0.1:settings.port``, stopped (its clean-up run) when the block ends.

    As ``hiroba serve`` runs it (server/cli/main.py): a dropped connection cancels its
    handler. A test that needs another server makes other settings (``replace``), not
    another start-up: a restart on the same data is a second block with the same
    settings; ``pipeline_factory`` stands in for MediaPipe in server-side tracking. A
    start that fails (settings the server refuses) raises out of the ``async with``.
    """
    app = create_app(settings, pipeline_factory=pipeline_factory)
    runner = web.AppRunner(app, handler_cancellation=True)
    try:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", settings.port).start()
        yield Server(app, f"http://127.0.0.1:{settings.port}", settings)
    finally:
        await runner.cleanup()


@pytest.fixture
async def server(settings: Settings, no_blocking: None) -> AsyncIterator[Server]:
    async with running_server(settings) as running:
        yield running


class Client:
    """A real socket.io client that records every delta it receives."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.deltas: list[dict[str, Any]] = []
        self.got_delta = asyncio.Event()
        self.left = asyncio.Event()
        self.sio.on("room:delta", self._on_delta)
        self.sio.on("disconnect", self._on_disconnect)

    async def _on_disconnect(self, *reason: Any) -> None:
        self.left.set()

    async def _on_delta(self, data: dict[str, Any]) -> None:
        self.deltas.append(data)
        self.got_delta.set()

    async def connect(self) -> Client:
        await self.sio.connect(self.url, transports=["websocket"], wait_timeout=5)
        return self

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, timeout=5)

    async def join(self, name: str, room: str = "plaza", **extra: Any) -> dict[str, Any]:
        ack = await self.call("join", {"name": name, "room": room, "lang": "ja", **extra})
        assert ack["ok"], ack
        return ack  # type: ignore[no-any-return]

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = 3.0
    ) -> dict[str, Any]:
        """The first delta (already received or coming) for which ``predicate`` holds."""
        deadline = asyncio.get_running_loop().time() + within
        seen = 0
        while True:
            for delta in self.deltas[seen:]:
                if predicate(delta):
                    return delta
            seen = len(self.deltas)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no matching delta within {within}s: {self.deltas[-3:]}")
            self.got_delta.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.got_delta.wait(), remaining)

    async def ended(self, within: float = 2.5) -> bool:
        """Whether the server has ended this socket, waiting up to ``within`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.left.wait(), within)
        return not self.sio.connected

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


@pytest.fixture
async def clients(server: Server) -> AsyncIterator[Callable[[], Any]]:
    made: list[Client] = []

    async def make() -> Client:
        client = await Client(server.url).connect()
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


@pytest.fixture
async def made() -> AsyncIterator[list[Client]]:
    """Clients a test makes through the meeting helpers (tests/meetings.py), closed after."""
    clients: list[Client] = []
    yield clients
    for c in clients:
        await c.close()
