"""A task that runs an async callable at a fixed rate, for every tick of the server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    """Calls ``tick()`` every ``1 / hz`` seconds on the running loop.

    A tick that fails is logged and the next one runs. A tick that starts late keeps the
    next on the original grid; after a pause of more than a period (the loop was busy, the
    machine suspended) missed ticks are skipped rather than run in a burst.
    """

    def __init__(self, name: str, hz: float, tick: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self.period = 1.0 / hz
        self.tick = tick
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            deadline += self.period
            try:
                await self.tick()
            except Exception:
                log.exception("%s failed", self.name)
            delay = deadline - loop.time()
            if delay < -self.period:  # a whole tick or more behind: skip, keep no debt
                deadline = loop.time()
            # A little late (the loop was busy, a timer fired late) runs at once and stays
            # on the grid: resetting the deadline each time would slip the phase, and the
            # rate, by the lateness every tick.
            await asyncio.sleep(max(0.0, delay))
