"""Joining, moving and leaving with real socket.io and motion-plane clients against a real
server."""

from __future__ import annotations

import asyncio
import math
import time

import aiohttp

from bench.clients.motion_client import MotionWatcher, moved_to
from moderation.invitations import issue_invitation
from moderation.tokens import issue_token
from rooms.model import Role
from server.app import TRACKING_KEY
from server.config.secret import load_or_create_secret
from server.http.routes import HUB_KEY
from tests.conftest import eventually
from tests.meetings import add_staff, console, invitation, participant


async def get_json(url: str) -> dict:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        return await resp.json()


async def participants(server) -> int:
    return (await get_json(server.url + "/healthz"))["participants"]


async def test_two_people_see_each_other_join_move_and_leave(server, clients) -> None:
    a, b = await clients(), await clients()
    ack_a = await a.join("あおい")
    ack_b = await b.join("Ben")
    a_id, b_id = ack_a["self"], ack_b["self"]
    snap = ack_b["snapshot"]
    assert a_id in {p["id"] for p in snap["participants"]}
    assert snap["room"]["id"] == "plaza" and snap["tick_hz"] == 10
    assert any(board["notices"] for board in snap["room"]["boards"])
    await a.wait_for(lambda d: any(p["id"] == b_id for p in d["joined"]))
    assert await participants(server) == 2

    assert ack_a["motion"]["path"] == "/motion" and ack_b["motion"]["hz"] == 20
    motion_a = await MotionWatcher.open(server.url, ack_a)
    motion_b = await MotionWatcher.open(server.url, ack_b)
    me = next(p for p in snap["participants"] if p["id"] == a_id)
    target = (me["x"] + 0.3, me["z"] - 0.2)  # within one step of walking
    await motion_a.send(target[0], target[1], 0.25)
    entries = await motion_b.wait_for(lambda es: any(e.slot == me["slot"] for e in es))
    moved = next(e for e in entries if e.slot == me["slot"])
    assert math.isclose(moved.x, target[0], abs_tol=0.01)
    assert math.isclose(moved.z, target[1], abs_tol=0.01)
    assert moved.h == 0.25

    assert await a.call("leave", {}) == {"ok": True}
    await b.wait_for(lambda d: a_id in d["left"])
    for _ in range(40):  # leaving closes the leaver's motion socket
        if motion_a.closed_with is not None:
            break
        await asyncio.sleep(0.05)
    assert motion_a.closed_with is not None
    await motion_a.close()
    await motion_b.close()
    assert await participants(server) == 1
    await b.close()
    for _ in range(30):
        if await participants(server) == 0:
            break
        await asyncio.sleep(0.05)
    assert await participants(server) == 0


async def test_moves_are_batched_once_per_tick(server, clients) -> None:
    a, b = await clients(), await clients()
    ack_a = await a.join("mover")
    a_id = ack_a["self"]
    ack = await b.join("watcher")
    start = next(p for p in ack["snapshot"]["participants"] if p["id"] == a_id)
    motion_a = await MotionWatcher.open(server.url, ack_a)
    motion_b = await MotionWatcher.open(server.url, ack)
    try:
        # The watcher's first frame tells it where the mover is; then ten uplinks in quick
        # succession (under the plane's burst allowance), 0.4 m in all: within the step
        # the room allows however soon they come (MOVE_SLACK), so the last one is taken
        # whole whether they are applied in one tick or spread over two.
        await motion_b.wait_for(moved_to(start["slot"], start["x"], start["z"]))
        since = len(motion_b.frames)
        for i in range(10):
            await motion_a.send(start["x"] + 0.04 * (i + 1), start["z"], 0.0)
        await motion_b.wait_for(moved_to(start["slot"], start["x"] + 0.4, start["z"]), since=since)
        # Six more ticks of the plane (0.3 s at 20 Hz), in which nothing moves: a frame
        # repeating the mover would come in them.
        ticks = (await get_json(server.url + "/api/motion/stats"))["ticks"]

        async def ticked() -> bool:
            return (await get_json(server.url + "/api/motion/stats"))["ticks"] >= ticks + 6

        await eventually(ticked, what="six more motion ticks")
        frames = motion_b.frames[since:]
        carrying = [es for _, _, es in frames if any(e.slot == start["slot"] for e in es)]
        assert 1 <= len(carrying) <= 3, "moves must be coalesced per tick, not forwarded one by one"
        assert all(sum(e.slot == start["slot"] for e in es) == 1 for es in carrying)
        ticks = [tick for _, tick, _ in motion_b.frames]
        assert ticks == sorted(set(ticks)), "one frame per tick at most"
    finally:
        await motion_a.close()
        await motion_b.close()


async def test_server_is_authoritative_on_speed_and_bounds(server, clients) -> None:
    a = await clients()
    ack = await a.join("speedy")
    me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
    reply = await a.call("move", {"x": 1000.0, "z": me["z"], "h": 0.0})
    assert reply["ok"]
    assert reply["x"] - me["x"] <= 4.0 + 0.5 + 0.01, "a step is limited to what one can walk"
    bounds = ack["snapshot"]["room"]["bounds"]
    for _ in range(25):
        reply = await a.call("move", {"x": 1000.0, "z": me["z"], "h": 0.0})
        await asyncio.sleep(0.12)
    assert reply["x"] <= bounds["max_x"]


async def test_invited_members_are_seated_once_admitted(server, clients) -> None:
    # As on a server with the face model (this one has none: no offer of server tracking
    # at all, tests/integration/test_model_warning.py): what a member may do is the point.
    await eventually(lambda: server.app[TRACKING_KEY].model_ok is not None)
    server.app[HUB_KEY].server_tracking_ready = True
    await add_staff(server)
    made: list = []
    staff = await console(server, made)
    token = invitation(server, "dx-committee", Role.MEMBER, "田中委員")
    m = await participant(server, made, "ignored", token=token)
    assert m.ack["place"] == "lobby" and "snapshot" not in m.ack
    await staff.act("lobby:admit", {"target": m.ack["self"]})
    ack = await m.expect("meeting:admitted")
    me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
    assert (me["role"], me["name"]) == ("member", "田中委員")
    assert me["seat"] is not None
    assert ack["snapshot"]["self_may"] == {"enter_stage": True, "track_on_server": True}
    seat = next(s for s in ack["snapshot"]["room"]["seats"] if s["id"] == me["seat"])
    assert seat["occupant"] == me["id"]

    c = await clients()
    secret = load_or_create_secret(server.settings.secret_path)
    other_room = invitation(server, "plaza", Role.CHAIR)
    expired = invitation(server, "dx-committee", Role.CHAIR, now=time.time() - 120, ttl=60)
    forged = issue_invitation(b"x" * 64, "dx-committee", Role.CHAIR, None, time.time(), 60,
                              issued_by="x")[0]
    role_token = issue_token(secret, "dx-committee", Role.CHAIR, None, time.time(), 60)
    for bad in (other_room, expired, forged, role_token, "garbage", token[:-3] + "abc", token):
        ack = await c.call(
            "join", {"name": "x", "room": "dx-committee", "lang": "en", "token": bad}
        )
        assert ack["ok"] is False and ack["reason"] == "bad_token", ack
    citizen = await c.join("傍聴者", room="dx-committee", gallery=True)
    me = next(p for p in citizen["snapshot"]["participants"] if p["id"] == citizen["self"])
    assert (me["role"], me["seat"], citizen["place"]) == ("citizen", None, "gallery")
    assert citizen["snapshot"]["self_may"] == {"enter_stage": False, "track_on_server": False}
    for client in made:
        await client.close()


async def test_joining_another_room_leaves_the_first(server, clients) -> None:
    a, b = await clients(), await clients()
    a_id = (await a.join("traveller"))["self"]
    await b.join("stayer")
    ack = await a.join("traveller", room="park-consultation")
    await b.wait_for(lambda d: a_id in d["left"])
    assert ack["snapshot"]["room"]["id"] == "park-consultation"
    rooms = (await get_json(server.url + "/api/rooms"))["rooms"]
    counts = {r["id"]: r["participants"] for r in rooms}
    assert counts == {"plaza": 1, "park-consultation": 1, "dx-committee": 0}
