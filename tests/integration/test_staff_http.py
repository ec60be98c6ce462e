"""Staff over HTTP: login, session cookie, CSRF, expiry, exports and the audit log."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import aiohttp

from moderation.rate_limit import KeyedBuckets
from moderation.sessions import IDLE_SECONDS
from server.console.routes import MEETINGS_KEY
from tests.meetings import (
    CONSULTATION,
    STAFF_PASSWORD,
    add_staff,
    console,
    login,
    participant,
)


async def post(url: str, body: Any, **headers: str) -> tuple[int, dict[str, Any], Any]:
    async with aiohttp.ClientSession() as http, http.post(url, json=body,
                                                           headers=headers) as r:
        return r.status, await r.json(), r


async def test_login_cookie_and_wrong_passwords(server) -> None:
    await add_staff(server)
    url = server.url + "/api/login"
    for account, password in (("jimu", "wrong password!"), ("nobody", STAFF_PASSWORD),
                              ("JIMU ", "x"), (42, STAFF_PASSWORD)):
        status, body, _ = await post(url, {"account": account, "password": password})
        assert (status, body["reason"]) == (401, "bad_credentials"), (account, body)
    status, body, resp = await post(url, {"account": "Jimu", "password": STAFF_PASSWORD})
    assert status == 200 and body["account"] == "jimu" and body["display_name"] == "事務局"
    cookie = resp.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"):
        assert attribute in cookie, cookie
    assert "Secure" not in cookie, "plain HTTP on loopback; Secure comes with TLS"
    status, body, _ = await post(url, {"account": "jimu"})
    assert (status, body["reason"]) == (400, "missing_field")
    status, body, _ = await post(url, {"account": "jimu", "password": STAFF_PASSWORD},
                                 Origin="http://evil.example")
    assert (status, body["reason"]) == (403, "bad_csrf")
    async with aiohttp.ClientSession() as http, http.get(server.url + "/api/session") as r:
        assert (r.status, (await r.json())["reason"]) == (401, "session_expired")


async def test_login_attempts_are_limited(server) -> None:
    await add_staff(server)
    # The production limiter with a smaller allowance (the setting's default is 10).
    server.app[MEETINGS_KEY].auth.attempts = KeyedBuckets(4 / 60, 4)
    url = server.url + "/api/login"
    statuses = [(await post(url, {"account": "jimu", "password": "guess number x"}))[0]
                for _ in range(6)]
    assert statuses[:4] == [401] * 4 and statuses[4:] == [429, 429]


async def test_csrf_is_required_for_changes(server) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    url = f"{server.url}/api/rooms/{CONSULTATION}/registration-code"
    for headers, reason in (({"Cookie": cookie}, "bad_csrf"),
                            ({"Cookie": cookie, "X-CSRF-Token": "0" * 64}, "bad_csrf"),
                            ({"Cookie": cookie, "X-CSRF-Token": csrf,
                              "Origin": "https://evil.example"}, "bad_csrf"),
                            ({"X-CSRF-Token": csrf}, "session_expired")):
        status, body, _ = await post(url, {"action": "new"}, **headers)
        assert (status, body["reason"]) == (403 if reason == "bad_csrf" else 401, reason)
    meeting = server.app[MEETINGS_KEY].meeting(CONSULTATION)
    assert meeting.rules.registration_code is None, "nothing changed"
    status, body, _ = await post(url, {"action": "new"}, Cookie=cookie, **{"X-CSRF-Token": csrf},
                                 Origin=server.url)
    assert status == 200 and meeting.rules.registration_code == body["code"]
    # Logging out ends the session (and needs the token too).
    status, body, _ = await post(server.url + "/api/logout", {}, Cookie=cookie)
    assert (status, body["reason"]) == (403, "bad_csrf")
    status, _, _ = await post(server.url + "/api/logout", {}, Cookie=cookie,
                              **{"X-CSRF-Token": csrf})
    assert status == 200
    async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http, http.get(
        server.url + "/api/session"
    ) as r:
        assert r.status == 401


async def test_sessions_expire_and_disabled_accounts_end(server, made) -> None:
    await add_staff(server)
    service = server.app[MEETINGS_KEY]
    staff = await console(server, made, room=CONSULTATION)
    cookie, _ = await login(server)
    real = service.clock
    service.clock = lambda: real() + IDLE_SECONDS + 1
    try:
        async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http, http.get(
            server.url + "/api/session"
        ) as r:
            assert (r.status, (await r.json())["reason"]) == (401, "session_expired")
        ack = await staff.call("agenda:add", {"title": "議題", "planned": 60})
        assert ack["reason"] == "session_expired"
        again = await staff.call("agenda:add", {"title": "議題", "planned": 60})
        assert again["reason"] == "not_joined", "the console left the meeting"
    finally:
        service.clock = real
    cookie, _ = await login(server)
    await service.staff.set_disabled("jimu", True)
    async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http, http.get(
        server.url + "/api/session"
    ) as r:
        assert r.status == 401
    status, body, _ = await post(server.url + "/api/login",
                                 {"account": "jimu", "password": STAFF_PASSWORD})
    assert (status, body["reason"]) == (401, "bad_credentials")


async def test_every_export_in_both_formats(server, made) -> None:
    await add_staff(server)
    staff = await console(server, made, room=CONSULTATION)
    a = await participant(server, made, "=HYPERLINK(1)", room=CONSULTATION)
    b = await participant(server, made, "ひかる", room=CONSULTATION)
    await a.act("chat:send", {"text": "=1+1"})
    await a.act("chat:send", {"text": "@SUM(A1)"})
    op = await a.act("opinion:submit", {"category": "その他", "text": "-2+3 トイレを"})
    await b.act("opinion:support", {"opinion": op["opinion"]})
    await a.act("question:ask", {"text": "+いつ?"})
    poll = await staff.act("poll:create", {"question": "賛否", "options": ["賛成", "反対"]})
    await b.act("poll:vote", {"poll": poll["poll"], "choices": [0]})
    await staff.act("sanction:mute", {"target": a.ack["self"], "reason": "=連投"})
    cookie, _ = await login(server)
    async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http:
        tables = {}
        for what in ("chat", "opinions", "questions", "polls", "audit", "sanctions",
                     "attendance"):
            url = f"{server.url}/api/rooms/{CONSULTATION}/export/{what}"
            async with http.get(url + ".csv") as r:
                assert r.status == 200 and r.content_type == "text/csv", what
                text = await r.text()
            assert text.startswith("\ufeff")
            rows = list(csv.reader(io.StringIO(text[1:])))
            async with http.get(url + ".json") as r:
                body = json.loads(await r.text())
            assert body["what"] == what and body["columns"] == rows[0]
            # (The audit log grew by the CSV export's own entry in between.)
            assert len(body["rows"]) == len(rows) - (0 if what == "audit" else 1), what
            tables[what] = rows
        async with http.get(f"{server.url}/api/rooms/{CONSULTATION}/audit?limit=5") as r:
            entries = (await r.json())["entries"]
    chat = [r[3] for r in tables["chat"][1:]]
    assert chat == ["'=1+1", "'@SUM(A1)"], "formulas are defused"
    assert tables["opinions"][1][5] == "'-2+3 トイレを" and tables["opinions"][1][4] == "1"
    assert tables["questions"][1][4] == "'+いつ?"
    assert [r[4] for r in tables["polls"][1:]] == ["1", "0"]
    assert tables["sanctions"][1][1] == "mute" and tables["sanctions"][1][4] == "'=連投"
    names = {r[0] for r in tables["attendance"][1:]}
    assert {"'=HYPERLINK(1)", "ひかる", "事務局"} <= names
    actions = [r[5] for r in tables["audit"][1:]]
    assert {"poll.create", "sanction.mute", "data.export"} <= set(actions)
    assert len(entries) == 5 and entries[-1]["action"] in ("data.export", "poll.export")
    secret = re.compile(r"k_[0-9a-f]{24}|h_[0-9a-f]{32}|d_[A-Za-z0-9_-]{32}")
    assert not any(secret.search(cell) for table in tables.values() for row in table
                   for cell in row), "no person keys, device references or tokens"
