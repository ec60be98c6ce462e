"""Who holds a room's event, and when (issue 15, defect 10): staff set the organiser and
the scheduled times in the console's room settings (staff only, CSRF, checked, audited,
kept across a restart) or with ``hiroba rooms schedule`` (times read in the city's zone);
``GET /api/rooms`` tells the join page, and a meeting within its window is on now. The
opinion categories' labels reach the people already in the room at once."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from rooms.model import Role
from server.cli.main import main
from server.config.settings import Settings
from tests.conftest import running_server
from tests.meetings import (
    CONSULTATION,
    MeetingClient,
    add_staff,
    http,
    invitation,
    login,
    staff_post,
)

PATH = f"/api/rooms/{CONSULTATION}/settings"
ORGANISER = "市民生活委員会 / ○○市"


async def rooms_of(url: str) -> dict[str, dict[str, Any]]:
    _, body, _ = await http("GET", url + "/api/rooms")
    return {r["id"]: r for r in body["rooms"]}


async def test_staff_schedule_a_room(settings: Settings) -> None:
    now = int(time.time())
    async with running_server(settings) as server:
        # nobody but staff, and staff only with the CSRF token
        async with aiohttp.ClientSession() as session, session.post(
                server.url + PATH, json={"organiser": ORGANISER}) as r:
            assert r.status in (401, 403)
        chair = invitation(server, CONSULTATION, Role.CHAIR, "議長")
        status, _ = await staff_post(server, PATH, {"organiser": ORGANISER},
                                     cookie=f"hiroba_session={chair}", csrf="x")
        assert status in (401, 403)
        await add_staff(server)
        cookie, csrf = await login(server)
        status, body = await staff_post(server, PATH, {"organiser": ORGANISER},
                                        cookie=cookie, csrf="wrong")
        assert (status, body["reason"]) == (403, "bad_csrf")

        # nothing but a plan is taken
        for bad in ({"starts_at": "tomorrow"}, {"starts_at": True},
                    {"starts_at": now * 1000, "ends_at": now * 1000 + 3_600_000},
                    {"starts_at": now, "ends_at": now}, {"starts_at": now, "ends_at": now - 60},
                    {"ends_at": now + 60}, {"organiser": 7}, {"organiser": "委" * 121},
                    {"starts_at": -1}):
            status, body = await staff_post(server, PATH, bad, cookie=cookie, csrf=csrf)
            assert 400 <= status < 500 and not body["ok"], (bad, status, body)
        room = (await rooms_of(server.url))[CONSULTATION]
        assert room["organiser"] is None and room["starts_at"] is None and not room["on_now"]

        # a meeting later today: said, not on now
        later = {"organiser": ORGANISER, "starts_at": now + 3600, "ends_at": now + 7200}
        status, body = await staff_post(server, PATH, later, cookie=cookie, csrf=csrf)
        assert status == 200, body
        assert (body["organiser"], body["starts_at"], body["ends_at"]) == (
            ORGANISER, now + 3600, now + 7200)
        assert body["time_zone"] == settings.time_zone
        room = (await rooms_of(server.url))[CONSULTATION]
        assert (room["organiser"], room["starts_at"], room["ends_at"]) == (
            ORGANISER, now + 3600, now + 7200)
        assert room["on_now"] is False and room["time_zone"] == settings.time_zone

        # within its window: the meeting on now (nothing is recording)
        status, body = await staff_post(server, PATH, {"starts_at": now - 600},
                                        cookie=cookie, csrf=csrf)
        assert status == 200 and body["organiser"] == ORGANISER, body
        rooms = await rooms_of(server.url)
        assert rooms[CONSULTATION]["on_now"] is True and not rooms[CONSULTATION]["recording"]
        assert not any(r["on_now"] for r in rooms.values() if r["id"] != CONSULTATION)

        _, log, _ = await http("GET", f"{server.url}/api/rooms/{CONSULTATION}/audit",
                               Cookie=cookie)
        planned = [e for e in log["entries"] if e["action"] == "room.settings"]
        assert len(planned) == 2 and planned[-1]["details"]["organiser"] == ORGANISER, planned

    async with running_server(settings) as server:  # kept across a restart
        room = (await rooms_of(server.url))[CONSULTATION]
        assert (room["organiser"], room["starts_at"], room["ends_at"], room["on_now"]) == (
            ORGANISER, now - 600, now + 7200, True)
        cookie, csrf = await login(server)
        status, body = await staff_post(  # cleared: null
            server, PATH, {"organiser": None, "starts_at": None, "ends_at": None},
            cookie=cookie, csrf=csrf)
        assert status == 200 and body["organiser"] == "" and body["starts_at"] is None, body
        room = (await rooms_of(server.url))[CONSULTATION]
        assert room["organiser"] is None and room["on_now"] is False


async def test_category_labels_reach_people_in_the_room(settings: Settings) -> None:
    labelled = [{"value": "環境", "label": {"ja": "環境", "en": "Environment"}}, {"value": "交通"}]
    async with running_server(settings) as server:
        await add_staff(server)
        cookie, csrf = await login(server)
        citizen = await MeetingClient(server.url).connect()
        try:
            ack = await citizen.call("join", {"name": "市民", "room": CONSULTATION, "lang": "en"})
            assert ack["ok"], ack
            status, body = await staff_post(server, PATH, {"categories": labelled},
                                            cookie=cookie, csrf=csrf)
            assert status == 200, body
            event = await citizen.expect(
                "meeting:event", lambda e: e.get("type") == "meeting.categories")
            # labelled values go out with their labels, the others as plain values
            assert event["categories"] == [labelled[0], "交通"], event
        finally:
            await citizen.close()
        # and a newcomer gets the same list
        late = await MeetingClient(server.url).connect()
        try:
            ack = await late.call("join", {"name": "後から", "room": CONSULTATION, "lang": "en"})
            assert ack["meeting"]["categories"] == [labelled[0], "交通"], ack["meeting"]
        finally:
            await late.close()


def _cli(data: Path, *args: str) -> tuple[int, str, str]:
    """``hiroba ARGS --data-dir DATA`` in this process (a new Python would spend seconds
    importing the server before its first line): exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--data-dir", str(data)])
    return code, out.getvalue(), err.getvalue()


async def _consultation(settings: Settings) -> dict[str, Any]:
    async with running_server(settings) as server:
        return (await rooms_of(server.url))[CONSULTATION]


def test_hiroba_rooms_schedule(settings: Settings) -> None:
    asyncio.run(_consultation(settings))  # the demo's rooms in a database
    data = settings.data_dir
    code, out, err = _cli(data, "rooms", "schedule", CONSULTATION, "--organiser", ORGANISER,
                          "--starts", "2030-01-10 14:00", "--ends", "2030-01-10T16:30")
    assert code == 0, err
    assert "2030-01-10 14:00" in out and settings.time_zone in out
    for bad, says in ((("--starts", "next week"), "--starts"),
                      (("--ends", "2030-01-10 13:00"), "after the start"),
                      (("--starts", ""), "an end needs a start")):
        code, _, err = _cli(data, "rooms", "schedule", CONSULTATION, *bad)
        assert code == 2 and says in err, (bad, err)
    code, _, err = _cli(data, "rooms", "schedule", "nowhere", "--organiser", "x")
    assert code == 2 and "no room" in err
    # a flag left out keeps what is stored
    assert _cli(data, "rooms", "schedule", CONSULTATION, "--ends", "2030-01-10 17:00")[0] == 0

    zone = ZoneInfo(settings.time_zone)  # read in the city's zone, not the machine's
    starts = int(datetime(2030, 1, 10, 14, 0, tzinfo=zone).timestamp())
    ends = int(datetime(2030, 1, 10, 17, 0, tzinfo=zone).timestamp())
    room = asyncio.run(_consultation(settings))
    assert (room["organiser"], room["starts_at"], room["ends_at"], room["on_now"]) == (
        ORGANISER, starts, ends, False)
    assert _cli(data, "rooms", "schedule", CONSULTATION, "--clear")[0] == 0
    room = asyncio.run(_consultation(settings))
    assert room["organiser"] is None and room["starts_at"] is None
