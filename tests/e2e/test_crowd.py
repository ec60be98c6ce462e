"""A crowd in the plaza: 150 socket.io people and one phone page drawing them in levels of
detail (web_client/src/state/lod.js, scene/avatars.js)."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

from bench.clients.chromium import PHONE
from tests.e2e.conftest import join, open_page, shot, state

CROWD = 150
MAX_NEAR = 32  # LOD_DEFAULTS.maxNear
MAX_MID = 64  # LOD_DEFAULTS.midCount


async def crowd_member(url: str, index: int) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(url, transports=["websocket"], wait_timeout=10)
    ack = await sio.call("join", {"name": f"群衆{index}", "room": "plaza", "lang": "ja"},
                         timeout=20)
    assert ack.get("self"), ack
    return sio


async def render_consistent(page: Any, count: int) -> dict[str, Any]:
    """Wait until the page has re-bucketed `count` people; return its state."""
    await page.wait_for_function(
        """(n) => { const s = window.hiroba.state(); const r = s.render;
            return s.participants.length === n && r && r.near + r.mid + r.far === n; }""",
        arg=count, timeout=20000,
    )
    return await state(page)


async def test_a_phone_draws_a_crowd_in_levels_of_detail(server, browser) -> None:
    people: list[socketio.AsyncClient] = []
    try:
        for at in range(0, CROWD, 25):  # join in batches, as a crowd arrives
            people += await asyncio.wait_for(asyncio.gather(
                *(crowd_member(server.url, i) for i in range(at, min(at + 25, CROWD)))), 60)
        page, watch = await open_page(browser, server.url, **{**PHONE, "device_scale_factor": 1})
        me = await join(page, "見る人")
        st = await render_consistent(page, CROWD + 1)
        ids = {p["id"] for p in st["participants"]}
        assert me["selfId"] in ids and len(ids) == CROWD + 1

        r = st["render"]
        assert 1 <= r["near"] <= MAX_NEAR, r
        assert r["mid"] <= MAX_MID, r
        assert r["near"] + r["mid"] + r["far"] == CROWD + 1, r
        drawn = r["drawn"]
        assert drawn["near"] <= r["near"] and drawn["mid"] <= r["mid"] and drawn["far"] <= r["far"]
        assert drawn["near"] + drawn["mid"] + drawn["far"] > 10, r  # the crowd is in view
        # 151 avatars of 10-15 meshes each would be well over a thousand draw calls
        assert 0 < r["calls"] < 80, r
        assert r["triangles"] > 0, r
        # near avatars have faces: the own avatar's head angles are drawn (idle sway)
        self_row = next(p for p in st["participants"] if p["id"] == me["selfId"])
        assert {"roll", "pitch", "yaw"} <= self_row.keys()
        await shot(page, "crowd-phone")

        # a third of the crowd leaves: every level follows
        leaving, people = people[:50], people[50:]
        await asyncio.gather(*(p.disconnect() for p in leaving))
        st = await render_consistent(page, CROWD + 1 - 50)
        assert st["render"]["near"] <= MAX_NEAR
        assert not watch.errors, watch.errors
    finally:
        await asyncio.gather(*(p.disconnect() for p in people), return_exceptions=True)
