"""A closed session (秘密会) through the real server (issue 16): a citizen hears a member's
voice, sees their avatar move and reads their chat before; during, not one audio packet,
motion frame, chat line or committee detail reaches the citizen (only the closed notice);
after, all of it again. The recording holds a closed-session marker and nothing from
inside, and the public minutes say "秘密会 HH:MM–HH:MM" and nothing said inside.
One server for the module: the scenario is one meeting."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

import aiohttp

from avatar import codec as pose_codec
from avatar.pose import Pose, TrackingState
from bench.clients.audio_peers import Listener, Tone, speak
from rooms.model import Role
from server.app import RECORDINGS_KEY
from server.config.settings import Settings
from server.motion import codec
from server.recording.event_log import read_events
from server.recording.minutes import build_minutes
from server.recording.minutes_render import render_html, render_markdown
from server.recording.recorder import EVENTS
from server.rtc.ice import rtc_configuration
from tests.conftest import Server, eventually, running_server
from tests.meetings import COMMITTEE, add_staff, admitted, console, participant

CONFIG = rtc_configuration([])
SECRET = "秘密の発言"
SECRET_MOTION = "秘密の議案"


async def open_motion(server: Server, ack: dict[str, Any]) -> tuple[
        aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(server.url.replace("http", "ws") + ack["motion"]["path"])
    await ws.send_str(ack["motion"]["token"])
    assert (await ws.receive()).data == "ok"
    return http, ws


async def frames_of(ws: aiohttp.ClientWebSocketResponse, slot: int, seconds: float,
                    move: Any) -> int:
    """Frames carrying ``slot`` received within ``seconds`` while ``move()`` runs often."""
    got = 0
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        await move()
        try:
            msg = await ws.receive(timeout=min(left, 0.1))
        except TimeoutError:
            continue
        if msg.type is aiohttp.WSMsgType.BINARY:
            _tick, entries = codec.decode_frame(msg.data)
            got += sum(1 for e in entries if e.slot == slot)
    return got


async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Read away the frames sent before now (they wait in the socket's buffer)."""
    while True:
        try:
            await ws.receive(timeout=0.3)
        except TimeoutError:
            return


async def test_a_closed_session(settings: Settings) -> None:
    settings = replace(settings, ice_host_addresses=("127.0.0.1",))
    made: list[Any] = []
    listeners: list[Listener] = []
    pcs: list[Any] = []
    sockets: list[Any] = []
    async with running_server(settings) as server:
        try:
            await run(server, made, listeners, pcs, sockets)
        finally:
            for listener in listeners:
                await listener.close()
            for pc in pcs:
                await pc.close()
            for ws, http in sockets:
                await ws.close()
                await http.close()
            for c in made:
                await c.close()


async def run(server: Server, made: list[Any], listeners: list[Listener], pcs: list[Any],
              sockets: list[Any]) -> None:
    await add_staff(server)
    staff = await console(server, made)
    rid = (await staff.act("recording:start", {"room": COMMITTEE}))["id"]
    member = await admitted(server, made, staff, "田中委員", Role.MEMBER)
    citizen = await admitted(server, made, staff, "さくら", Role.CITIZEN)
    committee: list[Any] = []

    async def on_state(data: Any) -> None:
        committee.append(data)

    citizen.sio.on("committee:state", on_state)

    # The member holds the floor and speaks a 1 kHz tone; the citizen listens.
    await member.act("hand:raise")
    await staff.act("floor:give", {"limit": 600})
    await member.expect("meeting:floor", lambda f: f["holder"] == member.ack["self"])

    async def publish(sdp: str) -> str:
        ack = await member.act("audio:publish", {"type": "offer", "sdp": sdp})
        return str(ack["sdp"])

    async def listen(sdp: str) -> str:
        ack = await citizen.act("audio:listen", {"sdp": sdp, "slots": 2})
        return str(ack["sdp"])

    pcs.append(await speak(CONFIG, lambda _p, _r, sdp: publish(sdp), "", "", Tone(1000)))
    listener = Listener(CONFIG, 2)
    listeners.append(listener)
    await listener.connect(lambda _p, _r, sdp: listen(sdp), "", "")

    # The member's avatar moves on the stage (a new pose each time); the citizen watches.
    m_motion = await open_motion(server, member.ack)
    c_motion = await open_motion(server, citizen.ack)
    sockets += [m_motion, c_motion]
    me = next(p for p in member.ack["snapshot"]["participants"]
              if p["id"] == member.ack["self"])
    roll = [0.0]

    async def move() -> None:
        roll[0] = (roll[0] + 7.0) % 60
        record = pose_codec.encode(Pose(1, TrackingState.TRACKED, roll=roll[0]))
        await m_motion[1].send_bytes(codec.encode_uplink(me["x"], me["z"], me["h"], record))

    async def heard(seconds: float = 0.8) -> tuple[set[int], int]:
        listener.clear()
        frames = listener.frames
        await asyncio.sleep(seconds)
        return listener.tones(), listener.frames - frames

    await eventually(lambda: 1000 in listener.tones(), within=8, what="the tone before")
    assert await frames_of(c_motion[1], me["slot"], 0.4, move) > 0, "motion before"
    await member.act("chat:send", {"text": "公開の発言"})
    await citizen.expect("meeting:event", lambda e: e.get("type") == "chat.posted")

    # Someone waits in the lobby when it closes (admitted during it, below).
    waiting = await participant(server, made, "待つ市民", COMMITTEE)
    assert waiting.ack["place"] == "lobby"

    # The committee closes its session.
    await staff.act("committee:closed_session", {"closed": True, "reason": "個人情報"})
    notice = await citizen.expect("meeting:notice", lambda n: n["kind"] == "closed_session")
    assert set(notice) == {"kind", "room", "since"}, "only that it is closed, and since when"
    seen_before = len(citizen.seen)
    states_before = len(committee)
    await asyncio.sleep(0.3)  # packets already on the wire when it closed
    tones, frames = await heard()
    assert tones == set() and frames == 0, "not one audio packet reaches the citizen"
    await drain(c_motion[1])
    assert await frames_of(c_motion[1], me["slot"], 0.4, move) == 0, "no motion frames"
    await member.act("chat:send", {"text": SECRET})
    await staff.act("committee:motion", {"title": SECRET_MOTION})
    await member.expect("meeting:event", lambda e: e.get("type") == "chat.posted"
                        and e.get("message", {}).get("text") == SECRET)
    await asyncio.sleep(0.2)  # the coalesced committee:state (50 ms) would have come
    during = citizen.seen[seen_before:]
    assert SECRET not in repr(during) and SECRET_MOTION not in repr(during), during
    assert all(name == "meeting:notice" for name, _ in during), during
    assert len(committee) == states_before, "no committee:state while closed"

    # Someone joining during the closed session is held out from the first moment.
    late = await admitted(server, made, staff, "遅れた市民", Role.CITIZEN)
    assert SECRET not in repr(late.ack) and SECRET_MOTION not in repr(late.ack), late.ack
    assert late.ack["meeting"]["closed_session"]["since"] == notice["since"]

    # The one waiting in the lobby is admitted during it: held out all the same.
    await staff.act("lobby:admit", {"target": waiting.ack["self"]})
    admission = await waiting.expect("meeting:admitted")
    assert SECRET not in repr(admission) and SECRET_MOTION not in repr(admission)
    await waiting.expect("meeting:notice", lambda n: n["kind"] == "closed_session")
    await member.act("chat:send", {"text": SECRET + "二"})
    await member.expect("meeting:event", lambda e: e.get("type") == "chat.posted"
                        and e.get("message", {}).get("text") == SECRET + "二")
    await asyncio.sleep(0.2)
    assert SECRET not in repr(waiting.seen), waiting.seen
    assert SECRET not in repr(citizen.seen[seen_before:])

    # It reopens: the citizen is let back in, hears, sees and reads again.
    await staff.act("committee:closed_session", {"closed": False})
    back = await citizen.expect("meeting:notice", lambda n: n["kind"] == "closed_session_ended")
    assert back["meeting"]["committee"]["closed_session"] is None
    assert late.ack["self"] in {p["id"] for p in back["snapshot"]["participants"]}, \
        "the avatars as they are now (the late joiner came in while it was closed)"
    await eventually(lambda: 1000 in listener.tones(), within=8, what="the tone after")
    assert await frames_of(c_motion[1], me["slot"], 0.4, move) > 0, "motion after"
    await member.act("chat:send", {"text": "再開後の発言"})
    await citizen.expect("meeting:event", lambda e: e.get("type") == "chat.posted"
                         and e["message"]["text"] == "再開後の発言")
    await eventually(lambda: bool(committee) and committee[-1]["closed_session"] is None)

    await staff.act("recording:stop", {"room": COMMITTEE})
    folder = server.settings.recordings_path / rid
    events = (await asyncio.to_thread(read_events, folder / EVENTS)).events
    marks = [e for e in events if e.data.get("type") == "committee.closed_session"]
    assert [m.data["closed"] for m in marks] == [True, False]
    inside = [e for e in events if marks[0].seq < e.seq < marks[1].seq]
    assert inside == [], inside
    log = (folder / EVENTS).read_text(encoding="utf-8")
    assert SECRET not in log and SECRET_MOTION not in log and "個人情報" not in log
    row = await server.app[RECORDINGS_KEY].index.get(rid)
    minutes = await asyncio.to_thread(build_minutes, folder, row, include_moderation=False,
                                      tz=server.settings.zone)
    start = datetime.fromtimestamp(marks[0].data["at"], server.settings.zone)
    end = datetime.fromtimestamp(marks[1].data["at"], server.settings.zone)
    text = render_markdown(minutes)
    span = f"秘密会 {start:%H:%M}–{end:%H:%M}"
    assert span in text, text
    assert SECRET not in text and SECRET_MOTION not in text and "個人情報" not in text
    page = render_html(minutes)
    assert span in page and SECRET not in page and SECRET_MOTION not in page
    assert any(e.get("type") == "chat.posted" for e in [x.data for x in events]), \
        "the open part is recorded"
