"""Voting on camera and "the chair asks for your camera" through real socket.io clients and
a real aiortc camera peer (VP8 on loopback): with the committee rule camera_during_vote,
a member without a live identity camera is refused camera_required (audited) and the one
whose camera sends is taken, each ballot keeping whether it was cast on camera (state,
stored ballot rows, minutes); identity:ask reaches the member asked, and nobody else, and
is kept in the audit log and the committee record."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from bench.clients.video_peers import SolidColour, publish
from rooms.model import Role
from server.app import IDENTITY_KEY, RECORDINGS_KEY
from server.config.settings import Settings
from server.console.routes import MEETINGS_KEY
from server.recording.minutes import build_minutes
from server.recording.minutes_render import render_markdown
from server.rtc.ice import rtc_configuration
from tests.conftest import Server, eventually
from tests.integration.test_committee_flow import member, refused, watch
from tests.meetings import (
    COMMITTEE,
    MeetingClient,
    add_staff,
    console,
    login,
    participant,
    staff_post,
)

CONFIG = rtc_configuration([])


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ice_host_addresses=("127.0.0.1",))


async def audit(server: Server, action: str) -> list[Any]:
    entries = await server.app[MEETINGS_KEY].records.audit(COMMITTEE)
    return [e for e in entries if e.action == action]


async def test_a_committee_that_votes_on_camera(server: Server, made: list[Any]) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    status, body = await staff_post(server, f"/api/rooms/{COMMITTEE}/settings",
                                    {"committee": {"camera_during_vote": True}},
                                    cookie=cookie, csrf=csrf)
    assert status == 200 and body["committee"]["camera_during_vote"] is True, body
    staff = watch(await console(server, made))
    rid = (await staff.act("recording:start", {"room": COMMITTEE}))["id"]
    chair = await member(server, made, staff, "委員長", Role.CHAIR)
    a = await member(server, made, staff, "委員A")
    b = await member(server, made, staff, "委員B")
    citizen = await participant(server, made, "傍聴人", gallery=True)
    for who in (a, b, citizen):
        who.sio.on("identity:asked", who._recorder("identity:asked"))

    # The chair asks for A's camera: A's page is told who asked, nobody else is.
    await chair.act("identity:ask", {"member": "m:委員A"})
    asked = await a.expect("identity:asked")
    assert asked["member"] == "m:委員A" and asked["by"] == "委員長"
    await refused(citizen, "identity:ask", {"member": "m:委員A"}, "forbidden")
    await refused(a, "identity:ask", {"member": "m:委員B"}, "forbidden")
    await refused(chair, "identity:ask", {"member": "m:だれか"}, "not_member")
    assert not [d for e, d in b.seen if e == "identity:asked"]
    assert not [d for e, d in citizen.seen if e == "identity:asked"]
    asks = await audit(server, "identity.ask")
    assert [e.reason for e in asks] == ["", "forbidden", "forbidden", "not_member"]
    assert dict(asks[0].details)["member"] == "m:委員A"
    record = await server.app[MEETINGS_KEY].records.committee_record(COMMITTEE)
    assert record is not None and [(r.member, r.at) for r in record.camera_requests] == [
        ("m:委員A", asked["at"])]

    # A's real camera (VP8 through the identity plane); B has none.
    async def signal(sdp: str) -> str:
        ack = await a.call("identity:publish", {"type": "offer", "sdp": sdp})
        assert ack["ok"], ack
        return str(ack["sdp"])

    camera = await publish(CONFIG, signal, SolidColour((200, 40, 40)))
    try:
        plane = server.app[IDENTITY_KEY].plane
        await eventually(lambda: plane.camera_live(a.ack["self"]), within=10)
        assert not plane.camera_live(b.ack["self"])

        await staff.act("committee:rollcall", {"open": True})
        for who in (chair, a, b):
            await who.act("committee:present")
        for name in ("委員長", "委員A", "委員B"):
            await staff.act("committee:verify", {"member": f"m:{name}", "method": "other",
                                                 "reason": "電話で本人確認"})
        await staff.act("committee:rollcall", {"open": False})
        motion = (await chair.act("committee:motion", {"title": "議案第1号"}))["motion"]
        vote = (await chair.act("committee:vote_open", {"motion": motion,
                                                        "method": "named"}))["vote"]

        await refused(b, "committee:vote_cast", {"vote": vote, "choice": "yes"},
                      "camera_required")
        await a.act("committee:vote_cast", {"vote": vote, "choice": "yes"})
        casts = await audit(server, "vote.cast")
        assert [(e.reason, dict(e.details)["member"]) for e in casts] == [
            ("camera_required", "m:委員B")]

        service = server.app[MEETINGS_KEY]
        stored = await service.records.committee_record(COMMITTEE)
        assert stored is not None
        assert dict(stored.votes[-1].camera) == {"m:委員A": True}, "the ballot's own row"
        await chair.act("committee:vote_close", {"vote": vote})
        seen: MeetingClient = staff
        closed = await seen.expect("committee:state", lambda s: (s.get("vote") or {}).get(
            "state") == "tie")  # one yes of two voters: 可否同数
        assert closed["vote"]["camera_required"] is True
        assert closed["vote"]["camera"] == {"m:委員A": True}
        assert closed["vote"]["results"]["by_member"] == {"m:委員A": "yes",
                                                          "m:委員B": "abstain"}
        await chair.act("committee:decide", {"vote": vote, "outcome": "passed"})
    finally:
        await camera.close()

    # The minutes say the vote was on camera, ballot by ballot, and who asked for whose.
    await staff.act("recording:stop", {"room": COMMITTEE})
    row = await server.app[RECORDINGS_KEY].index.get(rid)
    minutes = await asyncio.to_thread(build_minutes, server.settings.recordings_path / rid, row,
                                      include_moderation=False, tz=server.settings.zone)
    text = render_markdown(minutes)
    for words in ("本人確認カメラ必須の表決", "| 委員A | 賛成 | あり |", "| 委員B | 棄権 |  |",
                  "カメラ確認の求め（委員長）"):
        assert words in text, (words, text)
