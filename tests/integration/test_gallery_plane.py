"""The public gallery plane (issue 19) through a running server and real WebSocket clients:
a viewer is told ``hello``, then gets frames with the stage member's pose and the floor
speaker's Opus packets (decoded here with libopus: a real tone); bad uplinks are answered
``error`` and the connection kept; a flood is closed 4429; the per-address and per-room caps
answer an ``error`` then close 4503; a viewer that never reads is skipped and then cut off
while another gets every frame; a closed session (秘密会) empties the frames; staff promote
a viewer (a single-use invitation that joins the room) and demote a participant; the
gallery's peak reaches the committee's record.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import av
import numpy as np
import pytest
import websockets

from avatar import codec as pose_codec
from avatar.pose import Pose, TrackingState
from bench.clients.audio_peers import Tone
from rooms.model import Role
from server.app import GALLERY_KEY
from server.config.settings import Settings
from server.console.routes import MEETINGS_KEY
from server.gallery import codec
from server.motion import codec as motion_codec
from server.rtc.ice import rtc_configuration
from tests.conftest import Client, Server, running_server
from tests.integration.test_committee_gallery import minutes_of
from tests.meetings import (
    COMMITTEE,
    CONSULTATION,
    MeetingClient,
    add_staff,
    admitted,
    console,
    login,
    participant,
    publish_audio,
    staff_post,
)

CONFIG = rtc_configuration([])


class _AnyText(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)

    __hash__ = str.__hash__


#: Any non-empty message text (the error's words are for people, not asserted here).
ANY_TEXT = _AnyText()
Ws = websockets.ClientConnection


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ice_host_addresses=("127.0.0.1",))


def ws_url(server: Server, room: str = COMMITTEE) -> str:
    return server.url.replace("http", "ws") + f"/gallery/ws?room={room}"


@contextlib.asynccontextmanager
async def viewer(server: Server, room: str = COMMITTEE, **kw: Any) -> AsyncIterator[Ws]:
    # (Unbounded: a test viewer that does not read for a while must not be a slow one.)
    kw.setdefault("max_queue", None)
    # (proxy=None: websockets takes https_proxy even for ws://, and MediaPipe's guard in
    # this process may have set it: avatar/telemetry.py. Loopback needs no proxy.)
    async with websockets.connect(ws_url(server, room), max_size=2**20, proxy=None, **kw) as ws:
        yield ws


async def next_state(ws: Ws, t: str, within: float = 3.0,
                     match: Callable[[dict[str, Any]], bool] = lambda _m: True,
                     ) -> dict[str, Any]:  # fmt: skip
    """The next STATE message of type ``t`` for which ``match`` holds (frames and other
    states in between skipped)."""
    async with asyncio.timeout(within):
        while True:
            msg = codec.decode(await ws.recv())
            if isinstance(msg, dict) and msg["t"] == t and match(msg):
                return msg


async def frames(ws: Ws, seconds: float) -> list[codec.Frame]:
    out: list[codec.Frame] = []
    end = time.monotonic() + seconds
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while time.monotonic() < end:
                msg = codec.decode(await ws.recv())
                if isinstance(msg, codec.Frame):
                    out.append(msg)
    return out


def tone_hz(payloads: list[bytes]) -> float:
    """The strongest frequency of the Opus packets, decoded with libopus (PyAV)."""
    decoder = av.CodecContext.create("libopus", "r")
    pcm = []
    for p in payloads:
        for frame in decoder.decode(av.Packet(p)):  # type: ignore[attr-defined]
            data = frame.to_ndarray().reshape(-1)
            pcm.append(data[:: len(frame.layout.channels)].astype(np.float64))
    mono = np.concatenate(pcm)[-48_000:]
    spectrum = np.abs(np.fft.rfft(mono))
    return float(np.argmax(spectrum[1:]) + 1) * 48_000 / mono.size


async def open_motion(server: Server, ack: dict[str, Any]) -> tuple[Any, Any]:
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(server.url.replace("http", "ws") + ack["motion"]["path"])
    await ws.send_str(ack["motion"]["token"])
    assert (await ws.receive()).data == "ok"
    return http, ws


def slot_of(ack: dict[str, Any], pid: str) -> int:
    return int(next(p["slot"] for p in ack["snapshot"]["participants"] if p["id"] == pid))


async def test_a_viewer_sees_the_stage_and_hears_the_floor(
        server: Server, made: list[Client]) -> None:  # fmt: skip
    await add_staff(server)
    staff = await console(server, made)
    chair = await admitted(server, made, staff, "委員長", Role.CHAIR)
    pid = chair.ack["self"]
    slot = slot_of(chair.ack, pid)
    tone = Tone(hz=600.0)
    pc = await publish_audio(chair, tone)
    m_http, m_ws = await open_motion(server, chair.ack)
    try:
        async with viewer(server) as ws:
            hello = await next_state(ws, "hello")
            assert hello["room"] == COMMITTEE and hello["kind"] == "committee"
            assert hello["frame_ms"] == 60 and hello["viewers"] == 1 and not hello["closed"]
            # The page draws the real room and holds the faces back by the audio's lag.
            assert hello["audio_lag_ms"] == 80
            assert hello["layout"]["stage"] and hello["layout"]["seats"]
            assert all(seat["occupant"] is None for seat in hello["layout"]["seats"])
            assert {"slot": slot, "name": "委員長", "role": "chair"}.items() <= next(
                p for p in hello["people"] if p["slot"] == slot).items()
            assert "floor" in hello and "agenda" in hello
            me = next(p for p in chair.ack["snapshot"]["participants"] if p["id"] == pid)
            record = pose_codec.encode(Pose(1, TrackingState.TRACKED, roll=20.0))
            await m_ws.send_bytes(motion_codec.encode_uplink(me["x"], me["z"], me["h"], record))

            # (3 s: ~50 frames on a quiet machine; the bounds below hold on a loaded one)
            got = await frames(ws, 3.0)
            assert len(got) >= 15  # ~16 a second at 60 ms
            assert all(b.seq > a.seq for a, b in itertools.pairwise(got))
            posed = [e for f in got for e in f.entries if e.slot == slot and e.pose is not None]
            assert posed and abs(posed[-1].pose.roll - 20.0) < 1.0  # type: ignore[union-attr]
            assert all(f.crowd >= 1 for f in got)
            audio = [a for f in got for a in f.audio]
            assert len(audio) >= 40, len(audio)  # 50 packets a second, three per frame
            assert {a.slot for a in audio} == {slot}
            assert all(a.age_ms < 400 for a in audio)  # sent with the next frame, not queued
            assert abs(tone_hz([a.payload for a in audio]) - 600.0) <= 50.0

            # Bad uplinks: answered, the connection kept.
            await ws.send(b"\x00\x01")
            assert (await next_state(ws, "error"))["reason"] == "bad_payload"
            await ws.send(json.dumps({"t": "wave"}))
            assert (await next_state(ws, "error"))["reason"] == "bad_payload"
            await ws.send(json.dumps({"t": "hand", "up": "yes"}))
            assert (await next_state(ws, "error"))["reason"] == "bad_field"
            await ws.send(json.dumps({"t": "ask", "name": "x" * 600}))
            assert (await next_state(ws, "error"))["reason"] == "bad_payload"
            await ws.send(json.dumps({"t": "hand", "up": True}))
            await ws.send(json.dumps({"t": "ask", "name": "ＡＢ さん", "text": "質問です"}))
            assert await frames(ws, 0.3)  # still served

            # The meeting's public changes follow: a caption line, the agenda moving on.
            await staff.act("caption:post", {"text": "ただいまから始めます"})
            caption = await next_state(ws, "caption")
            assert caption["change"] == "caption.posted"
            assert caption["line"]["text"] == "ただいまから始めます"
            await staff.act("agenda:advance")
            moved = await next_state(ws, "state", match=lambda m: "agenda" in m)
            assert moved["agenda"]["current"] is not None and "people" not in moved
            # The floor names its holder's slot (the page knows people by slot only).
            assert hello["floor"]["holder_slot"] is None
            member = await admitted(server, made, staff, "田中委員", Role.MEMBER)
            mid = member.ack["self"]
            await staff.act("floor:give", {"target": mid, "limit": 120})
            given = await next_state(ws, "state", match=lambda m: "floor" in m
                                     and m["floor"]["holder"] == mid)  # fmt: skip
            assert given["floor"]["holder_slot"] == slot_of(member.ack, mid) != slot

            # Staff see the hand and the request, and the count.
            cookie, _ = await login(server)
            async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http, \
                    http.get(server.url + f"/api/rooms/{COMMITTEE}/gallery") as r:
                body = await r.json()
            assert r.status == 200 and body["viewers"] == 1 and body["peak"] == 1
            [req] = body["requests"]
            assert req["viewer"] == hello["viewer"] and req["name"] == "AB さん"
            assert req["hand"] and req["ask"] and req["text"] == "質問です"
            async with aiohttp.ClientSession() as http, \
                    http.get(server.url + f"/api/rooms/{COMMITTEE}/gallery") as r:
                assert r.status == 401  # no staff session

            # A flood: the eleventh message within ten seconds closes the socket.
            for _ in range(10):
                await ws.send(json.dumps({"t": "hand", "up": False}))
            with pytest.raises(websockets.ConnectionClosed):
                async with asyncio.timeout(3):
                    while True:
                        await ws.recv()
            assert ws.close_code == 4429

        # Unknown room: 4404.
        async with viewer(server, "no-such-room") as ws:
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 4404
        stats = server.app[MEETINGS_KEY]  # (the plane's counters through /metrics)
        assert stats is not None
        async with aiohttp.ClientSession() as http, http.get(server.url + "/metrics") as r:
            text = await r.text()
        assert "hiroba_gallery_frames_total" in text and "hiroba_gallery_writes_total" in text
    finally:
        await pc.close()
        await m_ws.close()
        await m_http.close()


async def test_closed_session_promotion_demotion_and_the_count(
        server: Server, made: list[Client]) -> None:  # fmt: skip
    await add_staff(server)
    cookie, csrf = await login(server)
    staff = await console(server, made)
    chair = await admitted(server, made, staff, "委員長", Role.CHAIR)
    pc = await publish_audio(chair, Tone())
    try:
        async with viewer(server) as a, viewer(server) as b, viewer(server) as c:
            hello = await next_state(a, "hello")
            await next_state(b, "hello")
            await next_state(c, "hello")
            # A sitting begins with three viewers present: its gallery counts them.
            rid = (await staff.act("recording:start", {"room": COMMITTEE}))["id"]
            count = await next_state(a, "count", within=3, match=lambda m: m["viewers"] == 3)
            assert count == {"t": "count", "viewers": 3, "peak": 3}
            await c.close()

            # 秘密会: told, and the frames are flagged and empty from then on.
            assert any(f.audio for f in await frames(a, 0.5))
            await staff.act("chat:send", {"text": "公開中の発言"})
            await staff.act("committee:closed_session", {"closed": True, "reason": "人事"})
            assert (await next_state(a, "state"))["closed"] is True
            during = await frames(a, 0.6)
            assert during and all(f.closed and not f.entries and not f.audio and f.crowd == 0
                                  for f in during)
            async with viewer(server) as late:  # who comes during it learns nothing of it
                told = await next_state(late, "hello")
                assert told["closed"] is True and told["people"] == [] and "floor" not in told
                assert told["chat"] == [] and told["opinions"] == []
            await staff.act("committee:closed_session", {"closed": False})
            reopened = await next_state(a, "state")
            assert reopened == {"t": "state", "closed": False}
            whole = await next_state(a, "state")  # the public state again
            assert "people" in whole and "floor" in whole
            # What was said before and during it: the whole list again (the room's own).
            assert [m["text"] for m in whole["chat"]] == ["公開中の発言"]
            after = await frames(a, 0.6)
            assert not after[-1].closed and any(f.audio for f in after)

            # Staff promote a viewer who asked: a single-use invitation in its name, never
            # one that passes for the chair.
            path = f"/api/rooms/{COMMITTEE}/gallery/{hello['viewer']}/promote"
            await a.send(json.dumps({"t": "ask", "name": "委員長"}))
            await asyncio.sleep(0.1)
            status, body = await staff_post(server, path, {}, cookie=cookie, csrf=csrf)
            assert status == 400 and body["reason"] == "name_reserved", body
            await a.send(json.dumps({"t": "ask", "name": "傍聴の田中"}))
            await asyncio.sleep(0.1)
            status, body = await staff_post(server, path, {}, cookie=cookie, csrf="wrong")
            assert status == 403 and body["reason"] == "bad_csrf"
            status, body = await staff_post(server, f"/api/rooms/{COMMITTEE}/gallery/nobody/"
                                            "promote", {}, cookie=cookie, csrf=csrf)
            assert status == 404 and body["reason"] == "no_such_item"
            status, body = await staff_post(server, path, {}, cookie=cookie, csrf=csrf)
            assert status == 200, body
            promoted = await next_state(a, "promoted")
            assert promoted["url"].startswith(f"/?room={COMMITTEE}&token=")
            guest = MeetingClient(server.url)
            made.append(await guest.connect())
            ack = await guest.call("join", {"name": "誰でも", "room": COMMITTEE, "lang": "ja",
                                            "token": promoted["token"]})
            assert ack["ok"], ack
            if ack.get("place") == "lobby":  # the room's lobby rules still apply
                await staff.act("lobby:admit", {"target": ack["self"]})
                ack = await guest.expect("meeting:admitted")
            me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
            assert me["name"] == "傍聴の田中" and me["role"] == "citizen"
            again = MeetingClient(server.url)
            made.append(await again.connect())
            used = await again.call("join", {"name": "x", "room": COMMITTEE, "lang": "ja",
                                             "token": promoted["token"]})
            assert not used["ok"] and used["reason"] == "bad_token"  # single use

            # Staff demote the participant: told where the gallery is, out of the room.
            gone = f"/api/rooms/{COMMITTEE}/participants/{ack['self']}/demote"
            status, body = await staff_post(server, gone, {}, cookie=cookie, csrf=csrf)
            assert status == 200, body
            notice = await guest.expect("meeting:notice", lambda n: n["kind"] == "demoted")
            assert notice["gallery"] == f"/gallery?room={COMMITTEE}"
            assert await guest.ended()
            meeting = server.app[MEETINGS_KEY].meetings[COMMITTEE]
            assert ack["self"] not in meeting.people
            status, body = await staff_post(server, f"/api/rooms/{COMMITTEE}/participants/"
                                            f"{staff.ack['self']}/demote", {}, cookie=cookie,
                                            csrf=csrf)  # fmt: skip
            assert status == 400 and body["reason"] == "protected_target", body
            audit = await server.app[MEETINGS_KEY].records.audit(COMMITTEE)
            moved = [e for e in audit if e.action == "gallery.move"]
            assert len(moved) == 2 and {e.actor for e in moved} == {"jimu"}, moved

        # The sitting's minutes hold the gallery plane's viewers (傍聴者数): at most three at
        # once; five in all (a, b, c, the late viewer, and the promoted one's seat).
        text, _ = await minutes_of(server, staff, rid)
        assert "傍聴者: 最大 3名 / 延べ 5名" in text, text
    finally:
        await pc.close()


async def test_the_public_chat_and_opinions_read_only(
        server: Server, made: list[Client]) -> None:  # fmt: skip
    await add_staff(server)
    staff = await console(server, made, room=CONSULTATION)
    category = staff.ack["meeting"]["categories"][0]
    citizen = await participant(server, made, "あおい", room=CONSULTATION)
    early = (await citizen.act("chat:send", {"text": "消される前の発言"}))["message"]
    await staff.act("chat:hide", {"message": early, "reason": "test"})
    async with viewer(server, CONSULTATION) as ws:
        hello = await next_state(ws, "hello")
        assert hello["chat"] == [] and hello["opinions"] == []  # the hidden one is not there
        assert hello["categories"]

        # A message and an opinion, each told once as the room tells its citizens.
        sent = (await citizen.act("chat:send", {"text": "公園の件です"}))["message"]
        chat = await next_state(ws, "chat")
        assert chat["change"] == "chat.posted"
        assert chat["message"] == {"id": sent, "author": citizen.ack["self"],
                                   "author_name": "あおい", "author_role": "citizen",
                                   "text": "公園の件です", "at": chat["message"]["at"],
                                   "hidden": False}
        opinion = (await citizen.act("opinion:submit", {"category": category,
                                                         "text": "ベンチを増やして"}))["opinion"]
        told = await next_state(ws, "opinion")
        assert told["change"] == "submitted" and told["opinion"]["id"] == opinion
        assert told["opinion"]["text"] == "ベンチを増やして"
        assert told["opinion"]["author_name"] == "あおい"
        assert "supporters" not in told["opinion"] and "author_key" not in told["opinion"]

        # Staff hide it: the viewer is told its id only, the words are not sent again.
        await staff.act("chat:hide", {"message": sent, "reason": "test"})
        hidden = await next_state(ws, "chat")
        assert hidden == {"t": "chat", "change": "chat.hidden",
                          "message": {"id": sent, "hidden": True}}
        await staff.act("opinion:hide", {"opinion": opinion, "hidden": True})
        gone = await next_state(ws, "opinion")
        assert gone["opinion"] == {"id": opinion, "hidden": True}
        await staff.act("opinion:hide", {"opinion": opinion, "hidden": False})
        await next_state(ws, "opinion", match=lambda m: not m["opinion"]["hidden"])
        late_text = (await citizen.act("chat:send", {"text": "まだあります"}))["message"]
        other = (await citizen.act("opinion:submit", {"category": category,
                                                       "text": "隠される意見"}))["opinion"]
        await staff.act("opinion:hide", {"opinion": other, "hidden": True})

    # A viewer who comes later gets the recent ones, the hidden ones left out.
    async with viewer(server, CONSULTATION) as ws:
        hello = await next_state(ws, "hello")
        assert [m["id"] for m in hello["chat"]] == [late_text]
        assert [o["id"] for o in hello["opinions"]] == [opinion]
        assert hello["opinions"][0]["category"] == category


class Stalled:
    """A viewer's real transport that says it is full while ``busy`` (a page that stopped
    reading for a moment): what the plane skips."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.busy = False

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def get_write_buffer_size(self) -> int:
        return 1 << 30 if self.busy else int(self.transport.get_write_buffer_size())

    def is_closing(self) -> bool:
        return bool(self.transport.is_closing())

    def abort(self) -> None:
        self.transport.abort()


async def test_a_viewer_that_missed_a_state_message_gets_the_state_again(
        server: Server, made: list[Client]) -> None:  # fmt: skip
    """A viewer skipped while busy misses a ``chat.hidden``: once it takes frames again it
    is sent the whole public state (the chat without the hidden line), not left with it."""
    await add_staff(server)
    staff = await console(server, made, room=CONSULTATION)
    citizen = await participant(server, made, "あおい", room=CONSULTATION)
    said = (await citizen.act("chat:send", {"text": "あとで消される発言"}))["message"]
    kept = (await citizen.act("chat:send", {"text": "残る発言"}))["message"]
    async with viewer(server, CONSULTATION) as ws:
        hello = await next_state(ws, "hello")
        assert [m["id"] for m in hello["chat"]] == [said, kept]
        seen = server.app[GALLERY_KEY].viewer(CONSULTATION, hello["viewer"])
        stalled = seen.transport = Stalled(seen.transport)
        stalled.busy = True
        await staff.act("chat:hide", {"message": said, "reason": "test"})
        await asyncio.sleep(0.2)  # (a few frames skipped meanwhile)
        stalled.busy = False
        again = await next_state(ws, "state", match=lambda m: "chat" in m)
        assert [m["id"] for m in again["chat"]] == [kept]
        assert again["viewers"] == 1 and "people" in again and "floor" in again


def proxied(address: str) -> dict[str, Any]:
    return {"additional_headers": {"X-Forwarded-For": address}}


def silent_viewer(server: Server, address: str) -> socket.socket:
    """A gallery viewer that opens the WebSocket and never reads a byte (a small receive
    buffer, so that the server's own buffer fills soon)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.settings.port))
    sock.sendall((f"GET /gallery/ws?room={COMMITTEE} HTTP/1.1\r\n"
                  f"Host: 127.0.0.1:{server.settings.port}\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  f"Sec-WebSocket-Version: 13\r\nX-Forwarded-For: {address}\r\n\r\n"
                  ).encode())  # fmt: skip
    return sock


async def closed_with(ws: Ws) -> tuple[dict[str, Any], int | None]:
    """The error a refused viewer is sent, and the close code that follows it."""
    error = await next_state(ws, "error")
    with pytest.raises(websockets.ConnectionClosed):
        await ws.recv()
    return error, ws.close_code


async def test_caps_and_a_viewer_that_never_reads(settings: Settings) -> None:
    settings = replace(settings, trusted_proxies=("127.0.0.1/32",),
                       gallery_viewers_per_address=2, gallery_max_per_room=6,
                       gallery_busy_bytes=2048, gallery_cut_seconds=1.0)
    made: list[Client] = []
    async with running_server(settings) as server, contextlib.AsyncExitStack() as stack:
        try:
            await add_staff(server)
            staff = await console(server, made)
            chair = await admitted(server, made, staff, "委員長", Role.CHAIR)
            pc = await publish_audio(chair, Tone())
            stack.push_async_callback(pc.close)
            # Per address: two; the third is told, then closed 4503. An IPv6 /64 is
            # one address.
            for address in ("203.0.113.7", "203.0.113.7", "2001:db8:1:2::1",
                            "2001:db8:1:2:ffff::9"):
                ws = await stack.enter_async_context(viewer(server, **proxied(address)))
                await next_state(ws, "hello")
            async with viewer(server, **proxied("203.0.113.7")) as third:
                assert await closed_with(third) == ({"t": "error", "reason": "address_limit",
                                                     "message": ANY_TEXT}, 4503)
            async with viewer(server, **proxied("2001:db8:1:2:abcd::7")) as same_net:
                assert (await closed_with(same_net))[1] == 4503
            # A viewer that never reads (a small receive buffer, no reading) next to one
            # that reads: the first is skipped, then cut off; the other misses no frame.
            sleeper = silent_viewer(server, "198.51.100.1")
            stack.callback(sleeper.close)
            reader = await stack.enter_async_context(viewer(server, **proxied("198.51.100.2")))
            await next_state(reader, "hello")
            # The room's cap (six here): the next is told room_full.
            async with viewer(server, **proxied("198.51.100.3")) as seventh:
                assert (await closed_with(seventh))[0]["reason"] == "room_full"
            plane = server.app[GALLERY_KEY]
            got = await frames(reader, 3.0)
            seqs = [f.seq for f in got]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a frame was missed"
            assert len(got) >= 40
            assert plane.stats.skipped > 0 and plane.stats.cut_off == 1
            assert plane.count(COMMITTEE)[0] == 5  # the sleeper is gone
            sleeper.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                while sleeper.recv(65536):  # what was waiting, then the end: cut off
                    pass
        finally:
            for c in made:
                await c.close()
