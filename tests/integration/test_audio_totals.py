"""The audio plane's totals for /metrics: counters that do not fall when a listener leaves."""

from __future__ import annotations

import pytest

from bench.clients.audio_peers import Listener, Tone, speak
from server.audio.plane import AudioPlane, AudioSettings
from server.rtc.ice import rtc_configuration, use_host_addresses
from tests.conftest import eventually
from tests.integration.test_audio_plane import stop_draining

CONFIG = rtc_configuration([])


async def test_packet_totals_survive_a_listener_leaving(monkeypatch: pytest.MonkeyPatch) -> None:
    use_host_addresses(["127.0.0.1"])
    plane = AudioPlane(lambda: CONFIG, AudioSettings(slots=3, proximity_n=2))
    listener = Listener(CONFIG)
    pc = None
    try:
        assert plane.totals() == (0, 0, 0, 0)
        plane.set_speakers("hall", ["chair"])
        pc = await speak(CONFIG, plane.open_uplink, "chair", "hall", Tone(500))
        await listener.connect(plane.open_listener, "l0", "hall")
        await eventually(lambda: listener.frames > 20 and plane.totals()[2] > 20,
                         within=10, what="the listener hears the speaker")
        assert plane.totals()[:2] == (1, 1)
        # The listener stops taking packets: the plane drops them, and counts them.
        stop_draining(plane, "l0", monkeypatch)
        await eventually(lambda: plane.totals()[3] > 20, within=10, what="packets dropped")

        # Closing the listener adds its counts to the totals before anything else runs:
        # exactly what they were, no packet lost from either count.
        _, _, forwarded, dropped = plane.totals()
        await plane.close_listener("l0")
        assert plane.totals() == (1, 0, forwarded, dropped)
        # The speaker goes on; with nobody listening, nothing more is counted.
        packets = plane.stats()["uplinks"]["chair"]["packets"]
        await eventually(lambda: plane.stats()["uplinks"]["chair"]["packets"] > packets + 10,
                         what="the speaker's packets still arrive")
        assert plane.totals() == (1, 0, forwarded, dropped)
    finally:
        await listener.close()
        if pc is not None:
            await pc.close()
        await plane.close()
        use_host_addresses([])
