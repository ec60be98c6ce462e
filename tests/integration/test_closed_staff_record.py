"""The staff-only record of a closed session (秘密会, ``closed_session_staff_record``;
issue 16) through the real server: a recorded committee meets, closes its session, speaks,
moves, puts a motion and votes on it by name, reopens.

With the setting on, the public recording holds nothing from inside (markers only) and a
staff record holds all of it (audio, motion, the event log with the vote by name, its
minutes); every public route answers 404 for the staff record's id, whoever asks, and
publishing it is refused; staff list and read it through /api/staff-records only, each
read audited. With the setting off, no staff record is made, and one a crash left open
is closed at start (recovery).

Each was seen to fail with its defence removed: the setting's check (a staff record made
with it off), the recovery call at start (left "recording"), the staff session check of
/api/staff-records (200 without a session), the audit commit (0 entries), the publish
refusal (404 instead of 403 forbidden), the staff listing's session check (the public list
names the staff record), the staff feeds of audio, motion and events (no speakers, no
poses, no secret line), the held-out filter (the citizen in its minutes), the staff
heading, the start of one when a recording starts during a closed session, the symlink
refusal in ``find``, and the sweep's keep and retention-0 guards.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from avatar import codec as pose_codec
from avatar.pose import Pose, TrackingState
from bench.clients.audio_peers import Tone, speak
from rooms.errors import HirobaError
from rooms.model import Role
from server.config.settings import Settings
from server.motion import codec
from server.recording.event_log import EventKind
from server.recording.motion_log import MotionLog
from server.recording.recorder import (
    Manifest,
    Recorder,
    RecordingState,
    read_manifest,
    write_manifest,
)
from server.recording.staff_record import find, list_records, new_staff_dir, staff_root, sweep
from server.rtc.ice import rtc_configuration
from tests.conftest import Server, eventually, running_server
from tests.meetings import COMMITTEE, MeetingClient, add_staff, admitted, console, login

CONFIG = rtc_configuration([])
SECRET = "秘密会での発言"
SECRET_MOTION = "秘密の人事案"
FILES = ("recording.json", "motion.bin", "events.jsonl", "audio/01.opus")


async def get(server: Server, path: str, cookie: str | None = None) -> tuple[int, bytes]:
    headers = {"Cookie": cookie} if cookie else {}
    async with aiohttp.ClientSession() as http, http.get(
        URL(server.url + path, encoded=True), headers=headers
    ) as r:
        return r.status, await r.read()


async def post(server: Server, path: str, cookie: str | None = None,
               csrf: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Cookie": cookie} if cookie else {}
    if csrf:
        headers["X-CSRF-Token"] = csrf
    async with aiohttp.ClientSession() as http, http.post(
        server.url + path, json={}, headers=headers
    ) as r:
        return r.status, await r.json()


def public_routes(rid: str) -> list[str]:
    """Every route of the public recordings API and the archive, for id ``rid``."""
    return [f"/api/recordings/{rid}", *(f"/api/recordings/{rid}/files/{n}" for n in FILES),
            f"/api/recordings/{rid}/minutes?format=md",
            f"/api/recordings/{rid}/minutes?format=html",
            f"/api/recordings/{rid}/minutes?format=md&staff=1",
            f"/api/recordings/{rid}/minutes?format=md&generated=1"]


def staff_routes(sid: str) -> list[str]:
    return [f"/api/staff-records/{sid}", *(f"/api/staff-records/{sid}/files/{n}" for n in FILES),
            f"/api/staff-records/{sid}/minutes?format=md",
            f"/api/staff-records/{sid}/minutes?format=html"]


async def sitting(server: Server, made: list[Any], pcs: list[Any],
                  sockets: list[Any]) -> tuple[str, MeetingClient]:
    """A recorded committee sitting with a closed part; the public recording's id (stopped)."""
    await add_staff(server)
    staff = await console(server, made)
    rid = (await staff.act("recording:start", {"room": COMMITTEE}))["id"]
    chair = await admitted(server, made, staff, "山田委員長", Role.CHAIR)
    a = await admitted(server, made, staff, "委員A")
    b = await admitted(server, made, staff, "委員B")
    await admitted(server, made, staff, "さくら", Role.CITIZEN)
    await chair.act("committee:rollcall", {"open": True})
    for who in (chair, a, b):
        await who.act("committee:present")
    await chair.act("committee:rollcall", {"open": False})
    for seat in ("m:山田委員長", "m:委員A", "m:委員B"):
        await staff.act("committee:verify", {"member": seat, "method": "video"})

    # 委員A holds the floor and speaks a tone; their avatar moves on the stage.
    await a.act("hand:raise")
    await staff.act("floor:give", {"limit": 600})

    async def publish(sdp: str) -> str:
        return str((await a.act("audio:publish", {"type": "offer", "sdp": sdp}))["sdp"])

    pcs.append(await speak(CONFIG, lambda _p, _r, sdp: publish(sdp), "", "", Tone(1000)))
    http = aiohttp.ClientSession()
    ws = await http.ws_connect(server.url.replace("http", "ws") + a.ack["motion"]["path"])
    sockets.append((ws, http))
    await ws.send_str(a.ack["motion"]["token"])
    assert (await ws.receive()).data == "ok"
    me = next(p for p in a.ack["snapshot"]["participants"] if p["id"] == a.ack["self"])

    async def move(seconds: float) -> None:
        end = asyncio.get_running_loop().time() + seconds
        roll = 0.0
        while asyncio.get_running_loop().time() < end:
            roll = (roll + 7.0) % 60
            record = pose_codec.encode(Pose(1, TrackingState.TRACKED, roll=roll))
            await ws.send_bytes(codec.encode_uplink(me["x"], me["z"], me["h"], record))
            await asyncio.sleep(0.05)

    await a.act("chat:send", {"text": "公開の発言"})
    await move(0.3)
    await staff.act("committee:closed_session", {"closed": True, "reason": "人事案件"})
    await a.act("chat:send", {"text": SECRET})
    motion = (await chair.act("committee:motion", {"title": SECRET_MOTION}))["motion"]
    opened = await chair.act("committee:vote_open", {"motion": motion, "method": "named"})
    await a.act("committee:vote_cast", {"vote": opened["vote"], "choice": "yes"})
    await b.act("committee:vote_cast", {"vote": opened["vote"], "choice": "no"})
    await move(1.2)  # speech and poses inside (the tone plays all along)
    await chair.act("committee:vote_close", {"vote": opened["vote"]})
    await chair.act("committee:decide", {"vote": opened["vote"], "outcome": "passed"})
    await staff.act("committee:closed_session", {"closed": False})
    await a.act("chat:send", {"text": "再開後の発言"})
    await asyncio.sleep(0.1)  # the last lines reach the recorder's queue
    await staff.act("recording:stop", {"room": COMMITTEE})
    return rid, staff


async def test_staff_record_of_a_closed_session(settings: Settings) -> None:
    settings = replace(settings, ice_host_addresses=("127.0.0.1",),
                       closed_session_staff_record=True)
    made: list[Any] = []
    pcs: list[Any] = []
    sockets: list[Any] = []
    async with running_server(settings) as server:
        try:
            rid, staff = await sitting(server, made, pcs, sockets)
            await check_on(server, rid)
            await started_while_closed(server, staff)
        finally:
            for pc in pcs:
                await pc.close()
            for ws, http in sockets:
                await ws.close()
                await http.close()
            for c in made:
                await c.close()


async def check_on(server: Server, rid: str) -> None:
    root = server.settings.recordings_path
    cookie, csrf = await login(server)

    # Staff see that a staff record exists, from the public recording's staff listing.
    status, body = await get(server, "/api/recordings?all=1", cookie)
    assert status == 200
    item = next(r for r in json.loads(body) if r["id"] == rid)
    assert len(item["staff_records"]) == 1, item
    sid = item["staff_records"][0]["id"]
    status, body = await get(server, f"/api/staff-records?recording={rid}", cookie)
    assert status == 200 and [r["id"] for r in json.loads(body)] == [sid]

    async def stopped() -> bool:
        status, body = await get(server, f"/api/staff-records/{sid}", cookie)
        return status == 200 and json.loads(body)["state"] == "stopped"

    await eventually(stopped, within=5, what="the staff record closed")

    # The public recording: markers, nothing from inside.
    public_log = (root / rid / "events.jsonl").read_text("utf-8")
    assert SECRET not in public_log and SECRET_MOTION not in public_log
    assert "人事案件" not in public_log and "公開の発言" in public_log
    assert '"action":"paused"' in public_log.replace(" ", "")

    # The staff record: the closed part, unredacted, with audio and motion.
    folder = new_staff_dir(root, rid, sid)
    manifest = read_manifest(folder)
    assert manifest.state is RecordingState.STOPPED and manifest.room == COMMITTEE
    staff_log = (folder / "events.jsonl").read_text("utf-8")
    assert SECRET in staff_log and SECRET_MOTION in staff_log and "人事案件" in staff_log
    assert "公開の発言" not in staff_log and "再開後の発言" not in staff_log
    assert manifest.speakers, "the speaker's audio inside the closed part"
    assert (folder / "audio" / "01.opus").stat().st_size > 4000, "speech, not only silence"
    poses = [r for r in MotionLog.open(folder / "motion.bin").records() if r[0] == 1]
    assert poses, "the stage avatar's poses inside the closed part"

    # Its minutes (staff): the vote by name and the motion; the public minutes: neither.
    status, body = await get(server, f"/api/staff-records/{sid}/minutes?format=md", cookie)
    minutes = body.decode()
    assert status == 200, minutes
    assert SECRET_MOTION in minutes and "| 委員A | 賛成 |" in minutes \
        and "| 委員B | 反対 |" in minutes, minutes
    assert "（職員限りの記録。公開しない）" in minutes and "さくら" not in minutes, \
        "said to be the staff record; the held-out citizen was not in the closed session"
    for query in ("format=md", "format=md&staff=1"):
        status, body = await get(server, f"/api/recordings/{rid}/minutes?{query}", cookie)
        assert status == 200 and SECRET_MOTION not in body.decode() and "秘密会" in body.decode()

    # Staff download every file of it; each read is in the audit log.
    for path in staff_routes(sid):
        status, body = await get(server, path, cookie)
        assert status == 200, (path, body[:200])
    status, body = await get(server, f"/api/rooms/{COMMITTEE}/audit", cookie)
    assert status == 200
    audit_text = body.decode()
    assert audit_text.count(sid) >= len(staff_routes(sid)), "every read audited"

    # Nobody gets it from a public route: the public, a forged session, staff alike.
    forged = "hiroba_session=" + "A" * 43
    for who in (None, forged, cookie):
        for path in public_routes(sid):
            status, body = await get(server, path, who)
            assert status == 404, (who, path, status, body[:200])
            assert SECRET.encode() not in body
        status, body = await get(server, "/api/recordings", who)
        assert sid.encode() not in body
    # Published, the public recording says nothing of its staff record to the public.
    assert (await post(server, f"/api/recordings/{rid}/publish", cookie, csrf))[0] == 200
    for path in ("/api/recordings", f"/api/recordings/{rid}",
                 f"/api/recordings/{rid}/files/events.jsonl"):
        status, body = await get(server, path, None)
        assert status == 200 and (rid.encode() in body or path.endswith("jsonl")), path
        assert sid.encode() not in body and b"staff_record" not in body, (path, body[:300])
    # Only staff read /api/staff-records, and publishing it is refused with a reason.
    for who in (None, forged):
        for path in ["/api/staff-records", *staff_routes(sid)]:
            status, body = await get(server, path, who)
            assert status == 401 and SECRET.encode() not in body, (who, path, status)
    assert (await post(server, f"/api/recordings/{sid}/publish"))[0] == 401
    status, answer = await post(server, f"/api/recordings/{sid}/publish", cookie, csrf)
    assert (status, answer["reason"]) == (403, "forbidden"), answer
    status, _ = await get(server, f"/api/staff-records/{'B' * 22}", cookie)
    assert status == 404


async def started_while_closed(server: Server, staff: MeetingClient) -> None:
    """A recording started during a closed session has its staff record from the start."""
    await staff.act("committee:closed_session", {"closed": True, "reason": "再度の秘密会"})
    rid = (await staff.act("recording:start", {"room": COMMITTEE}))["id"]
    await staff.act("chat:send", {"text": SECRET + "二"})
    await asyncio.sleep(0.1)
    await staff.act("recording:stop", {"room": COMMITTEE})
    cookie, _ = await login(server)
    status, body = await get(server, f"/api/staff-records?recording={rid}", cookie)
    records = json.loads(body)
    assert status == 200 and len(records) == 1, body
    folder = new_staff_dir(server.settings.recordings_path, rid, records[0]["id"])
    assert (SECRET + "二") in (folder / "events.jsonl").read_text("utf-8")
    public_log = (server.settings.recordings_path / rid / "events.jsonl").read_text("utf-8")
    assert SECRET not in public_log and "再度の秘密会" not in public_log


def _crashed_staff_record(root: Path) -> Manifest:
    """A staff record as a killed process leaves it: files written, manifest ``recording``."""
    rid, sid = "R" * 22, "S" * 22
    recorder = Recorder(new_staff_dir(root, rid, sid), sid, COMMITTEE, "秘密会")
    recorder.start()
    recorder.feed_event(EventKind.CHAT, {"type": "chat.posted", "text": SECRET})
    done = recorder.stop()
    write_manifest(recorder.directory, replace(done, state=RecordingState.RECORDING,
                                               stopped=None))
    return done


async def test_setting_off_makes_no_staff_record_and_a_crashed_one_recovers(
        settings: Settings) -> None:
    settings = replace(settings, ice_host_addresses=("127.0.0.1",))
    assert settings.closed_session_staff_record is False
    crashed = await asyncio.to_thread(_crashed_staff_record, settings.recordings_path)
    made: list[Any] = []
    pcs: list[Any] = []
    sockets: list[Any] = []
    async with running_server(settings) as server:
        try:
            # Recovery at start closed the one a crash left open.
            folder = new_staff_dir(settings.recordings_path, "R" * 22, crashed.id)
            manifest = read_manifest(folder)
            assert manifest.state is RecordingState.STOPPED and manifest.recovered
            rid, _ = await sitting(server, made, pcs, sockets)
            cookie, _ = await login(server)
            status, body = await get(server, "/api/staff-records", cookie)
            assert status == 200 and [r["id"] for r in json.loads(body)] == [crashed.id]
            status, body = await get(server, "/api/recordings?all=1", cookie)
            item = next(r for r in json.loads(body) if r["id"] == rid)
            assert item["staff_records"] == []
            assert not (settings.recordings_path / "staff" / rid).exists()
            public_log = (settings.recordings_path / rid / "events.jsonl").read_text("utf-8")
            assert SECRET not in public_log and SECRET_MOTION not in public_log
        finally:
            for pc in pcs:
                await pc.close()
            for ws, http in sockets:
                await ws.close()
                await http.close()
            for c in made:
                await c.close()


def test_lookup_refuses_what_is_not_an_id_and_the_sweep_keeps_what_it_must(
        tmp_path: Path) -> None:
    """``find`` refuses malformed ids and symlinked folders before reading anything; the
    sweep deletes a staff record past the retention, never one still being written, and
    nothing when retention is 0."""
    root = tmp_path / "recordings"
    crashed = _crashed_staff_record(root)  # (its manifest says "recording")
    old, new = "O" * 22, "N" * 22
    for sid, started in ((old, 1_000.0), (new, 10**10)):
        recorder = Recorder(new_staff_dir(root, "R" * 22, sid), sid, COMMITTEE, "秘密会")
        recorder.start()
        done = recorder.stop()
        write_manifest(recorder.directory, replace(done, started=started))
    for bad in ("..", "../" + old, old + "/", "%2e%2e", old[:-1], old + "\0", 7):
        with pytest.raises(HirobaError):
            find(root, bad)
    assert find(root, old) == new_staff_dir(root, "R" * 22, old)
    # A record folder, or a recording's folder, planted as a symlink to elsewhere.
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(new_staff_dir(root, "R" * 22, new), elsewhere / ("X" * 22))
    (staff_root(root) / ("R" * 22) / ("X" * 22)).symlink_to(elsewhere / ("X" * 22))
    (staff_root(root) / ("P" * 22)).symlink_to(elsewhere)
    with pytest.raises(HirobaError):
        find(root, "X" * 22)
    assert "X" * 22 not in {r.id for r in list_records(root)}
    assert sweep(root, 2_000.0 + 90 * 86_400, 0) == []
    assert sweep(root, 2_000.0 + 90 * 86_400, 90, keep=frozenset({old})) == []
    assert sweep(root, 2_000.0 + 90 * 86_400, 90) == [old]
    assert {r.id for r in list_records(root)} == {crashed.id, new}
