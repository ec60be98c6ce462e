"""A committee's public gallery at scale (issue 19 on issue 16's committee): visitors come
and go without touching the committee's procedure record. Fifty gallery joins on one
server rewrite no committee record, log no committee record line and send a member at most
a few ``committee:state``; the minutes still hold the gallery's peak and total. Each
sitting (a recording) counts its own gallery, from those present when it begins; after a
restart the counts carry on from where they were (the visitors' keys are kept)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from moderation.committee import GALLERY_EVERY
from rooms.model import Role
from server.app import RECORDINGS_KEY
from server.config.settings import Settings
from server.console.routes import MEETINGS_KEY
from server.http.routes import HUB_KEY
from server.recording.event_log import read_events
from server.recording.minutes import build_minutes
from server.recording.minutes_render import render_markdown
from server.recording.recorder import EVENTS
from tests.conftest import Server, running_server
from tests.integration.test_committee_flow import member
from tests.meetings import COMMITTEE, MeetingClient, add_staff, console, participant

#: Gallery visitors in the first sitting; those who leave again before it ends.
VISITORS, LEAVING = 50, 20


def most_states(seconds: float) -> int:
    """Most committee:state a member may get while the crowd comes and goes for
    ``seconds``: one per GALLERY_EVERY, and one more at each end (before, about one per
    join: the joins are seconds apart on a loaded machine, never coalesced)."""
    return 2 + int(seconds / GALLERY_EVERY)


def roomy(server: Server) -> None:
    room = server.app[HUB_KEY].rooms[COMMITTEE]
    room.info = replace(room.info, capacity=4 * VISITORS)


async def stored_record(server: Server) -> str | None:
    row = await server.app[MEETINGS_KEY].records.store.run(lambda c: c.execute(
        "SELECT body FROM committees WHERE room_id = ?", (COMMITTEE,)).fetchone())
    return None if row is None else str(row[0])


async def minutes_of(server: Server, staff: MeetingClient, rid: str) -> tuple[str, list[Any]]:
    await staff.act("recording:stop", {"room": COMMITTEE})
    folder = server.settings.recordings_path / rid
    row = await server.app[RECORDINGS_KEY].index.get(rid)
    public = await asyncio.to_thread(build_minutes, folder, row, include_moderation=False,
                                     tz=server.settings.zone)
    events = (await asyncio.to_thread(read_events, folder / EVENTS)).events
    return render_markdown(public), events


async def test_gallery_joins_leave_the_committee_record_alone(settings: Settings) -> None:
    settings = replace(settings, gallery_per_address=4 * VISITORS)
    made: list[Any] = []
    try:
        async with running_server(settings) as server:
            roomy(server)
            await add_staff(server)
            staff = await console(server, made)
            rid = (await staff.act("recording:start", {"room": COMMITTEE}))["id"]
            chair = await member(server, made, staff, "山田委員長", Role.CHAIR)
            await chair.act("committee:rollcall", {"open": True})
            await chair.expect("committee:state", lambda s: s["rollcall"] is True)
            before = await stored_record(server)
            assert before is not None
            states = sum(1 for name, _ in chair.seen if name == "committee:state")

            started = asyncio.get_running_loop().time()
            crowd = [await participant(server, made, f"傍聴{i}", COMMITTEE, gallery=True)
                     for i in range(VISITORS)]
            assert all(c.ack["place"] == "gallery" for c in crowd)
            for c in crowd[:LEAVING]:
                await c.close()
            # The numbers reach the room with the next state, within GALLERY_EVERY.
            told = await chair.expect("committee:state",
                                      lambda s: s["gallery"]["peak"] == VISITORS,
                                      within=2 * GALLERY_EVERY)
            assert told["gallery"]["total"] == VISITORS
            assert await stored_record(server) == before, "a gallery join rewrote the record"
            got = sum(1 for name, _ in chair.seen if name == "committee:state") - states
            took = asyncio.get_running_loop().time() - started
            assert got <= most_states(took), f"{got} committee:state in {took:.1f} s"

            text, events = await minutes_of(server, staff, rid)
            records = [e.data for e in events if e.data.get("type") == "committee.record"]
            # The start of the recording, the roll call, the chair's arrival: never a visitor.
            assert len(records) <= 4, [r.get("change") for r in records]
            assert f"傍聴者: 最大 {VISITORS}名 / 延べ {VISITORS}名" in text, text

            # The next sitting (its recording) counts its own gallery: those still
            # present once each, and who comes after.
            staying = VISITORS - LEAVING
            rid = (await staff.act("recording:start", {"room": COMMITTEE}))["id"]
            await participant(server, made, "傍聴次", COMMITTEE, gallery=True)
            text, _ = await minutes_of(server, staff, rid)
            assert f"傍聴者: 最大 {staying + 1}名 / 延べ {staying + 1}名" in text, text
            for c in made:
                await c.close()
            made.clear()

        async with running_server(settings) as server:  # a restart: the sitting's counts
            stored = server.app[MEETINGS_KEY].meetings[COMMITTEE].committee.gallery_numbers()
            assert stored == (0, staying + 1, staying + 1), stored
            roomy(server)
            staff = await console(server, made)
            await participant(server, made, "傍聴新", COMMITTEE, gallery=True)
            counted = server.app[MEETINGS_KEY].meetings[COMMITTEE].committee.gallery_numbers()
            assert counted == (1, staying + 1, staying + 2), counted
    finally:
        for c in made:
            await c.close()
