"""A committee meeting through real sockets (issue 16, part A): roll call with three
members and the chair, identity marks, quorum lost and regained, a named vote with results
by name, a tie decided by the chair, recusal, and every bad vote refused with its reason
and audited. One server for the whole module: the scenario is one meeting."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from rooms.model import Role
from server.app import RECORDINGS_KEY
from server.config.settings import Settings
from server.console.routes import MEETINGS_KEY
from server.recording.minutes import build_minutes
from server.recording.minutes_render import render_html, render_markdown
from tests.conftest import Server, running_server
from tests.meetings import (
    COMMITTEE,
    MeetingClient,
    add_staff,
    console,
    invitation,
    login,
    participant,
    staff_post,
)


def watch(client: MeetingClient) -> MeetingClient:
    client.sio.on("committee:state", client._recorder("committee:state"))
    return client


async def member(server: Server, made: list[Any], staff: MeetingClient, name: str,
                 role: Role = Role.MEMBER, *, token: str | None = None,
                 device: str | None = None) -> MeetingClient:
    """A member (or the chair) joining with their invitation, admitted from the lobby."""
    extra: dict[str, Any] = {"token": token or invitation(server, COMMITTEE, role, name)}
    if device:
        extra["device"] = device
    client = watch(await participant(server, made, name, COMMITTEE, **extra))
    client.token = extra["token"]  # type: ignore[attr-defined]
    if client.ack.get("place") == "lobby":
        await staff.act("lobby:admit", {"target": client.ack["self"]})
        client.ack = await client.expect("meeting:admitted")
    return client


async def refused(client: MeetingClient, event: str, data: Any, reason: str) -> None:
    ack = await client.call(event, data)
    assert not ack["ok"] and ack["reason"] == reason, (event, data, ack)


async def state(client: MeetingClient, predicate: Any) -> dict[str, Any]:
    """The first committee:state after the last one matched on this client."""
    start = getattr(client, "cursor", 0)

    def later(s: Any) -> bool:
        index = next(i for i, (_, d) in enumerate(client.seen) if d is s)
        try:
            return index >= start and bool(predicate(s))
        except (TypeError, KeyError):  # no vote yet
            return False

    found = await client.expect("committee:state", later)
    client.cursor = next(i for i, (_, d) in enumerate(client.seen)  # type: ignore[attr-defined]
                         if d is found)
    return found  # type: ignore[no-any-return]


async def check_minutes(server: Server, staff: MeetingClient, rid: str) -> None:
    """The minutes of the recording hold the committee's proceedings, in the city's zone."""
    await staff.act("committee:closed_session", {"closed": True, "reason": "個人情報"})
    await staff.act("committee:closed_session", {"closed": False})
    await staff.act("recording:stop", {"room": COMMITTEE})
    folder = server.settings.recordings_path / rid
    row = await server.app[RECORDINGS_KEY].index.get(rid)
    public = await asyncio.to_thread(build_minutes, folder, row, include_moderation=False,
                                     tz=server.settings.zone)
    assert public.committee is not None
    text = render_markdown(public)
    for words in ("## 委員会の議事", "開会時の定足数", "出席（確認済み） 4 / 定足数 2 / 定数 4",
                  "議案第1号 条例の一部改正", "結果: 原案可決", "記名投票",
                  "| 委員A | 賛成 |", "| 委員B | 反対 |", "可決（委員長裁決）",
                  "除斥: 委員C（地方自治法第117条）", "| 委員C | 除斥 |", "接続断", "映像",
                  "その他（電話で本人確認）", "### 秘密会", "傍聴者: 最大 1名"):
        assert words in text, (words, text)
    assert "個人情報" not in text and "jimu" not in text, "reasons and checkers: staff only"
    staff_text = render_markdown(await asyncio.to_thread(
        build_minutes, folder, row, include_moderation=True, tz=server.settings.zone))
    assert "## 委員会の議事" in staff_text and "| 委員B | 反対 |" in staff_text
    when = public.committee["quorum_at_opening"]["at"]
    assert when.utcoffset() == server.settings.zone.utcoffset(when.replace(tzinfo=None))
    assert "委員会の議事" in render_html(public)


async def test_a_committee_meeting(settings: Settings, no_blocking: None) -> None:
    settings = replace(settings, committee_absence_grace_seconds=0.3)
    made: list[Any] = []
    async with running_server(settings) as server:
        try:
            await run(server, made)
        finally:
            for c in made:
                await c.close()


async def run(server: Server, made: list[Any]) -> None:
    await add_staff(server)
    staff = watch(await console(server, made))
    recording = await staff.act("recording:start", {"room": COMMITTEE})
    chair = await member(server, made, staff, "山田委員長", Role.CHAIR)
    a = await member(server, made, staff, "委員A")
    b = await member(server, made, staff, "委員B")
    c = await member(server, made, staff, "委員C")
    citizen = watch(await participant(server, made, "市民", COMMITTEE))
    if citizen.ack.get("place") == "lobby":
        await staff.act("lobby:admit", {"target": citizen.ack["self"]})
        citizen.ack = await citizen.expect("meeting:admitted")
    assert a.ack["meeting"]["self"]["member"] == "m:委員A"
    assert citizen.ack["meeting"]["self"]["member"] is None
    assert citizen.ack["meeting"]["committee"]["gallery"]["now"] == 1

    # Roll call: a member cannot open it; everyone answers; the chair closes it.
    await refused(a, "committee:rollcall", {"open": True}, "forbidden")
    await chair.act("committee:rollcall", {"open": True})
    for who in (chair, a, b, c):
        await who.act("committee:present")
    await refused(citizen, "committee:present", {}, "forbidden")
    # Invited as a member but under no fixed name: not on the roster.
    nameless = watch(await participant(server, made, "匿名委員", COMMITTEE, token=invitation(
        server, COMMITTEE, Role.MEMBER)))
    if nameless.ack.get("place") == "lobby":
        await staff.act("lobby:admit", {"target": nameless.ack["self"]})
        nameless.ack = await nameless.expect("meeting:admitted")
    await refused(nameless, "committee:present", {}, "not_member")
    await chair.act("committee:rollcall", {"open": False})
    s = await state(citizen, lambda s: not s["rollcall"] and all(
        m["status"] == "present" for m in s["members"]))
    assert (s["seats"], s["needed"], s["counted"], s["quorum"]) == (4, 2, 0, False)
    for who in ("m:山田委員長", "m:委員A", "m:委員B"):
        await chair.act("committee:verify", {"member": who, "method": "video"})
    await refused(chair, "committee:verify", {"member": "m:委員C", "method": "other"},
                  "missing_field")
    await staff.act("committee:verify", {"member": "m:委員C", "method": "other",
                                         "reason": "電話で本人確認"})
    s = await state(citizen, lambda s: s["counted"] == 4)
    assert s["quorum"] and s["members"][1]["verified"]["method"] == "video"
    assert {e["met"] for n, e in citizen.seen
            if n == "meeting:event" and e["type"] == "committee.quorum"} == {True}

    # A named vote, with results by name; bad votes refused and audited.
    motion = (await chair.act("committee:motion", {"title": "議案第1号 条例の一部改正"}))["motion"]
    vote = (await chair.act("committee:vote_open", {"motion": motion, "method": "named"}))["vote"]
    await a.act("committee:vote_cast", {"vote": vote, "choice": "yes"})
    await refused(a, "committee:vote_cast", {"vote": vote, "choice": "no"}, "duplicate")
    await refused(b, "committee:vote_cast", {"vote": vote, "choice": "no", "member": "m:委員C"},
                  "forbidden")
    await refused(citizen, "committee:vote_cast", {"vote": vote, "choice": "yes"}, "forbidden")
    await refused(nameless, "committee:vote_cast", {"vote": vote, "choice": "yes"},
                  "not_member")
    await refused(chair, "committee:vote_cast", {"vote": vote, "choice": "yes"}, "forbidden")
    s = await state(citizen, lambda s: s["vote"] and "m:委員A" in s["vote"]["cast"])
    assert s["vote"]["cast"] == {"m:委員A": True}, "a named ballot is secret until closed"
    await b.act("committee:vote_cast", {"vote": vote, "choice": "no", "member": "m:委員B"})
    await c.act("committee:vote_cast", {"vote": vote, "choice": "yes"})
    await refused(a, "committee:vote_cast", {"vote": vote, "choice": "yes", "as": "m:委員B"},
                  "unknown_field")
    await refused(a, "committee:vote_close", {"vote": vote}, "forbidden")
    await chair.act("committee:vote_close", {"vote": vote})
    await refused(c, "committee:vote_cast", {"vote": vote, "choice": "no"}, "wrong_state")
    s = await state(citizen, lambda s: bool(s["vote"] and s["vote"]["results"]))
    results = s["vote"]["results"]
    assert results["by_member"] == {"m:委員A": "yes", "m:委員B": "no", "m:委員C": "yes"}
    assert (results["yes"], results["no"], results["voters"]) == (2, 1, 3)
    assert results["outcome"] == "passed" and results["motion_outcome"] == "adopted"
    assert results["quorum"] == {"present": 4, "needed": 2, "seats": 4}

    # Recusal, and a tie the chair decides.
    second = (await chair.act("committee:motion", {"title": "議案第2号"}))["motion"]
    await chair.act("committee:recuse", {"member": "m:委員C", "motion": second,
                                         "recused": True, "reason": "地方自治法第117条"})
    vote2 = (await chair.act("committee:vote_open", {"motion": second, "method": "hands"}))[
        "vote"]
    await refused(c, "committee:vote_cast", {"vote": vote2, "choice": "yes"}, "recused")
    await a.act("committee:vote_cast", {"vote": vote2, "choice": "yes"})
    s = await state(citizen, lambda s: bool(s["vote"] and s["vote"]["id"] == vote2
                                            and s["vote"]["raised"]))
    assert s["vote"]["raised"] == [a.ack["self"]], "the avatars show who raised a hand"
    await b.act("committee:vote_cast", {"vote": vote2, "choice": "none"})
    await chair.act("committee:vote_close", {"vote": vote2})
    s = await state(citizen, lambda s: s["vote"]["id"] == vote2 and s["vote"]["state"] == "tie")
    assert s["vote"]["results"]["by_member"]["m:委員C"] == "recused"
    await refused(staff, "committee:decide", {"vote": vote2, "outcome": "passed"}, "forbidden")
    await chair.act("committee:decide", {"vote": vote2, "outcome": "passed"})
    s = await state(citizen, lambda s: s["vote"]["id"] == vote2
                    and s["vote"]["state"] == "closed")
    assert s["vote"]["results"]["chair_decided"] is True
    assert s["vote"]["results"]["outcome"] == "passed"

    # Quorum by the room's rule: all seats (1/1); a verified member leaves: lost.
    cookie, csrf = await login(server)
    status, body = await staff_post(server, f"/api/rooms/{COMMITTEE}/settings",
                                    {"committee": {"fraction": "1/1"}}, cookie=cookie, csrf=csrf)
    assert status == 200 and body["committee"]["fraction"] == "1/1", body
    device_b = b.ack["device"]
    await b.close()
    made.remove(b)
    s = await state(citizen, lambda s: not s["quorum"])
    lost = next(m for m in s["members"] if m["member"] == "m:委員B")
    assert lost["status"] == "disconnected" and lost["verified"] is None
    third = (await chair.act("committee:motion", {"title": "議案第3号"}))["motion"]
    await refused(chair, "committee:vote_open", {"motion": third, "method": "assent"},
                  "no_quorum")
    # Back with the same invitation on the same device; verified again: regained.
    b = await member(server, made, staff, "委員B", token=b.token,  # type: ignore[attr-defined]
                     device=device_b)
    await chair.act("committee:verify", {"member": "m:委員B", "method": "video"})
    s = await state(citizen, lambda s: s["quorum"] and s["counted"] == 4)
    await chair.act("committee:vote_open", {"motion": third, "method": "assent"})

    # A forged invitation (signed with another key) is refused and kept in the audit log.
    forged = participant(server, made, "委員D", COMMITTEE, token=a.token[:-4] + "AAAA")  # type: ignore[attr-defined]
    try:
        await forged
        raise AssertionError("a forged invitation was accepted")
    except AssertionError as failed:
        assert "bad_token" in str(failed)

    entries = await server.app[MEETINGS_KEY].records.audit(COMMITTEE)
    refusals = {(e.action, e.reason) for e in entries if dict(e.details).get("refused")}
    assert {("vote.cast", "duplicate"), ("vote.cast", "forbidden"), ("vote.cast", "not_member"),
            ("vote.cast", "wrong_state"), ("vote.cast", "recused"),
            ("vote.open", "no_quorum"), ("room.join", "bad_token"),
            ("vote.decide", "forbidden"), ("vote.cast", "unknown_field")} <= refusals, refusals
    forged = next(e for e in entries if e.reason == "unknown_field")
    assert dict(forged.details)["event"] == "committee:vote_cast" and forged.actor_name == "委員A"
    await check_minutes(server, staff, recording["id"])
    done = {e.action for e in entries if not dict(e.details).get("refused")}
    assert {"committee.rollcall", "committee.verify", "committee.recuse", "committee.motion",
            "vote.open", "vote.close", "vote.decide", "room.settings"} <= done
