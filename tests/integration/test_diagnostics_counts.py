"""``/api/debug/leaks`` and ``/metrics`` read each component through its public ``counts()``
(issue 13): nothing in ``server/observe/`` reaches into another object's private
attributes, and every figure of ``/api/debug/leaks`` is there and follows people as they
come and go on a real server.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from bench.clients.audio_peers import Tone
from server.config.settings import Settings
from server.observe.diagnostics import DEBUG_LEAKS_PATH
from server.rtc.ice import rtc_configuration
from tests.conftest import ROOT, Client, Server, eventually

OBSERVE = ROOT / "server" / "observe"

#: Every figure of /api/debug/leaks but the process-wide ones (bench/churn.py and
#: test_churn.py read these names).
SECTIONS = {
    "hub": {"sessions", "participants", "by_room"},
    "meetings": {"seats", "people", "lobby", "floor_queue"},
    "socketio": {"engineio_sockets", "environ", "rooms", "memberships"},
    "motion": {"rows", "pids", "transports", "tokens", "token_index", "datachannel_peers",
               "tasks", "latency_samples"},
    "audio": {"uplinks", "listeners", "publishing", "listening", "slot_counts", "positions",
              "routes", "tasks"},
    "tracking": {"sessions"},
}  # fmt: skip


# --- no private attribute of another object ----------------------------------------------
def private_reads(source: str, filename: str = "<string>") -> Iterator[str]:
    """``file:line: expression`` for every ``x._name`` (``x`` not ``self`` or ``cls``) and
    every ``getattr``/``setattr``/``hasattr`` of a ``_name`` in ``source``. Dunders are
    public protocol, not private state."""

    def private(name: str) -> bool:
        return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))

    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Attribute) and private(node.attr):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            yield f"{filename}:{node.lineno}: {ast.unparse(node)}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and private(node.args[1].value)
        ):
            yield f"{filename}:{node.lineno}: {ast.unparse(node)}"


def test_the_check_sees_a_private_read() -> None:
    found = list(private_reads(
        "def f(plane, audio):\n"
        "    self._ok = plane.__class__\n"
        "    return len(plane._token_of) + len(getattr(audio, '_tasks'))\n"
    ))  # fmt: skip
    assert [f.split(": ", 1)[1] for f in found] == [
        "plane._token_of", "getattr(audio, '_tasks')"
    ]


def test_observe_reads_no_private_attribute() -> None:
    files = sorted(OBSERVE.glob("*.py"))
    assert {f.name for f in files} >= {"diagnostics.py", "metrics.py", "readiness.py"}
    found = [hit for f in files for hit in private_reads(f.read_text(), str(f.relative_to(ROOT)))]
    assert found == [], "read it through the component's public counts() instead"


# --- a real server -----------------------------------------------------------------------
@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, debug_endpoints=True, ice_host_addresses=("127.0.0.1",))


async def leaks(server: Server) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(
        server.url + DEBUG_LEAKS_PATH, headers={"Connection": "close"}
    ) as resp:
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
    return body


def figures(body: dict[str, Any]) -> dict[str, Any]:
    return {f"{section}.{key}": body[section][key] for section in SECTIONS for key in body[section]}


async def offer(client: Client, event: str, pc: RTCPeerConnection, **extra: Any) -> None:
    await pc.setLocalDescription(await pc.createOffer())
    ack = await client.call(event, {"type": "offer", "sdp": pc.localDescription.sdp, **extra})
    assert ack["ok"], ack
    await pc.setRemoteDescription(RTCSessionDescription(sdp=ack["sdp"], type="answer"))


async def test_every_figure_is_there_and_follows_people(server: Server, made: list[Client]) -> None:
    before = await leaks(server)
    for section, keys in SECTIONS.items():
        assert set(before[section]) == keys, section
        assert all(isinstance(v, int) for k, v in before[section].items() if k != "by_room")
    base = figures(before)

    speaker, listener, waiting = Client(server.url), Client(server.url), Client(server.url)
    made += [speaker, listener, waiting]
    for c in (speaker, listener, waiting):
        await c.connect()
    listener_ack = await listener.join("聞く人", "plaza")
    await speaker.join("話す人", "plaza")
    # The committee's lobby keeps a citizen waiting: a seat, no avatar yet.
    await waiting.join("待つ人", "dx-committee")
    peers = [RTCPeerConnection(rtc_configuration([])) for _ in range(3)]
    ears, mouth, channel = peers
    try:
        for _ in range(3):
            ears.addTransceiver("audio", direction="recvonly")
        await offer(listener, "audio:listen", ears, slots=3)
        mouth.addTrack(Tone(440))  # heard: a silent microphone gets no route
        await offer(speaker, "audio:publish", mouth)
        channel.createDataChannel("motion", ordered=False, maxRetransmits=0)
        await offer(speaker, "motion:offer", channel)
        async with aiohttp.ClientSession() as http:
            motion = listener_ack["motion"]
            ws = await http.ws_connect(server.url.replace("http", "ws", 1) + motion["path"])
            await ws.send_str(motion["token"])
            assert (await ws.receive(timeout=5)).data == "ok"

            # Everything that holds per-person state holds some now.
            changed = {
                "hub.sessions", "hub.participants", "hub.by_room", "meetings.seats",
                "meetings.people", "meetings.lobby", "socketio.engineio_sockets",
                "socketio.environ", "socketio.rooms", "socketio.memberships", "motion.rows",
                "motion.pids", "motion.transports", "motion.tokens", "motion.token_index",
                "motion.datachannel_peers", "audio.uplinks", "audio.listeners",
                "audio.publishing", "audio.listening", "audio.slot_counts", "audio.positions",
                "audio.routes",
            }  # fmt: skip
            # And by how much, where it is one per person: two in the plaza, one waiting,
            # two motion connections (a WebSocket, a data channel once it opens).
            exactly = {
                "hub.participants": base["hub.participants"] + 2,
                "meetings.lobby": base["meetings.lobby"] + 1,
                "motion.transports": base["motion.transports"] + 2,
                "motion.datachannel_peers": base["motion.datachannel_peers"] + 1,
                "audio.uplinks": base["audio.uplinks"] + 1,
                "audio.listeners": base["audio.listeners"] + 1,
                "audio.slot_counts": base["audio.slot_counts"] + 1,
            }
            busy: dict[str, Any] = {}

            async def grown() -> bool:
                busy.update(figures(await leaks(server)))
                return all(busy[k] != base[k] for k in changed) and all(
                    busy[k] == n for k, n in exactly.items()
                )

            with contextlib.suppress(AssertionError):  # the assertions below name them
                await eventually(grown, what="every per-person figure to grow")
            assert sorted(k for k in changed if busy[k] == base[k]) == []
            assert {k: busy[k] for k in exactly} == exactly
            assert busy["hub.by_room"]["plaza"] == base["hub.by_room"]["plaza"] + 2
            await ws.close()
    finally:
        for pc in peers:
            await pc.close()
    for c in (speaker, listener, waiting):
        await c.close()

    # And back to where they were once everyone has left (the clean-up tasks and the
    # bounded latency windows excepted: they are not per person).
    settled = set(base) - {"motion.tasks", "audio.tasks", "motion.latency_samples"}
    after: dict[str, Any] = {}

    async def back() -> bool:
        after.update(figures(await leaks(server)))
        return all(after[k] == base[k] for k in settled)

    with contextlib.suppress(AssertionError):
        await eventually(back, within=10.0, what="every per-person figure back to its baseline")
    assert {k: (base[k], after[k]) for k in sorted(settled) if after[k] != base[k]} == {}

