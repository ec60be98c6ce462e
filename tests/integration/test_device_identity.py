"""Issue 14, finding 2: "one ballot per person" must not be one per self-made device token.

The attack as reported: a single socket re-joins with a fresh device token before each
action and votes, supports, upvotes and chats as a new person every time. Device
identities are now issued and signed by the server, a socket keeps the identity it first
joined with, and one address may be issued only ``device_mints_per_window`` new ones per
window. The browsers' addresses come from the trusted proxy's X-Forwarded-For (the server
listens on 127.0.0.1 and trusts it as its proxy; loopback itself is not counted).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import replace
from typing import Any

import pytest

from moderation.chat import CHAT_BURST, CHAT_RATE
from server.console.routes import MEETINGS_KEY
from tests.conftest import Client, Server
from tests.meetings import CONSULTATION, MeetingClient, add_staff, console

ROUNDS = 12
MINTS = 4


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return replace(settings, trusted_proxies=("127.0.0.1/32",), device_mints_per_window=MINTS,
                   device_surge_per_minute=3)


class Behind(MeetingClient):
    """A meeting client whose browser is at ``address`` behind the trusted proxy."""

    def __init__(self, url: str, address: str) -> None:
        super().__init__(url)
        self.address = address

    async def connect(self) -> Behind:
        await self.sio.connect(self.url, transports=["websocket"], wait_timeout=5,
                               headers={"X-Forwarded-For": self.address})
        return self

    async def enter(self, **extra: Any) -> dict[str, Any]:
        return await self.call(  # type: ignore[no-any-return]
            "join", {"name": "はなこ", "room": CONSULTATION, "lang": "ja", **extra})


def self_made() -> str:
    """A device token as the attacker makes them: the old, merely well-shaped kind."""
    return "d_" + secrets.token_urlsafe(24)


async def test_one_socket_rotating_device_tokens_gains_nothing(
    server: Server, made: list[Client]
) -> None:
    await add_staff(server)
    staff = await console(server, made, room=CONSULTATION)
    author = await Behind(server.url, "198.51.100.1").connect()
    made.append(author)
    assert (await author.enter())["ok"]
    category = staff.ack["meeting"]["categories"][0]
    opinion = (await author.act("opinion:submit", {"category": category,
                                                   "text": "ベンチを増やしてください"}))["opinion"]
    question = (await author.act("question:ask", {"text": "工事はいつ?"}))["question"]
    poll = (await staff.act("poll:create", {"question": "夜間照明は?",
                                            "options": ["LED", "現状"]}))["poll"]

    attacker = await Behind(server.url, "203.0.113.9").connect()
    made.append(attacker)
    accepted = {"poll": 0, "support": 0, "question": 0, "chat": 0}
    devices = set()
    started = time.monotonic()
    for n in range(ROUNDS):
        ack = await attacker.enter(device=self_made())
        assert ack["ok"], ack
        devices.add(ack["device"])
        for kind, event, body in (
            ("poll", "poll:vote", {"poll": poll, "choices": [0]}),
            ("support", "opinion:support", {"opinion": opinion}),
            ("question", "question:vote", {"question": question}),
            ("chat", "chat:send", {"text": f"賛成 {n}"}),
        ):
            accepted[kind] += bool((await attacker.call(event, body))["ok"])
    # The socket is one person whatever it presents: one identity, one of everything.
    assert len(devices) == 1, devices
    assert (accepted["support"], accepted["question"]) == (1, 1), accepted
    # (the one person's chat allowance: a burst, refilled at CHAT_RATE while this ran)
    assert accepted["chat"] <= CHAT_BURST + CHAT_RATE * (time.monotonic() - started) + 1, \
        accepted
    # (a poll ballot may be changed: the count is what matters)
    await staff.act("poll:close", {"poll": poll})
    result = await staff.expect("meeting:event", lambda e: e["type"] == "poll.changed"
                                and e.get("change") == "closed")
    assert result["poll"]["voters"] == 1, result


async def test_new_identities_per_address_are_limited(server: Server, made: list[Client]) -> None:
    minted = []
    for n in range(MINTS):
        # each a new browser (socket) of one household, IPv6: one /64 is one address
        c = await Behind(server.url, f"2001:db8:0:7::{n + 1}").connect()
        made.append(c)
        ack = await c.enter(device=self_made() if n % 2 else None)
        assert ack["ok"], ack
        assert ack["device"].startswith("dv."), ack["device"]
        minted.append(ack["device"])
    assert len(set(minted)) == MINTS
    extra = await Behind(server.url, "2001:db8:0:7:ffff::1").connect()
    made.append(extra)
    refused = await extra.enter()
    assert refused["reason"] == "rate_limited", refused
    assert refused["retry_after"] >= 1
    # A browser that kept its identity needs no new one; another household gets one.
    assert (await extra.enter(device=minted[0]))["ok"]
    neighbour = await Behind(server.url, "2001:db8:0:8::1").connect()
    made.append(neighbour)
    assert (await neighbour.enter())["ok"]


async def test_forged_identities_are_refused_and_old_tokens_upgraded(
    server: Server, made: list[Client]
) -> None:
    phone = await Behind(server.url, "198.51.100.20").connect()
    made.append(phone)
    ack = await phone.enter(device=self_made())  # stored before the upgrade
    assert ack["ok"] and ack["device"].startswith("dv."), ack
    signed = ack["device"]
    forged = signed[:-4] + ("AAAA" if not signed.endswith("AAAA") else "BBBB")
    other = await Behind(server.url, "198.51.100.21").connect()
    made.append(other)
    refused = await other.enter(device=forged)
    assert refused["reason"] == "bad_device", refused
    # The same browser on another socket (a second tab, tomorrow) keeps its identity.
    assert (await other.enter(device=signed))["device"] == signed


async def test_staff_see_a_surge_of_new_devices(
    server: Server, made: list[Client], caplog: pytest.LogCaptureFixture
) -> None:
    await add_staff(server)
    staff = await console(server, made, room=CONSULTATION)
    caplog.set_level(logging.WARNING, logger="server.meetings.service")
    for n in range(3):
        c = await Behind(server.url, f"192.0.2.{n + 1}").connect()
        made.append(c)
        assert (await c.enter())["ok"]
    surge = await staff.expect("meeting:staff", lambda b: any(
        e.get("type") == "devices.surge" for e in b["events"]))
    assert surge["events"][0]["minted"] == 3
    assert any("new device identities" in r.getMessage() for r in caplog.records)
    view = await staff.act("console:join", {"room": CONSULTATION})
    assert view["staff"]["new_devices"]["this_minute"] == 3, view["staff"]["new_devices"]


async def test_per_resident_codes_are_single_use_ballot_identities(
    server: Server, made: list[Client]
) -> None:
    await add_staff(server)
    staff = await console(server, made, room=CONSULTATION)
    issued = await staff.act("codes:issue", {"count": 2})
    first, second = issued["codes"]
    assert issued["unused"] == 2 and len(first) == 14  # ABCD-EFGH-JKLM
    a = await Behind(server.url, "198.51.100.30").connect()
    made.append(a)
    assert (await a.enter())["reason"] == "code_required"
    joined = await a.enter(code=first.lower().replace("-", " "))  # as people type it
    assert joined["ok"], joined
    b = await Behind(server.url, "198.51.100.31").connect()
    made.append(b)
    assert (await b.enter(code=first))["reason"] == "bad_code"  # a's now
    assert (await b.enter(code=second))["ok"]
    # a, on another socket tomorrow: the identity owns the code, none needed again
    again = await Behind(server.url, "198.51.100.30").connect()
    made.append(again)
    assert (await again.enter(device=joined["device"]))["ok"]
    c = await Behind(server.url, "198.51.100.32").connect()
    made.append(c)
    assert (await c.enter(code=second))["reason"] == "bad_code"
    # Stored (hashes only) with who used each.
    stored = await server.app[MEETINGS_KEY].records.resident_codes()
    assert sorted(bool(v) for v in stored[CONSULTATION].values()) == [True, True]
    assert first not in str(stored)
    # Citizens cannot issue codes; clearing lifts the requirement.
    assert (await a.call("codes:issue", {"count": 5}))["reason"] == "forbidden"
    await staff.act("codes:issue", {"clear": True})
    assert (await c.enter())["ok"]
