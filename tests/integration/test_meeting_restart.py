"""Everything a meeting keeps survives a real restart of the server on the same data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from rooms.model import Role
from server.config.settings import Settings
from tests.conftest import Server, running_server
from tests.meetings import (
    COMMITTEE,
    CONSULTATION,
    MeetingClient,
    add_staff,
    admitted,
    console,
    invitation,
    login,
    participant,
    staff_post,
)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[Server, list[Any]]]:
    """A server on ``settings`` (the same data each time), and the clients made on it."""
    async with running_server(settings) as server:
        made: list[Any] = []
        try:
            yield server, made
        finally:
            for c in made:
                await c.close()


async def test_meetings_survive_a_restart(settings: Settings, no_blocking: None) -> None:
    async with running(settings) as (server, made):
        await add_staff(server)
        staff = await console(server, made, room=CONSULTATION)
        a = await participant(server, made, "あおい", room=CONSULTATION)
        b = await participant(server, made, "ひかる", room=CONSULTATION)
        device_b = b.ack["device"]
        await a.act("chat:send", {"text": "こんにちは"})
        rude = await b.act("chat:send", {"text": "ばかばかしい"})
        await a.act("chat:report", {"message": rude["message"], "reason": "失礼"})
        category = staff.ack["meeting"]["categories"][0]
        op = await a.act("opinion:submit", {"category": category, "text": "木陰がほしい"})
        await b.act("opinion:support", {"opinion": op["opinion"]})
        await b.act("question:ask", {"text": "予算は?"})
        poll = await staff.act("poll:create", {"question": "賛成?", "options": ["はい", "いいえ"],
                                                "multiple": True, "max_choices": 2})
        await a.act("poll:vote", {"poll": poll["poll"], "choices": [0, 1]})
        await staff.act("caption:post", {"text": "ただいまから始めます"})
        await staff.act("agenda:add", {"title": "説明", "planned": 600})
        item = (await staff.act("agenda:add", {"title": "質疑", "planned": 900}))["item"]
        await staff.act("agenda:open", {"item": item})
        await staff.act("sanction:mute", {"target": a.ack["self"], "reason": "連投"})
        troll = await participant(server, made, "荒らし", room=CONSULTATION)
        troll_device = troll.ack["device"]
        await staff.act("sanction:ban", {"target": troll.ack["self"], "reason": "荒らし行為"})

        committee = await console(server, made, room=COMMITTEE)
        token = invitation(server, COMMITTEE, Role.OBSERVER, "記者")
        press = await participant(server, made, "x", token=token)
        press_device = press.ack["device"]
        assert press.ack["place"] == "gallery"
        await admitted(server, made, committee, "委員", Role.MEMBER)
        cookie, csrf = await login(server)
        _, body = await staff_post(server, f"/api/rooms/{CONSULTATION}/registration-code",
                                   {"action": "new"}, cookie=cookie, csrf=csrf)
        code = body["code"]

    async with running(settings) as (server, made):
        staff = await console(server, made, room=CONSULTATION)
        state, extra = staff.ack["meeting"], staff.ack["staff"]
        assert [m["text"] for m in state["chat"]] == ["こんにちは", "ばかばかしい"]
        assert [r["reason"] for r in extra["reports"]] == ["失礼"]
        (opinion,) = state["opinions"]
        assert (opinion["text"], opinion["supports"]) == ("木陰がほしい", 1)
        assert [x["text"] for x in state["questions"]] == ["予算は?"]
        (p,) = state["polls"]
        assert (p["counts"], p["voters"], p["multiple"]) == ([1, 1], 1, True)
        assert [c["text"] for c in state["captions"]] == ["ただいまから始めます"]
        assert state["agenda"]["current"] == item
        kinds = sorted(s["kind"] for s in extra["sanctions"])
        assert kinds == ["ban", "mute"]
        actions = [e["action"] for e in extra["audit"]]
        assert {"poll.create", "agenda.advance", "sanction.mute", "sanction.ban"} <= set(actions)
        assert extra["registration_code"] == code

        # The same people, back with their devices: still one support each, still banned.
        no_code = await server_join(server, made, "ひかる", CONSULTATION, device=device_b)
        assert no_code["reason"] == "code_required"
        b = await participant(server, made, "ひかる", room=CONSULTATION, device=device_b,
                              code=code.lower().replace("-", " "))
        dup = await b.call("opinion:support", {"opinion": opinion["id"]})
        assert dup["reason"] == "duplicate"
        assert str(p["id"]) not in b.ack["meeting"]["self"]["ballots"]
        banned = await server_join(server, made, "別人", CONSULTATION, device=troll_device,
                                   code=code)
        assert banned["reason"] == "banned"
        # The invitation belongs to the first device: a reload works, another device not.
        again = await server_join(server, made, "x", COMMITTEE, device=press_device, token=token)
        assert again["ok"] and again["place"] == "gallery"
        other = await server_join(server, made, "x", COMMITTEE, token=token)
        assert other["reason"] == "bad_token"
        # Attendance of the first run was closed at the restart.
        cookie, _ = await login(server)
        async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http, http.get(
            f"{server.url}/api/rooms/{COMMITTEE}/export/attendance.json"
        ) as r:
            rows = (await r.json())["rows"]
        first = [row for row in rows if row["name"] == "委員"]
        assert first and first[0]["left_at"] and first[0]["cause"] in ("left", "restart")


async def server_join(server: Server, made: list[Any], name: str, room: str,
                      **extra: Any) -> dict[str, Any]:
    client = await MeetingClient(server.url).connect()
    made.append(client)
    ack: dict[str, Any] = await client.call("join", {"name": name, "room": room, "lang": "ja",
                                                     **extra})
    return ack
