"""Keyframe requests to an identity camera are folded to one per interval, none lost."""

from __future__ import annotations

import asyncio

from server.identity.relay import KeyframeGate


async def test_requests_within_the_interval_become_one_at_its_end() -> None:
    now = [100.0]
    sent: list[float] = []
    gate = KeyframeGate(lambda: sent.append(now[0]), 0.05, clock=lambda: now[0])
    gate.request()
    assert sent == [100.0], "the first request goes at once"
    for _ in range(20):  # twenty viewers asking together
        gate.request()
    assert len(sent) == 1 and gate.folded == 20
    now[0] += 0.05
    await asyncio.sleep(0.08)
    assert len(sent) == 2, "one trailing request, not twenty"
    assert gate.sent == 2
    now[0] += 1.0
    gate.request()
    assert len(sent) == 3
    gate.close()


async def test_a_closed_gate_sends_nothing_more() -> None:
    sent: list[int] = []
    gate = KeyframeGate(lambda: sent.append(1), 0.05)
    gate.request()
    gate.request()
    gate.close()
    await asyncio.sleep(0.08)
    assert sent == [1]
