"""The fixed-rate ticker (server/common/periodic.py): a tick that overruns its period is
made up for from the grid, not by moving the grid (which slipped the motion plane's phase
and rate by the overrun every time), and a stall of more than a period is skipped."""

from __future__ import annotations

import asyncio
import time

from server.common.periodic import Periodic


async def count_ticks(work: list[float], hz: float, seconds: float) -> int:
    """How many ticks run in ``seconds`` when tick i blocks the loop ``work[i % n]`` s."""
    n = 0

    async def tick() -> None:
        nonlocal n
        time.sleep(work[n % len(work)])  # noqa: ASYNC251 -- blocking on purpose: a busy loop
        n += 1

    ticker = Periodic("test", hz, tick)
    ticker.start()
    await asyncio.sleep(seconds)
    await ticker.stop()
    return n


async def test_an_overrun_is_made_up_and_the_rate_kept() -> None:
    # 50 Hz, every other tick 30 ms long: 15 ms a tick on average, under the 20 ms period.
    # Kept on the grid: 50 a second; re-based after each overrun, it fell to 40.
    assert await count_ticks([0.0, 0.030], 50.0, 1.0) >= 46


async def test_a_long_stall_is_skipped_not_replayed() -> None:
    # One 300 ms stall at 50 Hz: the 15 missed ticks are not run in a burst after it.
    assert await count_ticks([0.300] + [0.0] * 1000, 50.0, 0.6) <= 18
