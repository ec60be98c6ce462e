"""Held out of a closed session (秘密会) is held out of acting too (issue 16): a citizen
who holds the floor when the committee closes loses it, one waiting in the hand queue
leaves it (both recorded before the closing marker, like any floor end), and while it is
closed every action of theirs but leaving is refused ``closed_session`` through the real
socket: chat, a question, an opinion, a hand, a poll vote, a microphone. Nothing they send
reaches the members. After the session reopens they act again. One server, no media."""

from __future__ import annotations

import asyncio
from typing import Any

from rooms.model import Role
from server.config.settings import Settings
from server.recording.event_log import read_events
from server.recording.recorder import EVENTS
from tests.conftest import running_server
from tests.meetings import COMMITTEE, add_staff, admitted, console

HIDDEN = "外から届いてはならない"


def queued(floor: dict[str, Any]) -> list[str]:
    return [w["pid"] for w in floor["queue"]]


async def test_held_out_people_cannot_act(settings: Settings) -> None:
    made: list[Any] = []
    async with running_server(settings) as server:
        try:
            await add_staff(server)
            staff = await console(server, made)
            rid = (await staff.act("recording:start", {"room": COMMITTEE}))["id"]
            member = await admitted(server, made, staff, "田中委員", Role.MEMBER)
            speaker = await admitted(server, made, staff, "話す市民", Role.CITIZEN)
            waiter = await admitted(server, made, staff, "待つ市民", Role.CITIZEN)
            poll = (await staff.act("poll:create", {"question": "賛否は?",
                                                    "options": ["賛", "否"]}))["poll"]
            pid = poll["id"] if isinstance(poll, dict) else poll
            await speaker.act("hand:raise")
            await staff.act("floor:give", {"target": speaker.ack["self"], "limit": 600})
            await waiter.act("hand:raise")
            await member.expect("meeting:floor", lambda f: f["holder"] == speaker.ack["self"]
                                and queued(f) == [waiter.ack["self"]])

            await staff.act("committee:closed_session", {"closed": True, "reason": "人事"})
            await member.expect("meeting:floor", lambda f: f["holder"] is None
                                and queued(f) == [])
            for who in (speaker, waiter):
                await who.expect("meeting:notice", lambda n: n["kind"] == "closed_session")

            attempts: list[tuple[str, dict[str, Any]]] = [
                ("chat:send", {"text": HIDDEN}),
                ("question:ask", {"text": HIDDEN}),
                ("opinion:submit", {"text": HIDDEN}),
                ("hand:raise", {}),
                ("poll:vote", {"poll": pid, "choices": [0]}),
                ("audio:publish", {"type": "offer", "sdp": "v=0\r\n"}),
            ]
            for who in (speaker, waiter):
                for event, body in attempts:
                    ack = await who.call(event, body)
                    assert not ack["ok"] and ack["reason"] == "closed_session", (event, ack)
            # Nor can the chair give the floor to someone held out.
            refused = await staff.call("floor:give", {"target": waiter.ack["self"]})
            assert refused["reason"] == "closed_session", refused

            await member.act("chat:send", {"text": "内部の発言"})
            await member.expect("meeting:event", lambda e: e.get("type") == "chat.posted"
                                and e["message"]["text"] == "内部の発言")
            assert HIDDEN not in repr(member.seen), "nothing of theirs reaches the members"

            await staff.act("committee:closed_session", {"closed": False})
            await speaker.expect("meeting:notice",
                                 lambda n: n["kind"] == "closed_session_ended")
            await speaker.act("chat:send", {"text": "再開後"})
            await member.expect("meeting:event", lambda e: e.get("type") == "chat.posted"
                                and e["message"]["text"] == "再開後")
            await waiter.act("hand:raise")

            await staff.act("recording:stop", {"room": COMMITTEE})
            folder = server.settings.recordings_path / rid
            events = [e.data for e in (await asyncio.to_thread(
                read_events, folder / EVENTS)).events]
            types = [(d.get("type"), d.get("cause"), d.get("closed")) for d in events]
            closing = types.index(("committee.closed_session", None, True))
            ended = [i for i, t in enumerate(types) if t[:2] == ("floor.ended", "closed_session")]
            lowered = [i for i, t in enumerate(types)
                       if t[:2] == ("hand.lowered", "closed_session")]
            assert ended and lowered and max(ended + lowered) < closing, types
            assert HIDDEN not in (folder / EVENTS).read_text(encoding="utf-8")
        finally:
            for c in made:
                await c.close()
