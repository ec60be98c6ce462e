"""The motion plane over real WebSockets: who receives whom, bad input, slow clients."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from avatar import codec as pose_codec
from avatar.pose import Pose, TrackingState
from moderation.invitations import issue_invitation
from rooms.model import Role
from server.config.secret import load_or_create_secret
from server.motion import codec


async def open_motion(server, ack) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(server.url.replace("http", "ws") + ack["motion"]["path"])
    await ws.send_str(ack["motion"]["token"])
    assert (await ws.receive()).data == "ok"
    return http, ws


async def frames_until(ws, predicate, within: float = 3.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        msg = await ws.receive(timeout=deadline - time.monotonic())
        if msg.type is aiohttp.WSMsgType.BINARY:
            _tick, entries = codec.decode_frame(msg.data)
            if predicate(entries):
                return entries
    raise AssertionError("no matching frame")


def slot_of(ack, pid):
    return next(p["slot"] for p in ack["snapshot"]["participants"] if p["id"] == pid)


async def test_moves_and_stage_poses_reach_others(server, clients) -> None:
    secret = load_or_create_secret(server.settings.secret_path)
    token, _ = issue_invitation(secret, "plaza", Role.MEMBER, "壇上の委員", time.time(), 600,
                                issued_by="test")
    member, citizen = await clients(), await clients()
    m_ack = await member.join("m", room="plaza", token=token)
    c_ack = await citizen.join("c", room="plaza")
    assert m_ack["snapshot"]["participants"][0]["seat"] is not None
    m_http, m_ws = await open_motion(server, m_ack)
    c_http, c_ws = await open_motion(server, c_ack)
    try:
        me = next(p for p in c_ack["snapshot"]["participants"] if p["id"] == c_ack["self"])
        await c_ws.send_bytes(codec.encode_uplink(me["x"] + 0.3, me["z"], 0.5))
        record = pose_codec.encode(Pose(1, TrackingState.TRACKED, roll=15.0))
        seat = m_ack["snapshot"]["participants"][0]
        await m_ws.send_bytes(codec.encode_uplink(seat["x"], seat["z"], seat["h"], record))
        c_slot, m_slot = slot_of(c_ack, c_ack["self"]), slot_of(c_ack, m_ack["self"])
        entries = await frames_until(
            c_ws, lambda es: any(e.slot == m_slot and e.pose is not None for e in es))
        pose = next(e.pose for e in entries if e.slot == m_slot)
        assert pose is not None and abs(pose.roll - 15.0) < 0.01, "the stage pose, far away"
        # The member on the stage, ~30 m from the spawn area, is beyond the citizen's
        # cull radius: seats see the stage's own, not the crowd's moves at full rate.
        neighbour = await clients()
        n_ack = await neighbour.join("n", room="plaza")
        n_http, n_ws = await open_motion(server, n_ack)
        try:
            await c_ws.send_bytes(codec.encode_uplink(me["x"] + 0.5, me["z"], 0.5))
            entries = await frames_until(
                n_ws, lambda es: any(e.slot == c_slot and abs(e.x - (me["x"] + 0.5)) < 0.02
                                     for e in es))
            moved = next(e for e in entries if e.slot == c_slot)
            assert abs(moved.h - 0.5) < 1e-3
        finally:
            await n_ws.close()
            await n_http.close()
    finally:
        for ws, http in ((m_ws, m_http), (c_ws, c_http)):
            await ws.close()
            await http.close()


async def test_bad_token_and_garbage_close_only_that_socket(server, clients) -> None:
    good = await clients()
    ack = await good.join("good")
    async with aiohttp.ClientSession() as http:
        url = server.url.replace("http", "ws") + "/motion"
        async with http.ws_connect(url) as ws:
            await ws.send_str("forged-token")
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 4401
        # A token as long as any a node issues (a cluster's signed one for a 64-character
        # room id is ~200) reaches the token check; only more than that is too big (1009).
        for first, code in (("t" * codec.MAX_TOKEN_LENGTH, 4401),
                            ("t" * (codec.MAX_TOKEN_LENGTH + 200), 1009)):
            async with http.ws_connect(url) as ws:
                await ws.send_str(first)
                msg = await ws.receive()
                assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == code, len(first)
        async with http.ws_connect(url, headers={"Origin": "https://evil.example"}) as ws:
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 4403
        bad = await clients()
        bad_ack = await bad.join("bad")
        b_http, b_ws = await open_motion(server, bad_ack)
        for i in range(60):
            await b_ws.send_bytes(b"\x07garbage" + bytes([i]))
            await asyncio.sleep(0.055)  # under the uplink rate limit: only bad input counts
        msg = await b_ws.receive(timeout=3)
        while msg.type is aiohttp.WSMsgType.BINARY:
            msg = await b_ws.receive(timeout=3)
        assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 4400
        await b_http.close()
    g_http, g_ws = await open_motion(server, ack)
    try:
        me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
        await g_ws.send_bytes(codec.encode_uplink(me["x"] + 0.2, me["z"], 0.1))
        for _ in range(30):
            stats = await (await g_http.get(server.url + "/api/motion/stats")).json()
            if stats["uplinks"] - stats["uplinks_rejected"] >= 1:
                break
            await asyncio.sleep(0.05)
        assert stats["uplinks_rejected"] >= 50
        reply = await good.call("move", {"x": me["x"] + 0.4, "z": me["z"], "h": 0.2})
        assert reply["ok"], "the control plane still serves the good client"
    finally:
        await g_ws.close()
        await g_http.close()


async def test_a_client_that_stops_reading_is_skipped_not_queued(server, clients) -> None:
    slow, fast, mover = await clients(), await clients(), await clients()
    s_ack, f_ack, m_ack = await slow.join("slow"), await fast.join("fast"), await mover.join("m")
    s_http, s_ws = await open_motion(server, s_ack)
    f_http, f_ws = await open_motion(server, f_ack)
    m_http, m_ws = await open_motion(server, m_ack)
    try:
        me = next(p for p in m_ack["snapshot"]["participants"] if p["id"] == m_ack["self"])
        received = 0
        # The slow client never reads; its socket buffers fill; the fast one keeps up.
        for i in range(60):
            await m_ws.send_bytes(codec.encode_uplink(me["x"] + (i % 2) * 0.2, me["z"], i / 10))
            await asyncio.sleep(0.05)
            while True:
                try:
                    msg = await f_ws.receive(timeout=0.001)
                except TimeoutError:
                    break
                if msg.type is aiohttp.WSMsgType.BINARY:
                    received += 1
        assert received >= 40, f"the fast client got {received} frames in 3 s at 20 Hz"
        stats = await (await f_http.get(server.url + "/api/motion/stats")).json()
        assert stats["frames_sent"] > 0
    finally:
        for ws, http in ((s_ws, s_http), (f_ws, f_http), (m_ws, m_http)):
            await ws.close()
            await http.close()
