"""A voice through a TURN relay in Chromium (docs/security.md, "Behind TLS, with TURN").

Debian's coturn runs on loopback with shared-secret credentials (``use-auth-secret``), as
the deployment guide sets it up. Both pages are forced to relay-only ICE, which is what a
citizen on a network that lets nothing through but the TURN server gets: the voice can
only arrive if the join acknowledgement's credentials are right and coturn relays it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.conftest import state
from tests.e2e.test_meeting import SMALL, enter, errors

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
SECRET = "shared-secret-of-the-test-turn-server"

#: Every RTCPeerConnection of the page: kept, and made relay-only (the network allows no
#: other path).
RELAY_ONLY = """
(() => {
  const Original = window.RTCPeerConnection;
  window.__pcs = [];
  window.__iceConfigs = [];
  function Relayed(config) {
    window.__iceConfigs.push(JSON.parse(JSON.stringify(config || {})));
    const pc = new Original({ ...(config || {}), iceTransportPolicy: 'relay' });
    window.__pcs.push(pc);
    return pc;
  }
  Relayed.prototype = Original.prototype;
  window.RTCPeerConnection = Relayed;
})();
"""

#: The local candidate type of each connected peer connection's selected pair.
SELECTED_TYPES = """
async () => {
  const types = [];
  for (const pc of window.__pcs) {
    if (pc.connectionState !== 'connected') continue;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
        const local = stats.get(s.localCandidateId);
        if (local) types.push(local.candidateType);
      }
    });
  }
  return types;
}
"""


@pytest.fixture
def turn(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    log = (tmp_path / "turn.log").open("wb")
    proc = subprocess.Popen(
        [TURNSERVER, "-n", "--listening-ip=127.0.0.1", f"--listening-port={port}",
         "--relay-ip=127.0.0.1", "--min-port=56000", "--max-port=56200",
         "--use-auth-secret", f"--static-auth-secret={SECRET}", "--realm=hiroba.test",
         "--allow-loopback-peers", "--no-tls", "--no-dtls", "--no-cli", "--fingerprint",
         "--no-multicast-peers", "--log-file=stdout", "--simple-log"],
        stdout=log, stderr=log,
    )
    time.sleep(0.5)
    assert proc.poll() is None, (tmp_path / "turn.log").read_text()
    yield port
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture
def settings(settings, tmp_path: Path, turn: int):  # type: ignore[no-untyped-def]
    secret = tmp_path / "turn.secret"
    secret.write_text(SECRET)
    return replace(
        settings, ice_host_addresses=("127.0.0.1",), audio_radius=30.0,
        turn_urls=(f"turn:127.0.0.1:{turn}?transport=udp",), turn_secret_file=secret,
    )


async def test_a_voice_reaches_another_page_through_the_turn_relay(server, browser) -> None:
    pages = []
    for name in ("話す人", "聞く人"):
        page, watch = await enter(browser, server, name, "plaza", **SMALL)
        await page.add_init_script(RELAY_ONLY)
        await page.reload()
        await page.fill("#join-name", name)
        await page.click("#join-submit")
        await page.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
        pages.append((page, watch))
    (speaker, speaker_watch), (listener, listener_watch) = pages
    speaker_id = (await state(speaker))["selfId"]
    await listener.wait_for_function("() => window.hiroba.state().audio.listening",
                                     timeout=20_000)
    await speaker.click("#voice-toggle")
    await speaker.wait_for_function("() => window.hiroba.state().audio.publishing",
                                    timeout=20_000)
    await listener.wait_for_function(
        "(id) => window.hiroba.state().audio.slots.includes(id)", arg=speaker_id,
        timeout=15_000)
    await listener.wait_for_function("() => window.hiroba.state().audio.level > 0.01",
                                     timeout=15_000)
    for page in (speaker, listener):
        configs = await page.evaluate("() => window.__iceConfigs")
        server_entries = [s for c in configs for s in c.get("iceServers", [])]
        assert server_entries, "the page used the ICE servers of its join"
        assert all(s["username"].split(":")[1].startswith("p_") for s in server_entries)
        types = await page.evaluate(SELECTED_TYPES)
        assert types and set(types) == {"relay"}, types
    assert errors(speaker_watch) == [] and errors(listener_watch) == []
