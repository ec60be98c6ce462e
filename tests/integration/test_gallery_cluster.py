"""The gallery plane on a cluster edge (issue 19): a viewer whose WebSocket is on the edge
hears the floor speaker whose microphone is on the leader, and sees the stage, from the
edge's own motion plane and the packets the cluster bus already carries: every node fans
out locally, a node added behind the balancer adds capacity. A closed session empties the
edge's frames too (the leader's held-out set carries it); the edge's viewers count in the
leader's committee gallery. The meeting's public state reaches the edge's viewers from the
leader (their hello names the floor holder and the agenda; captions and chat follow), staff
on the leader see an edge viewer's request and promote it onto its socket, and a node that
dies without a word leaves the leader's count."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import websockets

from bench.clients.audio_peers import Tone, speak
from moderation.committee import GALLERY_EVERY
from rooms.model import Role
from server.gallery import codec
from server.rtc.ice import use_host_addresses
from tests.conftest import eventually
from tests.integration.test_cluster import (
    CONFIG,
    Cluster,
    _add_staff,
    cluster,  # noqa: F401 (the fixture)
    joined,
    metric,
    server_of,
    signal,
)
from tests.integration.test_gallery_plane import frames, next_state, tone_hz
from tests.meetings import COMMITTEE, invitation, login, staff_post


async def test_a_viewer_on_the_edge_hears_the_floor_on_the_leader(
        cluster: Cluster, tmp_path: Path) -> None:  # noqa: F811 (the fixture)  # fmt: skip
    use_host_addresses(["127.0.0.1"])
    pcs: list[Any] = []
    try:
        a = cluster.node("a", "--ice-host-addresses", "127.0.0.1")
        b = cluster.node("b", "--ice-host-addresses", "127.0.0.1")
        chair = await cluster.client(a)
        counted: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        def committee_state(state: dict[str, Any]) -> None:
            if (state.get("gallery") or {}).get("peak", 0) >= 1 and not counted.done():
                counted.set_result(state["gallery"])

        chair.sio.on("committee:state", committee_state)
        ack = await joined(chair, "委員長", room=COMMITTEE,
                           token=invitation(server_of(a), COMMITTEE, Role.CHAIR, "委員長"))
        slot = next(p["slot"] for p in ack["snapshot"]["participants"]
                    if p["id"] == ack["self"])
        pcs.append(await speak(CONFIG, signal(chair, "audio:publish"), "", "", Tone(600)))
        url = b.url.replace("http", "ws") + f"/gallery/ws?room={COMMITTEE}"
        async with websockets.connect(url, max_queue=None, proxy=None) as ws:
            hello = await next_state(ws, "hello")
            assert hello["room"] == COMMITTEE
            got = await frames(ws, 2.0)
            audio = [x for f in got for x in f.audio]
            assert len(audio) >= 50, f"{len(audio)} packets of the leader's speaker"
            assert {x.slot for x in audio} == {slot}
            assert abs(tone_hz([x.payload for x in audio]) - 600.0) <= 50.0
            assert any(e.slot == slot for f in got for e in f.entries), "the stage"
            assert isinstance(got[-1], codec.Frame) and got[-1].crowd >= 1
            # The edge fans out to its own viewer; the leader has none.
            assert await metric(b, "hiroba_gallery_writes_total") >= len(got)
            assert await metric(a, "hiroba_audio_uplinks") == 1
            assert await metric(b, "hiroba_audio_uplinks") == 0
            # The edge's viewer is counted in the leader's committee gallery (傍聴者数).
            gallery = await asyncio.wait_for(counted, 2 * GALLERY_EVERY)
            assert gallery["now"] == 1 and gallery["total"] == 1, gallery
            # Everyone is told the cluster's count: a second viewer, on the leader, and
            # both viewers hear of two (the leader counts; the edge is told).
            url_a = a.url.replace("http", "ws") + f"/gallery/ws?room={COMMITTEE}"
            async with websockets.connect(url_a, max_queue=None, proxy=None) as ws_a:
                two = (lambda m: m.get("viewers") == 2)  # noqa: E731
                on_a = await next_state(ws_a, "count", match=two, within=6.0)
                on_b = await next_state(ws, "count", match=two, within=6.0)
                assert on_a["peak"] == on_b["peak"] == 2
            # A closed session (秘密会) reaches the edge's gallery with the leader's word:
            # flagged, empty frames, no audio.
            await chair.act("committee:closed_session", {"closed": True, "reason": "人事"})
            assert (await next_state(ws, "state", match=lambda m: "closed" in m))["closed"]
            during = await frames(ws, 1.0)
            assert during and all(f.closed and not f.audio and not f.entries for f in during)
    finally:
        for pc in pcs:
            await pc.close()
        use_host_addresses([])


def gallery_url(node: Any) -> str:
    return str(node.url).replace("http", "ws") + f"/gallery/ws?room={COMMITTEE}"


async def test_an_edge_viewer_sees_the_meeting_of_the_leader_and_is_promoted(
        cluster: Cluster) -> None:  # noqa: F811 (the fixture)  # fmt: skip
    a, b = cluster.node("a"), cluster.node("b")
    await _add_staff(a)
    cookie, csrf = await login(SimpleNamespace(url=a.url))  # type: ignore[arg-type]
    staff = await cluster.client(a, cookie)
    staff.ack = await staff.act("console:join", {"room": COMMITTEE})
    chair = await cluster.client(a)
    await joined(chair, "委員長", room=COMMITTEE,
                 token=invitation(server_of(a), COMMITTEE, Role.CHAIR, "委員長"))
    member = await cluster.client(a)
    m_ack = await joined(member, "田中委員", room=COMMITTEE,
                         token=invitation(server_of(a), COMMITTEE, Role.MEMBER, "田中委員"))
    if m_ack.get("place") == "lobby":
        await staff.act("lobby:admit", {"target": m_ack["self"]})
        m_ack = await member.expect("meeting:admitted")
    mid = m_ack["self"]
    await staff.act("agenda:advance")
    await staff.act("floor:give", {"target": mid, "limit": 120})
    await staff.act("caption:post", {"text": "開会前の字幕"})

    async with websockets.connect(gallery_url(b), max_queue=None, proxy=None) as ws:
        # The hello of an edge viewer: the leader's public state of the room.
        hello = await next_state(ws, "hello")
        names = {p["name"]: p for p in hello["people"]}
        assert {"委員長", "田中委員"} <= names.keys(), hello["people"]
        assert names["委員長"]["role"] == "chair" and names["田中委員"]["role"] == "member"
        assert hello["floor"]["holder"] == mid
        assert hello["floor"]["holder_slot"] == names["田中委員"]["slot"]
        assert hello["agenda"]["current"] is not None
        assert [c["text"] for c in hello["captions"]] == ["開会前の字幕"]
        # What happens on the leader follows: a caption line, a chat line, the floor.
        await staff.act("caption:post", {"text": "ただいまから始めます"})
        caption = await next_state(ws, "caption")
        assert caption["line"]["text"] == "ただいまから始めます"
        await chair.act("chat:send", {"text": "傍聴の皆さまへ"})
        chat = await next_state(ws, "chat")
        assert chat["change"] == "chat.posted" and chat["message"]["text"] == "傍聴の皆さまへ"

        # A closed session (秘密会) silences the edge's viewers: told, then nothing of it;
        # one who comes meanwhile learns nothing either. Reopened, the state comes whole.
        await chair.act("committee:closed_session", {"closed": True, "reason": "人事"})
        assert (await next_state(ws, "state", match=lambda m: "closed" in m))["closed"]
        await chair.act("chat:send", {"text": "秘密会の中の発言"})
        await staff.act("caption:post", {"text": "秘密会の字幕"})
        async with websockets.connect(gallery_url(b), max_queue=None, proxy=None) as late:
            told = await next_state(late, "hello")
            assert told["closed"] and told["people"] == [] and "floor" not in told
            assert told["chat"] == [] and told["captions"] == []
        with pytest.raises(TimeoutError):
            await next_state(ws, "chat", within=0.5)
        await chair.act("committee:closed_session", {"closed": False})
        whole = await next_state(ws, "state", match=lambda m: "chat" in m)
        assert "秘密会の中の発言" in [m["text"] for m in whole["chat"]]
        assert whole["floor"]["holder"] == mid

        # The viewer asks to speak: staff on the leader see it, and promote it onto its
        # socket on the edge.
        await ws.send(json.dumps({"t": "ask", "name": "傍聴の佐藤", "text": "質問です"}))

        async def requested() -> dict[str, Any] | None:
            async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http, \
                    http.get(a.url + f"/api/rooms/{COMMITTEE}/gallery") as r:
                body = await r.json()
            found = [q for q in body["requests"] if q["viewer"] == hello["viewer"]]
            return found[0] if found else None

        async def listed() -> bool:
            return await requested() is not None

        await eventually(listed, within=4, what="the edge viewer's request on the leader")
        asked = await requested()
        assert asked is not None and asked["name"] == "傍聴の佐藤" and asked["ask"]
        assert asked["node"] == "b" and asked["since"] > time.time() - 60
        path = f"/api/rooms/{COMMITTEE}/gallery/{hello['viewer']}/promote"
        status, body = await staff_post(SimpleNamespace(url=a.url), path, {},  # type: ignore[arg-type]
                                        cookie=cookie, csrf=csrf)
        assert status == 200, body
        promoted = await next_state(ws, "promoted")
        assert promoted["url"].startswith(f"/?room={COMMITTEE}&token=")
        guest = await cluster.client(b)
        ack = await guest.call("join", {"name": "誰でも", "room": COMMITTEE, "lang": "ja",
                                        "token": promoted["token"]})
        assert ack["ok"], ack
        if ack.get("place") == "lobby":
            await staff.act("lobby:admit", {"target": ack["self"]})
            ack = await guest.expect("meeting:admitted")
        me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
        assert me["name"] == "傍聴の佐藤" and me["role"] == "citizen"


async def test_a_node_that_dies_leaves_the_gallery_count(
        cluster: Cluster) -> None:  # noqa: F811 (the fixture)  # fmt: skip
    a, b = cluster.node("a"), cluster.node("b")
    async with websockets.connect(gallery_url(a), max_queue=None, proxy=None) as on_a, \
            websockets.connect(gallery_url(b), max_queue=None, proxy=None) as _on_b:
        await next_state(on_a, "count", match=lambda m: m["viewers"] == 2, within=6.0)
        b.kill()  # no word of its viewers leaving
        started = time.monotonic()
        left = await next_state(on_a, "count", match=lambda m: m["viewers"] == 1, within=10.0)
        assert left["peak"] == 2, "the peak stays"
        print(f"the dead node's viewer left the count after {time.monotonic() - started:.1f} s")
