"""Staff set a room's opinion categories (labels per language) and its lobby switch from
the console's HTTP API (issue 15, defect 10), instead of in the database: staff only, CSRF
checked, audited, in effect at once and kept across a restart."""

from __future__ import annotations

from typing import Any

import aiohttp

from rooms.model import Role
from server.config.settings import Settings
from tests.conftest import Client, Server, running_server
from tests.meetings import (
    CONSULTATION,
    add_staff,
    http,
    invitation,
    login,
    staff_post,
)

PATH = f"/api/rooms/{CONSULTATION}/settings"
CATEGORIES = [
    {"value": "環境", "label": {"ja": "環境", "en": "Environment", "zh": "环境", "ko": "환경"}},
    {"value": "交通", "label": {"ja": "交通", "en": "Transport"}},
]


async def get(server: Server, cookie: str | None = None) -> tuple[int, Any]:
    headers = {"Cookie": cookie} if cookie else {}
    status, body, _ = await http("GET", server.url + PATH, **headers)
    return status, body


async def test_staff_set_categories_and_the_lobby(settings: Settings) -> None:
    async with running_server(settings) as server:
        await add_staff(server)
        cookie, csrf = await login(server)
        status, before = await get(server, cookie)
        assert status == 200 and before["lobby"] is None and before["lobby_on"] is False

        status, body = await staff_post(server, PATH, {"categories": CATEGORIES, "lobby": True},
                                        cookie=cookie, csrf=csrf)
        assert status == 200, body
        assert body["categories"] == CATEGORIES and body["lobby"] is True and body["lobby_on"]

        # in effect at once: an opinion takes only these categories; a citizen waits
        citizen = await Client(server.url).connect()
        try:
            ack = await citizen.call("join", {"name": "市民", "room": CONSULTATION, "lang": "ja"})
            assert ack["ok"] and ack["place"] == "lobby", ack
        finally:
            await citizen.close()
        status, body = await staff_post(server, PATH, {"lobby": False}, cookie=cookie, csrf=csrf)
        assert status == 200 and body["lobby_on"] is False and body["categories"] == CATEGORIES
        citizen = await Client(server.url).connect()
        try:
            ack = await citizen.call("join", {"name": "市民", "room": CONSULTATION, "lang": "ja"})
            assert ack["ok"] and ack["place"] != "lobby", ack
            # participants get the labels staff set (their page picks its language)
            assert ack["meeting"]["categories"] == CATEGORIES
            bad = await citizen.call("opinion:submit", {"category": "福祉", "text": "意見です"})
            assert not bad["ok"] and bad["reason"] == "bad_field", bad
        finally:
            await citizen.close()

        # audited, worded by kind
        _, log, _ = await http("GET", f"{server.url}/api/rooms/{CONSULTATION}/audit",
                               Cookie=cookie)
        kinds = [e["kind"] for e in log["entries"] if e["action"] == "room.settings"]
        assert kinds == ["settings.lobby_on", "settings.lobby_off"], log["entries"]

    async with running_server(settings) as server:  # kept across a restart
        cookie, _ = await login(server)
        status, body = await get(server, cookie)
        assert body["categories"] == CATEGORIES and body["lobby"] is False


async def test_only_staff_may_and_bad_input_is_refused(server: Server) -> None:
    assert (await get(server))[0] == 401
    async with aiohttp.ClientSession() as session, session.post(
            server.url + PATH, json={"lobby": True}) as r:
        assert r.status in (401, 403)
    # a chair's invitation is no staff session
    token = invitation(server, CONSULTATION, Role.CHAIR, "議長")
    assert token and (await get(server, f"hiroba_session={token}"))[0] == 401

    await add_staff(server)
    cookie, csrf = await login(server)
    status, body = await staff_post(server, PATH, {"lobby": True}, cookie=cookie, csrf="wrong")
    assert (status, body["reason"]) == (403, "bad_csrf")
    for bad in ({"lobby": "yes"}, {"categories": "環境"}, {"categories": [{"value": ""}]},
                {"categories": [{"value": "a", "label": {"fr": "x"}}]},
                {"categories": [{"value": "a"}, {"value": "a"}]},
                {"categories": [{"value": str(i)} for i in range(21)]},
                {"colour": "red"}, {}):
        status, body = await staff_post(server, PATH, bad, cookie=cookie, csrf=csrf)
        assert 400 <= status < 500 and not body["ok"], (bad, status, body)
    status, body = await get(server, cookie)
    assert body["lobby"] is None, "nothing bad was stored"
    status, _, _ = await http("GET", server.url + "/api/rooms/nowhere/settings", Cookie=cookie)
    assert status == 404
