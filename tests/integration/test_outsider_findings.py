"""Findings of the independent security test (issue 14) that this file covers: full-width
formula prefixes in CSV exports (#14), an existence oracle in ``sanction:lift`` (#15),
staff login names in a published recording's public event log (#11) and per-account
login back-off (#12). Each goes through the real entry points: a real server, real
socket.io clients and plain HTTP."""

from __future__ import annotations

import csv
import io
import json

import aiohttp

from rooms.model import Role
from server.recording.recorder import EVENTS
from tests.meetings import (
    COMMITTEE,
    CONSULTATION,
    add_staff,
    admitted,
    console,
    login,
    participant,
)
from tests.published import publish


async def test_full_width_formula_prefixes_are_defused_in_csv(server, made) -> None:
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
    server, made,
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


async def test_public_event_log_names_no_login_and_no_removal(server, made) -> None:
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
