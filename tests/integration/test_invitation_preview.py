"""``GET /api/invitations/preview``: what an invitation link grants, told to the join page
before joining (issue 15, defect 5) and to nobody else: a token that would not be accepted
on joining gets one ``400 bad_token``, whatever is wrong with it, and the checks are
counted against the per-address limit."""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from rooms.errors import HirobaError
from rooms.model import Role
from server.cli.staff import invite
from server.config.settings import Settings, load_settings
from tests.conftest import Client, Server, running_server
from tests.meetings import COMMITTEE, CONSULTATION, add_staff, http, invitation, login, staff_post


async def preview(server: Server, room: str, token: str, **headers: str) -> tuple[int, Any]:
    url = f"{server.url}/api/invitations/preview?{urlencode({'room': room, 'token': token})}"
    status, body, _ = await http("GET", url, **headers)
    return status, body


async def test_a_valid_invitation_tells_name_role_and_meeting(server: Server) -> None:
    token = invitation(server, COMMITTEE, Role.CHAIR, "委員長 山田")
    status, body = await preview(server, COMMITTEE, token)
    assert status == 200, body
    assert body["role"] == "chair" and body["name"] == "委員長 山田"
    assert body["room"] == COMMITTEE and body["title"]["ja"] and body["title"]["en"]
    # what the link carries and the title, nothing else (no token id, no issuer)
    assert set(body) == {"ok", "room", "role", "name", "title", "expires_at"}
    unnamed = invitation(server, COMMITTEE, Role.MEMBER)
    status, body = await preview(server, COMMITTEE, unnamed)
    assert status == 200 and body["name"] is None and body["role"] == "member"


async def test_every_bad_link_is_the_same_400(server: Server) -> None:
    token = invitation(server, COMMITTEE, Role.MEMBER, "委員 佐藤")
    payload, _, signature = token.partition(".")
    expired = invitation(server, COMMITTEE, Role.MEMBER, "委員", ttl=60,
                         now=time.time() - 3600)
    cases = {
        "forged": (COMMITTEE, payload + "." + signature[::-1]),
        "garbage": (COMMITTEE, "not-a-token"),
        "empty": (COMMITTEE, ""),
        "other room": (CONSULTATION, token),
        "no such room": ("nowhere", token),
        "expired": (COMMITTEE, expired),
        "too long": (COMMITTEE, "a" * 5000),
    }
    for what, (room, bad) in cases.items():
        status, body = await preview(server, room, bad)
        assert (status, body.get("reason")) == (400, "bad_token"), (what, status, body)
        assert "name" not in body and "role" not in body, what


async def test_a_revoked_or_used_link_is_refused(server: Server) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    status, made = await staff_post(server, f"/api/rooms/{CONSULTATION}/invitations",
                                    {"role": "observer", "name": "記者"},
                                    cookie=cookie, csrf=csrf)
    assert status == 200, made
    assert (await preview(server, CONSULTATION, made["token"]))[0] == 200
    status, _ = await staff_post(server, f"/api/invitations/{made['token_id']}/revoke", {},
                                 cookie=cookie, csrf=csrf)
    assert status == 200
    assert (await preview(server, CONSULTATION, made["token"]))[0] == 400

    token = invitation(server, CONSULTATION, Role.OBSERVER, "傍聴 記者")
    client = await Client(server.url).connect()
    try:
        ack = await client.join("傍聴 記者", room=CONSULTATION, token=token)
    finally:
        await client.close()
    # used: refused to anyone else, still told to the device that redeemed it (a reload)
    assert (await preview(server, CONSULTATION, token))[0] == 400
    status, body = await preview(server, CONSULTATION, token,
                                 **{"X-Hiroba-Device": ack["device"]})
    assert status == 200 and body["name"] == "傍聴 記者", body


async def test_previews_are_rate_limited_per_address(settings: Settings) -> None:
    limited = replace(settings, staff_login_attempts_per_minute=3.0)
    async with running_server(limited) as server:
        token = invitation(server, COMMITTEE, Role.MEMBER, "委員")
        statuses = [(await preview(server, COMMITTEE, token))[0] for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429], statuses


def test_hiroba_invite_links_to_where_the_server_is(settings: Settings,
                                                    capsys: Any) -> None:
    """The printed link carries the server's port (not a fixed 8080), or the public
    address when ``public_base_url`` is set; and it previews."""
    async def seed() -> None:
        async with running_server(settings):
            pass

    asyncio.run(seed())  # the demo rooms, as a first start makes them

    def printed(s: Settings, **extra: Any) -> str:
        args = argparse.Namespace(room=COMMITTEE, role="chair", name="山田", ttl=600,
                                  host_name=None, **extra)
        assert invite(args, s) == 0
        return str(capsys.readouterr().out.strip())

    own = urlsplit(printed(replace(settings, port=9123, host="0.0.0.0")))
    assert (own.scheme, own.netloc, own.path) == ("http", "localhost:9123", "/")
    assert parse_qs(own.query)["room"] == [COMMITTEE]
    public = printed(replace(settings, public_base_url="https://hiroba.city.example.jp/"))
    assert public.startswith(f"https://hiroba.city.example.jp/?room={COMMITTEE}&token=")
    with pytest.raises(HirobaError):
        load_settings({}, {"public_base_url": "ftp://x/?a=1"})
