"""A committee meeting and a consultation from start to end, over real sockets."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
import pytest

from rooms.model import Role
from server.console.routes import MEETINGS_KEY
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
)


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, floor_grace_seconds=1.0)



async def test_committee_meeting(server, made) -> None:
    await add_staff(server)
    staff = await console(server, made)
    assert staff.ack["staff"]["lobby"] == [] and staff.ack["meeting"]["agenda"]["items"]

    chair = await participant(server, made, "委員長", token=invitation(
        server, COMMITTEE, Role.CHAIR, "山田委員長"))
    assert chair.ack["place"] == "room" and chair.ack["meeting"]["self"]["may"]["floor.give"]
    member = await participant(server, made, "x", token=invitation(
        server, COMMITTEE, Role.MEMBER, "田中委員"))
    assert member.ack["place"] == "lobby" and member.ack["lobby"]["position"] == 1
    waiting = await staff.expect("meeting:staff", lambda d: any(
        e["type"] == "lobby.entered" for e in d["events"]))
    assert waiting["events"][-1]["waiter"]["name"] == "田中委員"
    assert (await member.call("chat:send", {"text": "hello"}))["reason"] == "in_lobby"
    await staff.act("lobby:admit", {"target": member.ack["self"]})
    admitted_ack = await member.expect("meeting:admitted")
    assert admitted_ack["place"] == "room" and admitted_ack["snapshot"]["room"]["id"] == COMMITTEE

    citizen = await admitted(server, made, staff, "さくら", Role.CITIZEN)
    items = chair.ack["meeting"]["agenda"]["items"]
    await chair.act("agenda:open", {"item": items[0]["id"]})
    agenda = await citizen.expect("meeting:agenda", lambda a: a["current"] == items[0]["id"])
    assert agenda["state"] == "item_open"

    position = await citizen.act("hand:raise")
    assert position["position"] == 1
    floor = await chair.expect("meeting:floor", lambda f: f["queue"])
    assert floor["queue"] == [{"pid": citizen.ack["self"], "name": "さくら", "role": "citizen"}]
    assert (await citizen.call("floor:give", {"limit": 5}))["reason"] == "forbidden"
    await staff.act("floor:give", {"limit": 5})
    given = await citizen.expect("meeting:floor", lambda f: f["holder"] == citizen.ack["self"])
    assert given["state"] == "speaking" and given["deadline"] - given["server_time"] <= 5
    assert (given["holder_name"], given["holder_role"]) == ("さくら", "citizen")
    hub = server.app[MEETINGS_KEY].hub
    assert citizen.ack["self"] in hub.speakers(COMMITTEE)
    # Expiry, the grace period (1 s here), then the automatic mute.
    await citizen.expect("meeting:floor", lambda f: f["state"] == "overtime", within=7)
    notice = await citizen.expect("meeting:notice", lambda n: n["kind"] == "auto_muted", within=4)
    assert notice["room"] == COMMITTEE
    assert citizen.ack["self"] not in hub.speakers(COMMITTEE)
    ended = await chair.expect("meeting:floor", lambda f: f["state"] == "open" and f["spoken"])
    assert ended["spoken"][0]["seconds"] >= 5 and ended["spoken"][0]["role"] == "citizen"
    assert ended["holder_role"] is None

    troll = await admitted(server, made, staff, "荒らし", Role.CITIZEN)
    device = troll.ack["device"]
    await troll.act("chat:send", {"text": "うるさい"})
    removed = await staff.act("sanction:remove", {"target": troll.ack["self"],
                                                    "reason": "不規則発言"})
    assert removed["sanction"] > 0
    notice = await troll.expect("meeting:notice", lambda n: n["kind"] == "removed")
    assert notice["reason"] == "不規則発言" and notice["until"]
    assert await troll.ended(), "the removed person is disconnected"
    again = await MeetingClient(server.url).connect()
    made.append(again)
    refused = await again.call("join", {"name": "別名", "room": COMMITTEE, "lang": "ja",
                                        "device": device})
    assert refused["ok"] is False and refused["reason"] == "banned"
    # ...while the meeting went on for the others.
    await citizen.act("chat:send", {"text": "続けます"})
    await chair.expect("meeting:event", lambda e: e["type"] == "chat.posted"
                       and e["message"]["text"] == "続けます")
    audit = await staff.expect("meeting:staff", lambda d: any(
        e["type"] == "audit.entry" and e["entry"]["action"] == "sanction.remove"
        for e in d["events"]))
    assert audit["room"] == COMMITTEE


async def test_consultation(server, made) -> None:
    await add_staff(server)
    staff = await console(server, made, room=CONSULTATION)
    categories = staff.ack["meeting"]["categories"]
    assert categories, "the demo consultation has opinion categories"
    a = await participant(server, made, "あおい", room=CONSULTATION)
    b = await participant(server, made, "ひかる", room=CONSULTATION)
    opinion = await a.act("opinion:submit", {"category": categories[0],
                                              "text": "ベンチを増やしてください"})
    await b.act("opinion:support", {"opinion": opinion["opinion"]})
    dup = await b.call("opinion:support", {"opinion": opinion["opinion"]})
    assert dup["reason"] == "duplicate"
    own = await a.call("opinion:support", {"opinion": opinion["opinion"]})
    assert own["reason"] == "forbidden"
    seen = await staff.expect("meeting:event", lambda e: e["type"] == "opinion.changed"
                              and e["opinion"]["supports"] == 1)
    assert seen["opinion"]["text"] == "ベンチを増やしてください"

    poll = await staff.act("poll:create", {"question": "夜間照明は?", "options": ["LED", "現状"]})
    await a.act("poll:vote", {"poll": poll["poll"], "choices": [0]})
    await b.act("poll:vote", {"poll": poll["poll"], "choices": [0]})
    await b.act("poll:vote", {"poll": poll["poll"], "choices": [1]})  # a change of mind
    result = await a.expect("meeting:event", lambda e: e["type"] == "poll.changed"
                            and e["poll"]["counts"] == [1, 1])
    assert result["poll"]["voters"] == 2
    await staff.act("poll:close", {"poll": poll["poll"]})
    late = await a.call("poll:vote", {"poll": poll["poll"], "choices": [1]})
    assert late["reason"] == "wrong_state"

    question = await a.act("question:ask", {"text": "工事はいつ?"})
    await b.act("question:vote", {"question": question["question"]})
    await staff.act("question:answer", {"question": question["question"], "text": "来春です"})
    answered = await b.expect("meeting:event", lambda e: e["type"] == "question.changed"
                              and e["question"]["state"] == "answered")
    assert answered["question"]["answer"] == "来春です"

    cookie, _ = await login(server)
    async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http:
        async with http.get(f"{server.url}/api/rooms/{CONSULTATION}/export/opinions.csv") as r:
            assert r.status == 200
            assert r.headers["Content-Disposition"].endswith('opinions.csv"')
            text = await r.text()
        assert text.startswith("\ufeffid,") and "ベンチを増やしてください" in text
        assert ",1," in text.splitlines()[1], "one support"
        async with http.get(f"{server.url}/api/rooms/{CONSULTATION}/export/polls.json") as r:
            rows = (await r.json())["rows"]
        assert [row["votes"] for row in rows] == [1, 1]
    await staff.expect("meeting:staff", lambda d: any(
        e["type"] == "audit.entry" and e["entry"]["action"] == "poll.export"
        for e in d["events"]))
