"""The audio plane's totals for /metrics: counters that do not fall when a listener leaves."""

from __future__ import annotations

import asyncio

from bench.clients.audio_peers import Listener, Tone, speak
from server.audio.plane import AudioPlane, AudioSettings
from server.rtc.ice import rtc_configuration, use_host_addresses

CONFIG = rtc_configuration([])


async def test_packet_totals_survive_a_listener_leaving() -> None:
    use_host_addresses(["127.0.0.1"])
    plane = AudioPlane(lambda: CONFIG, AudioSettings(slots=3, proximity_n=2))
    listener = Listener(CONFIG)
    pc = None
    try:
        assert plane.totals() == (0, 0, 0, 0)
        plane.set_speakers("hall", ["chair"])
        pc = await speak(CONFIG, plane.open_uplink, "chair", "hall", Tone(500))
        await listener.connect(plane.open_listener, "l0", "hall")
        await asyncio.sleep(1.5)
        uplinks, listeners, forwarded, dropped = plane.totals()
        assert (uplinks, listeners) == (1, 1)
        assert forwarded > 20 and dropped >= 0

        await plane.close_listener("l0")
        after = plane.totals()
        assert after[:2] == (1, 0)
        assert after[2] >= forwarded and after[3] >= dropped
    finally:
        await listener.close()
        if pc is not None:
            await pc.close()
        await plane.close()
        use_host_addresses([])
