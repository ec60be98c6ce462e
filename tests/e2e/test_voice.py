"""Voice in Chromium: in a committee room the member given the floor speaks (Chromium's
fake microphone beeps) and another page hears it, through the server's audio plane."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from rooms.model import Role
from tests.conftest import ROOT, Client
from tests.e2e.conftest import shot, state
from tests.e2e.test_meeting import SMALL, enter, errors
from tests.meetings import COMMITTEE, add_staff, console, invitation

JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text())


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, ice_host_addresses=("127.0.0.1",))  # WebRTC on loopback


async def test_the_floor_holder_is_heard_in_another_page(server, browser) -> None:
    await add_staff(server)
    made: list[Client] = []
    staff = await console(server, made, COMMITTEE)
    try:
        chair_link = {
            "room": COMMITTEE,
            "token": invitation(server, COMMITTEE, Role.CHAIR, "山田委員長"),
        }
        chair, chair_watch = await enter(browser, server, "x", COMMITTEE, query=chair_link, **SMALL)
        await chair.wait_for_function("() => window.hiroba.state().audio.listening", timeout=15_000)
        member_link = {
            "room": COMMITTEE,
            "token": invitation(server, COMMITTEE, Role.MEMBER, "田中委員"),
        }
        member, member_watch = await enter(
            browser, server, "x", COMMITTEE, query=member_link, wait="lobby", **SMALL
        )
        lobby = await staff.expect(
            "meeting:staff", lambda d: any(e["type"] == "lobby.entered" for e in d["events"])
        )
        waiter = next(e["waiter"] for e in lobby["events"] if e["type"] == "lobby.entered")
        await staff.act("lobby:admit", {"target": waiter["pid"]})
        await member.wait_for_function("() => window.hiroba.state().joined", timeout=20_000)
        speaker = (await state(member))["selfId"]

        # Without the floor the microphone is refused, with a reason the page explains.
        await member.click("#voice-toggle")
        await member.wait_for_function(
            "(text) => document.getElementById('voice-status').textContent === text",
            arg=JA["voice.status.needFloor"],
        )
        assert (await state(member))["audio"]["publishing"] is False

        await staff.act("floor:give", {"target": speaker, "limit": 60})
        await member.click("#voice-toggle")
        await member.wait_for_function(
            "() => window.hiroba.state().audio.publishing", timeout=15_000
        )
        assert await member.get_attribute("#voice-toggle", "aria-pressed") == "true"

        # The chair's page receives the beeps on a slot and sees who speaks.
        await chair.wait_for_function(
            "(id) => window.hiroba.state().audio.slots.includes(id)", arg=speaker, timeout=15_000
        )
        await chair.wait_for_function(
            "() => window.hiroba.state().audio.level > 0.01", timeout=15_000
        )
        await chair.wait_for_function(
            "(id) => window.hiroba.state().audio.active.includes(id)", arg=speaker, timeout=15_000
        )
        await shot(chair, "voice-listener")

        # The floor ends: the server closes the microphone and the page says so.
        await staff.act("floor:revoke")
        await member.wait_for_function(
            "() => !window.hiroba.state().audio.publishing", timeout=10_000
        )
        await member.wait_for_function(
            "(text) => document.getElementById('voice-status').textContent === text",
            arg=JA["voice.status.ended"],
        )
        assert errors(chair_watch) == [] and errors(member_watch) == []
    finally:
        for client in made:
            await client.close()
