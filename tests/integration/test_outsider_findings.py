"""Findings of the independent security test (issue 14) that this file covers: full-width
formula prefixes in CSV exports (#14), an existence oracle in ``sanction:lift`` (#15),
staff login names in a published recording's public event log (#11) and per-account
login back-off (#12). Each goes through the real entry points: a real server, real
socket.io clients and plain HTTP."""

from __future__ import annotations

import csv
import io
import json
import logging

import aiohttp
import pytest

from rooms.model import Role
from server.recording.recorder import EVENTS
from tests.conftest import Client, Server
from tests.meetings import (
    COMMITTEE,
    CONSULTATION,
    STAFF_PASSWORD,
    add_staff,
    admitted,
    console,
    http,
    login,
    participant,
)
from tests.published import publish


async def test_full_width_formula_prefixes_are_defused_in_csv(
    server: Server, made: list[Client],
) -> None:
    """#14: ``＝HYPERLINK(…)`` is a formula once a spreadsheet folds it; every CSV export
    defuses it as it does ``=``."""
    await add_staff(server)
    staff = await console(server, made, room=CONSULTATION)
    a = await participant(server, made, "＝HYPERLINK(1)", room=CONSULTATION)
    await a.act("chat:send", {"text": "＋1+1"})
    await a.act("chat:send", {"text": "\u3000＠SUM(A1)"})
    await a.act("question:ask", {"text": "－2+3 いつ?"})
    await staff.act("sanction:mute", {"target": a.ack["self"], "reason": "＝連投"})
    cookie, _ = await login(server)
    tables = {}
    async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http:
        for what in ("chat", "questions", "sanctions", "attendance"):
            url = f"{server.url}/api/rooms/{CONSULTATION}/export/{what}.csv"
            async with http.get(url) as r:
                assert r.status == 200, what
                tables[what] = list(csv.reader(io.StringIO((await r.text())[1:])))
    assert [r[3] for r in tables["chat"][1:]] == ["'＋1+1", "'＠SUM(A1)"]
    assert tables["questions"][1][4] == "'－2+3 いつ?"
    assert tables["sanctions"][1][4] == "'＝連投"
    # (Names are folded with NFKC on join already, so the name arrives as ASCII ``=``.)
    assert "'=HYPERLINK(1)" in {r[0] for r in tables["attendance"][1:]}


async def test_sanction_lift_tells_a_citizen_nothing_about_which_sanctions_exist(
    server: Server, made: list[Client],
) -> None:
    """#15: a citizen lifting a sanction gets the same answer for an id that exists and for
    one that does not, so the answers do not count the sanctions."""
    await add_staff(server)
    staff = await console(server, made, room=CONSULTATION)
    a = await participant(server, made, "たろう", room=CONSULTATION)
    b = await participant(server, made, "はなこ", room=CONSULTATION)
    muted = await staff.act("sanction:mute", {"target": b.ack["self"], "reason": "連投"})
    existing = await a.call("sanction:lift", {"sanction": muted["sanction"]})
    missing = await a.call("sanction:lift", {"sanction": muted["sanction"] + 1000})
    assert existing == missing, (existing, missing)
    assert (existing["ok"], existing["reason"]) == (False, "forbidden"), existing
    # Staff, who may list sanctions anyway, still hear that an id is unknown.
    unknown = await staff.call("sanction:lift", {"sanction": muted["sanction"] + 1000})
    assert unknown["reason"] == "no_such_item", unknown


async def test_public_event_log_names_no_login_and_no_removal(
    server: Server, made: list[Client],
) -> None:
    """#11: the event log of a published recording, as the public reads it, holds no
    staff login name (``by``) and does not say who was removed: what the public minutes
    show (names, roles, the floor, the agenda) stays."""
    await add_staff(server)
    staff = await console(server, made)
    member = await admitted(server, made, staff, "田中委員", Role.MEMBER)
    citizen = await admitted(server, made, staff, "さくら", Role.CITIZEN)
    started = await staff.act("recording:start", {"room": COMMITTEE})
    item = await staff.act("agenda:add", {"title": "議題一", "planned": 300})
    await staff.act("agenda:open", {"item": item["item"]})
    await staff.act("floor:give", {"target": member.ack["self"], "limit": 60})
    await staff.act("floor:revoke")
    await staff.act("sanction:remove", {"target": citizen.ack["self"], "reason": "退場"})
    await staff.act("recording:stop", {"room": COMMITTEE})
    await publish(server, started["id"])
    url = f"{server.url}/api/recordings/{started['id']}/files/{EVENTS}"
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        assert r.status == 200
        lines = [json.loads(line) for line in (await r.text()).splitlines()]
    text = json.dumps(lines, ensure_ascii=False)
    assert '"jimu"' not in text, "no staff login name"
    assert not any(line.get("cause") in ("removed", "banned") for line in lines), lines
    kinds = {line.get("type") for line in lines}
    assert {"floor.given", "agenda.opened"} <= kinds, kinds
    given = next(line for line in lines if line.get("type") == "floor.given")
    assert given["pid_name"] == "田中委員"
    left = [line for line in lines if line.get("type") == "meeting.left"]
    assert [(line["pid_name"], line["cause"]) for line in left] == [("さくら", "left")], left
    # Staff still read the whole log.
    cookie, _ = await login(server)
    async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http, http.get(url) as r:
        full = await r.text()
    assert '"by": "jimu"' in full or '"by":"jimu"' in full
    assert '"cause": "removed"' in full or '"cause":"removed"' in full


async def test_wrong_passwords_for_one_account_back_off_across_addresses(
    server: Server, caplog: pytest.LogCaptureFixture,
) -> None:
    """#12: many addresses guessing one account's password (each under its own address
    limit) are slowed by the account's back-off: after a few wrong passwords, attempts
    are answered ``rate_limited`` without a password check, the right password included;
    one warning in the log, and the metrics count it. Other accounts are not slowed."""
    await add_staff(server)
    await add_staff(server, "kacho", "課長")
    url = server.url + "/api/login"
    wrong = {"account": "jimu", "password": "guess number 1"}
    per_address = int(server.settings.staff_login_attempts_per_minute)
    statuses: list[int] = []
    with caplog.at_level(logging.WARNING, logger="server.staff.auth"):
        for n in range(6):  # 127.0.0.2-7: all loopback, six addresses
            for _ in range(per_address):
                connector = aiohttp.TCPConnector(local_addr=(f"127.0.0.{n + 2}", 0))
                statuses.append((await http("POST", url, body=wrong, connector=connector))[0])
        # The right password waits too, from a fresh address, while the account is backed off.
        status, body, _ = await http(
            "POST", url, body={"account": "jimu", "password": STAFF_PASSWORD},
            connector=aiohttp.TCPConnector(local_addr=("127.0.0.9", 0)))
    assert len(statuses) == 60 and set(statuses) == {401, 429}, statuses
    checked = statuses.count(401)
    # 5 before the back-off, then one each time it ends (1 s, 2 s, 4 s, ...).
    assert server.settings.staff_login_account_failures <= checked <= 9, statuses
    assert (status, body["reason"]) == (429, "rate_limited"), body
    warnings = [rec for rec in caplog.records if "backed off" in rec.getMessage()]
    assert len(warnings) == 1, [rec.getMessage() for rec in caplog.records]
    # Another account logs in at once.
    status, body, _ = await http("POST", url, body={"account": "kacho",
                                                    "password": STAFF_PASSWORD},
                                 connector=aiohttp.TCPConnector(local_addr=("127.0.0.10", 0)))
    assert status == 200 and body["ok"], body
    status, text, _ = await http("GET", server.url + "/metrics")
    text = text.decode()
    assert "hiroba_staff_login_backoffs_total 1" in text
    refused = next(line for line in text.splitlines()
                   if line.startswith("hiroba_staff_login_backoff_refused_total "))
    assert int(float(refused.split()[1])) == statuses.count(429) + 1
