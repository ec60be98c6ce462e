"""Garbage, floods and vanishing clients get clear errors and never disturb the others."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import aiohttp
import pytest

from bench.clients.motion_client import MotionWatcher, moved_to
from tests.conftest import Client, eventually

BAD_JOINS = [
    (None, "bad_payload"),
    ("plaza", "bad_payload"),
    (42, "bad_payload"),
    ([{"name": "a"}], "bad_payload"),
    ({"name": "a", "room": "plaza"}, "missing_field"),
    ({"name": "a", "room": "plaza", "lang": "ja", "role": "chair"}, "unknown_field"),
    ({"name": "a", "room": "plaza", "lang": "xx"}, "bad_field"),
    ({"name": "", "room": "plaza", "lang": "ja"}, "bad_name"),
    ({"name": "\u202e\u200b", "room": "plaza", "lang": "ja"}, "bad_name"),
    ({"name": "x" * 10_000, "room": "plaza", "lang": "ja"}, "bad_name"),
    ({"name": ["a"], "room": "plaza", "lang": "ja"}, "bad_name"),
    ({"name": "a", "room": "nowhere", "lang": "ja"}, "no_such_room"),
    ({"name": "a", "room": {"$ne": 1}, "lang": "ja"}, "bad_field"),
    ({"name": "a", "room": "plaza", "lang": "ja", "token": "a.b"}, "bad_token"),
    ({"name": "a", "room": "plaza", "lang": "ja", "avatar": {"body": "url(x)"}}, "bad_field"),
]
BAD_MOVES = [
    ({"x": "1", "z": 0, "h": 0}, "bad_field"),
    ({"x": None, "z": 0, "h": 0}, "bad_field"),
    ({"x": 1, "z": 0}, "missing_field"),
    ({"x": 1e309, "z": 0, "h": 0}, "bad_field"),
    ({"x": 1, "z": 0, "h": 0, "speed": 9}, "unknown_field"),
    ("up", "bad_payload"),
]


async def test_every_bad_payload_is_answered_with_its_reason(server, clients) -> None:
    watcher, mover, bad = await clients(), await clients(), await clients()
    motion = await MotionWatcher.open(server.url, await watcher.join("watcher"))
    ack = await mover.join("mover")
    mover_id = ack["self"]
    me = next(p for p in ack["snapshot"]["participants"] if p["id"] == mover_id)

    for payload, reason in BAD_JOINS:
        reply = await bad.call("join", payload)
        assert reply["ok"] is False and reply["reason"] == reason, (payload, reply)
        assert isinstance(reply["message"], str) and reply["message"]

    not_joined = await bad.call("move", {"x": 0, "z": 0, "h": 0})
    assert not_joined["reason"] == "not_joined"
    await bad.join("bad")
    for payload, reason in BAD_MOVES:
        await asyncio.sleep(0.07)  # stay under the move rate limit: test validation only
        reply = await bad.call("move", payload)
        assert reply["ok"] is False and reply["reason"] == reason, (payload, reply)
    assert (await bad.call("move", b"\x00\x01binary"))["reason"] == "bad_payload"
    assert (await bad.call("shout", {"text": "hi"}))["reason"] == "unknown_event"
    assert (await bad.call("leave", {"all": True}))["reason"] == "unknown_field"

    # The others were not disturbed: a move (the socket.io fallback upload) still reaches
    # the watcher, on the motion plane.
    await mover.sio.emit("move", {"x": me["x"] + 0.2, "z": me["z"], "h": 1.0})
    try:
        await motion.wait_for(lambda es: any(e.slot == me["slot"] and e.h == 1.0 for e in es))
    finally:
        await motion.close()


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # A low flood threshold keeps the test short; the mechanism is the production one.
    return replace(settings, events_per_second=20.0, events_burst=20.0, flood_disconnect_after=40)


async def test_flooding_client_is_limited_then_disconnected(server, clients) -> None:
    calm, flood = await clients(), await clients()
    calm_ack = await calm.join("calm")
    await flood.join("flood")
    started = asyncio.get_running_loop().time()
    replies = await asyncio.gather(
        *(flood.call("join", {"name": "f", "room": "plaza", "lang": "ja"}) for _ in range(40))
    )
    elapsed = asyncio.get_running_loop().time() - started
    limited = [r for r in replies if not r["ok"]]
    assert limited and all(r["reason"] == "rate_limited" for r in limited)
    # The burst, plus what the bucket refilled while the calls were in flight.
    assert len(replies) - len(limited) <= 20 + 20 * elapsed + 1

    for _ in range(200):
        if not flood.sio.connected:
            break
        await flood.sio.emit("move", {"x": 0, "z": 0, "h": 0})
        await asyncio.sleep(0.002)
    assert await flood.ended(), "a client that keeps flooding is disconnected"

    # The calm client is still served.
    health = await _health(server)
    assert health["participants"] == 1
    await _move_is_seen(server, clients, calm, calm_ack, 0.1, 12.0, 0.5)


async def _move_is_seen(server, clients, mover, ack, x: float, z: float, h: float) -> None:
    """``mover`` moves (``move``, acked) and a newcomer sees it on the motion plane: the
    server still serves the room."""
    slot = next(p["slot"] for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
    observer = await clients()
    motion = await MotionWatcher.open(server.url, await observer.join("observer"))
    try:
        reply = await mover.call("move", {"x": x, "z": z, "h": h})
        assert reply["ok"] is True
        await motion.wait_for(moved_to(slot, reply["x"], reply["z"]))
    finally:
        await motion.close()


async def _health(server) -> dict:
    async with aiohttp.ClientSession() as http, http.get(server.url + "/healthz") as r:
        return await r.json()


async def test_clients_vanishing_mid_join_leave_no_ghosts(server, clients) -> None:
    watcher = await clients()
    watcher_id = (await watcher.join("watcher"))["self"]
    for i in range(15):
        ghost = Client(server.url)
        await ghost.connect()
        await ghost.sio.emit("join", {"name": f"ghost{i}", "room": "plaza", "lang": "ja"})
        if i % 2:
            await asyncio.sleep(0.001 * i)
        await ghost.sio.eio.ws.close() if i % 3 == 0 else await ghost.sio.disconnect()
        await ghost.close()
    for _ in range(100):
        if (await _health(server))["participants"] == 1:
            break
        await asyncio.sleep(0.05)
    assert (await _health(server))["participants"] == 1

    # Whoever the watcher heard join, it also hears leave (in a delta still to come).
    def unmatched() -> set[str]:
        joined = {p["id"] for d in watcher.deltas for p in d["joined"]}
        left = {pid for d in watcher.deltas for pid in d["left"]}
        return joined - left

    await eventually(lambda: unmatched() == {watcher_id}, what="every ghost heard leaving")


async def test_oversized_message_drops_only_its_sender(server, clients) -> None:
    calm, big = await clients(), await clients()
    calm_ack = await calm.join("calm")
    await big.join("big")
    huge = {"name": "x" * (server.settings.max_message_bytes * 2), "room": "plaza", "lang": "ja"}
    # No answer comes: engine.io refuses the packet and closes its socket.
    await big.sio.emit("join", huge)
    assert await big.ended(within=5), "the socket of an oversized message is closed"
    for _ in range(40):
        if (await _health(server))["participants"] == 1:
            break
        await asyncio.sleep(0.05)
    assert (await _health(server))["participants"] == 1
    await _move_is_seen(server, clients, calm, calm_ack, 0.0, 12.0, 0.1)


async def test_raw_garbage_on_the_socket_does_not_hurt_others(server, clients) -> None:
    calm = await clients()
    calm_ack = await calm.join("calm")
    async with aiohttp.ClientSession() as http, http.ws_connect(
        server.url + "/socket.io/?EIO=4&transport=websocket"
    ) as ws:
        await ws.receive()  # engine.io open packet
        for junk in ("40", '42["join",', "42[1,2,3]", "4" * 500, '42["move",{"x":1e999}]',
                      "\x00\xff", json.dumps(["x"] * 50)):
            await ws.send_str(junk)
        await ws.send_bytes(b"\x04\xff\x00garbage")
        await asyncio.sleep(0.2)
    assert (await _health(server))["participants"] == 1
    await _move_is_seen(server, clients, calm, calm_ack, 0.3, 12.0, 0.2)
