"""Bad invitations, malformed meeting messages and floods: clear errors, limits that hold,
and nothing lost for the others."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from moderation.invitations import issue_invitation
from rooms.model import Role
from tests.meetings import (
    COMMITTEE,
    CONSULTATION,
    MeetingClient,
    add_staff,
    console,
    invitation,
    login,
    participant,
    staff_post,
)


async def join(server, made, **payload: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    client = await MeetingClient(server.url).connect()
    made.append(client)
    body = {"name": "誰か", "room": COMMITTEE, "lang": "ja", **payload}
    return await client.call("join", body)  # type: ignore[no-any-return]


async def test_invitations_are_single_use_and_checked(server, made) -> None:
    token = invitation(server, COMMITTEE, Role.CHAIR, "委員長")
    first = await join(server, made, token=token)
    assert first["ok"] and first["place"] == "room"
    device = first["device"]
    assert device.startswith("dv.")  # server-issued, signed (issue 14 finding 2)
    # Replayed from another browser: refused; from the same one (a reload): accepted.
    replay = await join(server, made, token=token)
    assert replay["reason"] == "bad_token" and "already been used" in replay["message"]
    reload = await join(server, made, token=token, device=device)
    assert reload["ok"]

    secret_forged = issue_invitation(b"k" * 64, COMMITTEE, Role.CHAIR, None, time.time(), 600,
                                     issued_by="x")[0]
    expired = invitation(server, COMMITTEE, Role.MEMBER, now=time.time() - 3600, ttl=60)
    elsewhere = invitation(server, CONSULTATION, Role.MEMBER)
    tampered = token.replace(token.split(".")[0][5], "A" if token[5] != "A" else "B", 1)
    for bad in (secret_forged, expired, elsewhere, tampered, "x" * 1024, "a.b.c"):
        ack = await join(server, made, token=bad)
        assert ack["ok"] is False and ack["reason"] == "bad_token", (bad[:20], ack)
    too_long = await join(server, made, token="x" * 1025)
    assert too_long["reason"] == "bad_field"

    # Revoked before use (HTTP, staff).
    await add_staff(server)
    cookie, csrf = await login(server)
    async with aiohttp.ClientSession(headers={"Cookie": cookie, "X-CSRF-Token": csrf}) as http:
        async with http.post(f"{server.url}/api/rooms/{COMMITTEE}/invitations",
                             json={"role": "observer", "name": "記者"}) as r:
            made_inv = await r.json()
        async with http.post(f"{server.url}/api/invitations/{made_inv['token_id']}/revoke",
                             json={}) as r:
            assert r.status == 200, await r.text()
        async with http.post(f"{server.url}/api/invitations/{made_inv['token_id']}/revoke",
                             json={}) as r:
            assert (r.status, (await r.json())["reason"]) == (409, "wrong_state")
        async with http.get(f"{server.url}/api/rooms/{COMMITTEE}/invitations") as r:
            listed = {i["token_id"]: i for i in (await r.json())["invitations"]}
    assert listed[made_inv["token_id"]]["revoked"] is True
    revoked = await join(server, made, token=made_inv["token"])
    assert revoked["reason"] == "bad_token" and "revoked" in revoked["message"]


async def test_device_tokens_and_codes_are_checked(server, made) -> None:
    for device in ("d_short", "x" * 34, 42, "d_" + "!" * 32):
        ack = await join(server, made, device=device)
        assert ack["reason"] == "bad_field", (device, ack)
    for gallery in ("yes", 1):
        assert (await join(server, made, gallery=gallery))["reason"] == "bad_field"
    staff = await join(server, made, staff=True)
    assert staff["reason"] == "session_expired", "staff: true needs a staff login"

    await add_staff(server)
    cookie, csrf = await login(server)
    _, body = await staff_post(server, f"/api/rooms/{CONSULTATION}/registration-code",
                               {"action": "new"}, cookie=cookie, csrf=csrf)
    code = body["code"]
    assert len(code) == 9 and code[4] == "-"
    assert (await join(server, made, room=CONSULTATION))["reason"] == "code_required"
    assert (await join(server, made, room=CONSULTATION, code="ABCD-EFGH"))["reason"] == "bad_code"
    assert (await join(server, made, room=CONSULTATION, code="x" * 65))["reason"] == "bad_field"
    typed = "ｰ".join(code.lower().split("-"))  # lower case, a long-vowel mark for the hyphen
    assert (await join(server, made, room=CONSULTATION, code=typed))["ok"]


BAD_MESSAGES = [
    ("chat:send", None, "bad_payload"),
    ("chat:send", {}, "missing_field"),
    ("chat:send", "hello", "bad_payload"),
    ("chat:send", ["hello"], "bad_payload"),
    ("chat:send", {"text": "hi", "html": "<b>"}, "unknown_field"),
    ("chat:send", {"text": 42}, "bad_field"),
    ("chat:send", {"text": ""}, "bad_field"),
    ("chat:send", {"text": "\u200b\u202e "}, "bad_field"),
    ("chat:send", {"text": "あ" * 501}, "too_long"),
    ("chat:send", {"text": "a" * 5000}, "too_long"),
    ("chat:report", {"message": "1"}, "bad_field"),
    ("chat:report", {"message": -1}, "bad_field"),
    ("chat:report", {"message": True}, "bad_field"),
    ("chat:report", {"message": 999}, "no_such_item"),
    ("hand:raise", {"now": 1}, "unknown_field"),
    ("hand:lower", {"target": "robert'); drop table"}, "bad_field"),
    ("opinion:submit", {"text": "x" * 2001, "category": "その他"}, "too_long"),
    ("opinion:submit", {"text": "ok", "category": ["a"]}, "bad_field"),
    ("question:vote", {"question": 1.5}, "bad_field"),
    ("poll:vote", {"poll": 1, "choices": "0"}, "bad_field"),
    ("poll:vote", {"poll": 1, "choices": list(range(500))}, "bad_field"),
    ("floor:give", {"limit": float("inf")}, "bad_field"),
    ("console:join", {"room": COMMITTEE}, "session_expired"),
    ("agenda:add", {"title": "x", "planned": -1}, "bad_field"),
    ("no:such:event", {}, "unknown_event"),
]


async def test_malformed_meeting_messages_get_their_reason(server, made) -> None:
    calm = await participant(server, made, "落ち着いた人", room=CONSULTATION)
    bad = await participant(server, made, "いたずら", room=CONSULTATION)
    for event, payload, reason in BAD_MESSAGES:
        ack = await bad.call(event, payload)
        assert ack["ok"] is False and ack["reason"] == reason, (event, payload, ack)
        assert ack["message"]
    assert (await bad.call("chat:send", b"\x00binary"))["reason"] == "bad_payload"
    assert (await bad.call("chat:send", {"text": "お前なんか死ね"}))["reason"] == "ng_word"
    # Nothing of it reached the others; a fair message does.
    await bad.act("chat:send", {"text": "<script>alert(1)</script>"})
    got = await calm.expect("meeting:event", lambda e: e["type"] == "chat.posted")
    assert got["message"]["text"] == "<script>alert(1)</script>", "stored and sent as text"
    assert [e for n, e in calm.seen if n == "meeting:event"] == [got]
    outsider = await MeetingClient(server.url).connect()
    made.append(outsider)
    assert (await outsider.call("chat:send", {"text": "x"}))["reason"] == "not_joined"


async def test_chat_and_hand_floods_are_limited_for_the_flooder_only(server, made) -> None:
    calm = await participant(server, made, "静か", room=CONSULTATION)
    flood = await participant(server, made, "連投", room=CONSULTATION)
    replies = await asyncio.gather(*(flood.call("chat:send", {"text": f"{i}回目"})
                                     for i in range(20)))
    passed = [r for r in replies if r["ok"]]
    assert 5 <= len(passed) <= 6, "a burst of 5 (plus what refilled meanwhile)"
    assert {r["reason"] for r in replies if not r["ok"]} == {"rate_limited"}
    await calm.act("chat:send", {"text": "普通の発言"})
    await flood.expect("meeting:event", lambda e: e["type"] == "chat.posted"
                       and e["message"]["text"] == "普通の発言")
    # Reconnecting does not reset the limit: it follows the device.
    again = await participant(server, made, "連投", room=CONSULTATION,
                              device=flood.ack["device"])
    assert (await again.call("chat:send", {"text": "また"}))["reason"] == "rate_limited"

    hands = []
    for _ in range(6):
        hands.append(await flood.call("hand:raise"))
        await flood.call("hand:lower")
    assert [h["ok"] for h in hands[:3]] == [True, True, True]
    assert {h.get("reason") for h in hands[3:]} == {"rate_limited"}
    assert (await calm.act("hand:raise"))["position"] == 1

    await add_staff(server)
    staff = await console(server, made, room=CONSULTATION)
    reports = await asyncio.gather(*(calm.call("question:ask", {"text": f"質問{i}"})
                                     for i in range(8)))
    assert sum(r["ok"] for r in reports) == 5
    assert staff.ack["ok"]


async def test_http_staff_input_is_bounded(server, made) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
    url = f"{server.url}/api/rooms/{COMMITTEE}/invitations"
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(url, json={"role": "member", "name": "x" * 20_000}) as r:
            assert (r.status, (await r.json())["reason"]) == (413, "too_long")
        async with http.post(url, data="role=member",
                             headers={"Content-Type": "application/x-www-form-urlencoded"}) as r:
            assert (r.status, (await r.json())["reason"]) == (400, "bad_payload")
        async with http.post(url, data="{not json", headers={"Content-Type":
                                                            "application/json"}) as r:
            assert (r.status, (await r.json())["reason"]) == (400, "bad_payload")
        for body, reason in (({"role": "staff"}, "bad_field"), ({"role": "chair", "x": 1},
                             "unknown_field"), ({}, "missing_field"),
                             ({"role": "member", "ttl": 5}, "bad_field"),
                             ({"role": "member", "name": "\u200b"}, "bad_name")):
            async with http.post(url, json=body) as r:
                assert (await r.json())["reason"] == reason, body
        async with http.get(f"{server.url}/api/rooms/nowhere/export/chat.csv") as r:
            assert (r.status, (await r.json())["reason"]) == (404, "no_such_room")
        for name in ("secrets.csv", "chat.xml", "chat", "../chat.csv"):
            async with http.get(f"{server.url}/api/rooms/{COMMITTEE}/export/{name}") as r:
                assert r.status == 404, name
