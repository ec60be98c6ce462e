"""A recording started mid-meeting begins with the procedure as it stands (issue 15, 4):
the open agenda item, the floor holder and their countdown, and the queue are in the event
log, so the minutes name the item and the speaker and the replay shows who has the floor."""

from __future__ import annotations

import asyncio

from rooms.model import Role
from server.app import RECORDINGS_KEY
from server.recording.event_log import EventKind, read_events
from server.recording.minutes import build_minutes
from server.recording.recorder import EVENTS
from tests.conftest import Client, Server
from tests.meetings import COMMITTEE, add_staff, admitted, console


async def test_a_recording_started_midway_has_the_agenda_floor_and_queue(
    server: Server, made: list[Client]
) -> None:
    await add_staff(server)
    staff = await console(server, made)
    member = await admitted(server, made, staff, "田中委員", Role.MEMBER)
    citizen = await admitted(server, made, staff, "さくら", Role.CITIZEN)
    item = (await staff.act("agenda:add", {"title": "駅前広場の再整備", "planned": 600}))["item"]
    await staff.act("agenda:open", {"item": item})
    await staff.act("floor:give", {"target": member.ack["self"], "limit": 120})
    await citizen.act("hand:raise")
    await citizen.expect("meeting:floor", lambda f: f["queue"])

    started = await staff.act("recording:start", {"room": COMMITTEE})
    await asyncio.sleep(0.3)
    stopped = await staff.act("recording:stop", {"room": COMMITTEE})
    folder = server.settings.recordings_path / started["id"]

    events = (await asyncio.to_thread(read_events, folder / EVENTS)).events
    lines = [e.data for e in events]
    opened = [d for d in lines if d.get("type") == "agenda.opened"]
    assert [(d["item_id"], d["title"]) for d in opened] == [(item, "駅前広場の再整備")]
    given = [d for d in lines if d.get("type") == "floor.given"]
    assert [(d["pid"], d["pid_name"]) for d in given] == [(member.ack["self"], "田中委員")]
    assert given[0]["deadline"] is not None, "the replay counts down from the deadline"
    raised = [d for d in lines if d.get("type") == "hand.raised"]
    assert [(d["pid_name"], d["position"]) for d in raised] == [("さくら", 1)]
    first_floor = next(i for i, e in enumerate(events) if e.kind is EventKind.FLOOR)
    audited = next(i for i, e in enumerate(events) if e.kind is EventKind.MODERATION)
    assert first_floor < audited, "the state comes before anything that happened after"

    row = await server.app[RECORDINGS_KEY].index.get(stopped["id"])
    minutes = await asyncio.to_thread(build_minutes, folder, row, include_moderation=True,
                                      tz=server.settings.zone)
    assert [(a.item_id, a.title) for a in minutes.agenda] == [(item, "駅前広場の再整備")]
    turns = [(t.name, t.source) for t in minutes.timeline if t.source == "floor"]
    assert turns == [("田中委員", "floor")], "the member had the floor all the recording"
