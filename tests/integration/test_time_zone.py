"""Times in the city's zone (the ``time_zone`` setting), on real servers: the minutes, the
exports, the audit log and the console's session; the same meeting in Asia/Tokyo (the
default) and in Asia/Kolkata (+05:30: a zone whose offset is not whole hours), on a
machine whose own zone is neither."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.app import RECORDINGS_KEY
from server.config.settings import Settings
from server.recording.recorder import read_manifest
from tests.conftest import ROOT, Server
from tests.meetings import CONSULTATION, add_staff, console, login, participant
from tests.minutes_meeting import RECORDING_ID, record_meeting

#: zone, its offset, the test meeting's start (10:00 JST) there, and how the minutes name it.
ZONES = {
    "Asia/Tokyo": ("+09:00", "10:00:00", "JST, UTC+09:00"),
    "Asia/Kolkata": ("+05:30", "06:30:00", "IST, UTC+05:30"),
}


@pytest.fixture(params=list(ZONES))
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    return replace(settings, time_zone=request.param)


def expected(server: Server) -> tuple[str, str, str]:
    return ZONES[server.settings.time_zone]


async def test_minutes_are_in_the_city_zone(server: Server) -> None:
    _, start, label = expected(server)
    service = server.app[RECORDINGS_KEY]
    folder = service.root / RECORDING_ID
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, record_meeting, folder)
    manifest = await loop.run_in_executor(None, read_manifest, folder)
    await service.index.add(manifest, "jimu")
    await service.index.finish(manifest)
    await service.index.set_published(RECORDING_ID, True, time.time())
    async with aiohttp.ClientSession() as http, http.get(
        f"{server.url}/api/recordings/{RECORDING_ID}/minutes?format=md"
    ) as resp:
        assert resp.status == 200
        text = await resp.text()
        disposition = resp.headers["Content-Disposition"]
    end = start[:4] + "1:00"  # the meeting lasts a minute
    assert f"- 開始: {start}  終了: {end}  ({label})" in text, text[:400]
    floor = f"| {start[:6]}12 | {start[:6]}30 | 田中委員 | 委員 |"
    assert floor in text
    assert "20261127" in disposition  # the day of the meeting there (both zones agree)


def times_in(rows: list[list[str]], columns: tuple[str, ...]) -> list[str]:
    header = rows[0]
    return [row[header.index(c)] for row in rows[1:] for c in columns if row[header.index(c)]]


async def test_exports_and_the_console_are_in_the_city_zone(server: Server, made: Any) -> None:
    offset, _, _ = expected(server)
    began = time.time()
    await add_staff(server)
    staff = await console(server, made, room=CONSULTATION)
    citizen = await participant(server, made, "ひかる", room=CONSULTATION)
    await citizen.act("chat:send", {"text": "こんにちは"})
    await citizen.act("opinion:submit", {"category": "その他", "text": "ベンチを増やして"})
    await staff.act("sanction:mute", {"target": citizen.ack["self"], "reason": "試験"})
    cookie, _ = await login(server)
    found: list[str] = []
    async with aiohttp.ClientSession(headers={"Cookie": cookie}) as http:
        base = f"{server.url}/api/rooms/{CONSULTATION}"
        for what, columns in (("chat", ("time",)), ("opinions", ("submitted_at",)),
                              ("attendance", ("joined_at",)), ("sanctions", ("time",)),
                              ("audit", ("time",))):
            async with http.get(f"{base}/export/{what}.csv") as r:
                assert r.status == 200, what
                rows = list(csv.reader(io.StringIO((await r.text())[1:])))
            got = times_in(rows, columns)
            assert got, what
            found += got
        async with http.get(f"{base}/export/opinions.json") as r:
            body = json.loads(await r.text())
        found += [body["exported_at"], *(row["submitted_at"] for row in body["rows"])]
        async with http.get(f"{base}/audit?limit=5") as r:
            found += [e["time"] for e in (await r.json())["entries"]]
        async with http.get(f"{server.url}/api/session") as r:
            session = await r.json()
    ended = time.time()
    assert session["time_zone"] == server.settings.time_zone  # the console formats with it
    for text in found:
        # The city's offset, and the right instant (not local time labelled with it).
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d" + re.escape(offset), text), text
        assert began - 1 <= datetime.fromisoformat(text).timestamp() <= ended + 1, text


def test_a_bad_time_zone_stops_the_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server.cli.main", "serve", "--data-dir", str(tmp_path / "data"),
         "--time-zone", "Asia/Tokio"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "time_zone" in done.stderr and "'Asia/Tokio'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "hiroba.sqlite3").exists(), "refused before anything"
