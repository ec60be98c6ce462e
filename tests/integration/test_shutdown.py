"""A stopping server does not wait on a peer that will not close.

A cluster node or a restarted server hands its people to another node: a WebRTC peer
whose close hangs must not keep the process (and the systemd restart) waiting. Each
shutdown step is bounded (server/app.py ``SHUTDOWN_STEP_SECONDS``) and requests still
running get ``SHUTDOWN_S`` (server/http/connections.py), not aiohttp's default minute.
"""

from __future__ import annotations

import asyncio
import time

from server.app import AUDIO_KEY, SHUTDOWN_STEP_SECONDS, TRACKING_KEY, create_app
from server.config.settings import Settings
from server.http.connections import listening


async def test_a_hanging_peer_does_not_hold_the_shutdown(settings: Settings) -> None:
    app = create_app(settings)
    stopped: list[str] = []

    async def hangs() -> None:
        stopped.append("hung")
        await asyncio.Event().wait()  # a peer whose close never returns

    app[AUDIO_KEY].stop = hangs  # type: ignore[method-assign]
    app[TRACKING_KEY].stop = hangs  # type: ignore[method-assign]
    began = 0.0

    async def serve_and_stop() -> None:
        nonlocal began
        async with listening(app, "127.0.0.1", settings.port):
            began = time.monotonic()

    try:
        await asyncio.wait_for(serve_and_stop(), 15)
    except TimeoutError:
        raise AssertionError("the shutdown waited on the hanging peer") from None
    took = time.monotonic() - began
    assert stopped == ["hung", "hung"], "both steps were started"
    assert took < 2 * SHUTDOWN_STEP_SECONDS + 2.0, f"shutdown took {took:.1f} s"
