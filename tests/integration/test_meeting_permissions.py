"""The permission matrix through the real entry points: every action of the policy, for
every role, as a socket event (or an HTTP call) against a running server, allowed or
refused with the right reason.

The actions come from the policy table; what is expected comes from the independent table
of tests/unit/test_moderation_policy.py. Each role is a real participant of a committee
meeting (the staff role is a staff avatar, logged in with a staff account); probes set up
what an action needs (a message to hide, someone in the lobby...) with a separate console.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from itertools import count
from typing import Any

import aiohttp
import pytest

from moderation import policy
from moderation.policy import Action
from rooms.model import Role
from server.console.routes import MEETINGS_KEY
from tests.conftest import Server
from tests.meetings import (
    COMMITTEE,
    CONSULTATION,
    MeetingClient,
    add_staff,
    admitted,
    console,
    invitation,
    login,
    participant,
)
from tests.unit.test_moderation_policy import ROLES, expected_table

TABLE = expected_table()
#: Actions with no entry point of their own yet (notice boards are a later issue);
#: ``tracking.server`` is asked by ``rtc:offer`` in the face-tracking tests,
#: ``audio.publish`` by ``audio:publish`` in tests/integration/test_audio_api.py, and
#: ``recording.publish`` (it needs a stopped recording: no session 401, staff audited) in
#: tests/integration/test_recordings_http.py; ``room.settings`` (an HTTP call of the
#: console) in tests/integration/test_console_settings.py.
NOT_HERE = {Action.NOTICE_POST}
ELSEWHERE = {"tracking.server", "audio.publish", "recording.publish", "room.settings",
             # Real camera peers: tests/integration/test_identity_video.py.
             "identity.publish", "identity.view",
             # Console accounts over HTTP (staff and signing accounts, 会議録署名):
             # tests/integration/test_minutes_approval_http.py.
             "minutes.draft", "minutes.approve", "minutes.publish",
             # A stopped recording's transcription run again (staff, CSRF, audited):
             # tests/integration/test_transcript_jobs.py; no session 401: the security
             # review's every-staff-route check.
             "transcript.run",
             # A staff correction of a transcript (HTTP, CSRF, audited):
             # tests/integration/test_transcript_http.py (no session 401, no token 403,
             # each refusal), and the security review's every-staff-route check.
             "transcript.edit",
             # VRM avatars over HTTP (staff, CSRF, audited; citizens, members and no
             # session refused): tests/integration/test_avatar_uploads.py.
             "avatar.upload", "avatar.approve",
             # The public gallery plane's promote and demote (staff HTTP, CSRF, audited,
             # staff never demoted): tests/integration/test_gallery_plane.py.
             "gallery.move"}
Ack = dict[str, Any]
#: Citizens kept around for probes that need someone else in the room.
POOL = 6


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # Many probes from the same few sockets: lift the generic socket limit (the meeting's
    # own limits on chat, hands and submissions still hold; probes stay under them).
    return replace(settings, events_per_second=500.0, events_burst=500.0)


class World:
    """One committee meeting with a participant of every role, and helpers."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.made: list[Any] = []
        self.by: dict[Role, MeetingClient] = {}
        self.console: MeetingClient
        self.cookie = ""
        self.serial = count(1)
        self.pool: list[MeetingClient] = []
        self.turn = 0
        self.temporaries: list[MeetingClient] = []
        self.memos: dict[str, int] = {}

    async def setup(self) -> None:
        s = self.server
        await add_staff(s)
        self.console = await console(s, self.made)
        self.cookie, self.csrf = await login(s)
        for role in ROLES:
            if role is Role.STAFF:
                client = await MeetingClient(s.url, self.cookie).connect()
                self.made.append(client)
                client.ack = await client.act("join", {"name": "x", "room": COMMITTEE,
                                                        "lang": "ja", "staff": True})
            else:
                client = await admitted(s, self.made, self.console, f"{role.value}",
                                        role)
            self.by[role] = client

    def pid(self, role: Role) -> str:
        return str(self.by[role].ack["self"])

    async def citizen(self) -> MeetingClient:
        """A citizen in the room, from a small pool taken in turns (so that nobody hits the
        meeting's limits on chat, hands and submissions, and the room stays small)."""
        if len(self.pool) < POOL:
            self.pool.append(await admitted(self.server, self.made, self.console,
                                            f"市民{next(self.serial)}", Role.CITIZEN))
            return self.pool[-1]
        self.turn = (self.turn + 1) % POOL
        return self.pool[self.turn]

    async def victim(self) -> MeetingClient:
        """A citizen admitted for one probe (to be removed, banned...), gone after it."""
        c = await admitted(self.server, [], self.console, f"対象{next(self.serial)}",
                           Role.CITIZEN)
        self.temporaries.append(c)
        return c

    async def waiting(self) -> str:
        """Someone new waiting in the lobby, for one probe."""
        c = await participant(self.server, [], f"待つ人{next(self.serial)}")
        self.temporaries.append(c)
        assert c.ack["place"] == "lobby"
        return str(c.ack["self"])

    async def drop_temporaries(self) -> None:
        for c in self.temporaries:
            await c.close()
        self.temporaries.clear()

    async def memo(self, key: str, make: Callable[[], Awaitable[int]]) -> int:
        """Something one probe of every role can share (a message, an opinion)."""
        if key not in self.memos:
            self.memos[key] = await make()
        return self.memos[key]

    async def staff_does(self, event: str, data: Any = None) -> Ack:
        return await self.console.act(event, data)

    async def http(self, role: Role, path: str) -> Ack:
        """An HTTP GET as ``role``: staff with their login; the others have no account."""
        headers = {"Cookie": self.cookie} if role is Role.STAFF else {}
        async with aiohttp.ClientSession(headers=headers) as http, http.get(
            self.server.url + path
        ) as resp:
            if resp.content_type == "application/json":
                body = await resp.json()
                if isinstance(body, dict) and "ok" in body:
                    return body  # type: ignore[no-any-return]
            return {"ok": resp.status == 200, "status": resp.status}


Probe = Callable[[World, Role], Awaitable[Ack]]
PROBES: dict[str, Probe] = {}


def probe(action: str) -> Callable[[Probe], Probe]:
    def register(fn: Probe) -> Probe:
        PROBES[action] = fn
        return fn

    return register


def call(event: str, data: Any = None) -> Probe:
    async def run(w: World, role: Role) -> Ack:
        return await w.by[role].call(event, {} if data is None else data)  # type: ignore[no-any-return]

    return run


# -- presence -----------------------------------------------------------------------------

@probe("room.join")
async def _join(w: World, role: Role) -> Ack:
    return w.by[role].ack


@probe("room.move")
async def _move(w: World, role: Role) -> Ack:
    return await w.by[role].call("move", {"x": 0.0, "z": 5.0, "h": 0.0})  # type: ignore[no-any-return]


@probe("stage.enter")
async def _stage(w: World, role: Role) -> Ack:
    allowed = w.by[role].ack["snapshot"]["self_may"]["enter_stage"]
    return {"ok": True} if allowed else {"ok": False, "reason": "forbidden"}


@probe("seat.take")
async def _seat(w: World, role: Role) -> Ack:
    ack = w.by[role].ack
    me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
    return {"ok": True} if me["seat"] else {"ok": False, "reason": "forbidden"}


@probe("lobby.bypass")
async def _bypass(w: World, role: Role) -> Ack:
    # Everyone here is in the room now; who had to wait shows in how they came in.
    waited = "lobby" in (w.by[role].ack.get("place"), w.by[role].came_via)
    return {"ok": False, "reason": "forbidden"} if waited else {"ok": True}


PROBES["lobby.view"] = call("lobby:list")


@probe("lobby.admit")
async def _admit(w: World, role: Role) -> Ack:
    return await w.by[role].call("lobby:admit", {"target": await w.waiting()})  # type: ignore[no-any-return]


@probe("lobby.refuse")
async def _refuse(w: World, role: Role) -> Ack:
    return await w.by[role].call("lobby:refuse", {"target": await w.waiting()})  # type: ignore[no-any-return]


# -- chat ---------------------------------------------------------------------------------

@probe("chat.send")
async def _send(w: World, role: Role) -> Ack:
    return await w.by[role].call("chat:send", {"text": f"{role.value} です"})  # type: ignore[no-any-return]


async def _message(w: World) -> int:
    author = await w.citizen()
    return int((await author.act("chat:send", {"text": "報告される発言"}))["message"])


@probe("chat.report")
async def _report(w: World, role: Role) -> Ack:
    message = await w.memo("reported", lambda: _message(w))
    return await w.by[role].call("chat:report", {"message": message})  # type: ignore[no-any-return]


@probe("chat.hide")
async def _hide(w: World, role: Role) -> Ack:
    message = await w.memo("hidden", lambda: _message(w))
    return await w.by[role].call("chat:hide", {"message": message})  # type: ignore[no-any-return]


@probe("chat.restore")
async def _restore(w: World, role: Role) -> Ack:
    message = await w.memo("restored", lambda: _message(w))
    await w.console.call("chat:hide", {"message": message})
    return await w.by[role].call("chat:restore", {"message": message})  # type: ignore[no-any-return]


PROBES["reports.view"] = call("reports:list")


@probe("reports.dismiss")
async def _dismiss(w: World, role: Role) -> Ack:
    reporter = await w.victim()
    message = await w.memo("dismissed", lambda: _message(w))
    report = await reporter.act("chat:report", {"message": message})
    return await w.by[role].call("report:dismiss", {"report": report["report"]})  # type: ignore[no-any-return]


# -- the floor ----------------------------------------------------------------------------

@probe("hand.raise")
async def _raise(w: World, role: Role) -> Ack:
    ack: Ack = await w.by[role].call("hand:raise")
    if ack["ok"]:
        await w.by[role].act("hand:lower")
    return ack


@probe("hand.lower")
async def _lower(w: World, role: Role) -> Ack:
    """Own hand for those who raise one; someone else's for the others."""
    if TABLE[(Action.HAND_LOWER, role)] == "S":
        await w.by[role].act("hand:raise")
        other = await w.victim()
        await other.act("hand:raise")
        refused = await w.by[role].call("hand:lower", {"target": other.ack["self"]})
        assert refused["reason"] == "forbidden", ("others' hands", role, refused)
        await w.staff_does("hand:lower", {"target": other.ack["self"]})
        return await w.by[role].call("hand:lower")  # type: ignore[no-any-return]
    other = await w.victim()
    await other.act("hand:raise")
    ack: Ack = await w.by[role].call("hand:lower", {"target": other.ack["self"]})
    if not ack["ok"]:
        await w.staff_does("hand:lower", {"target": other.ack["self"]})
    return ack


async def _free_floor(w: World) -> None:
    floor = w.server.app[MEETINGS_KEY].meeting(COMMITTEE).floor
    if floor.holder is not None:
        await w.staff_does("floor:revoke")


@probe("floor.hold")
async def _hold(w: World, role: Role) -> Ack:
    await _free_floor(w)
    ack: Ack = await w.console.call("floor:give", {"target": w.pid(role), "limit": 60})
    await _free_floor(w)
    return ack


@probe("floor.speak_freely")
async def _speak(w: World, role: Role) -> Ack:
    audible = w.pid(role) in w.server.app[MEETINGS_KEY].hub.speakers(COMMITTEE)
    return {"ok": True} if audible else {"ok": False, "reason": "forbidden"}


@probe("floor.give")
async def _give(w: World, role: Role) -> Ack:
    await _free_floor(w)
    target = await w.citizen()
    ack: Ack = await w.by[role].call("floor:give", {"target": target.ack["self"], "limit": 30})
    await _free_floor(w)
    return ack


async def _someone_speaks(w: World) -> None:
    await _free_floor(w)
    speaker = await w.citizen()
    await w.staff_does("floor:give", {"target": speaker.ack["self"], "limit": 60})


@probe("floor.revoke")
async def _revoke(w: World, role: Role) -> Ack:
    await _someone_speaks(w)
    return await w.by[role].call("floor:revoke", {"reason": "時間です"})  # type: ignore[no-any-return]


@probe("floor.next")
async def _next(w: World, role: Role) -> Ack:
    await _someone_speaks(w)
    waiting = await w.victim()
    await waiting.act("hand:raise")
    ack: Ack = await w.by[role].call("floor:next", {"limit": 30})
    if not ack["ok"]:
        await w.staff_does("hand:lower", {"target": waiting.ack["self"]})
    await _free_floor(w)
    return ack


@probe("floor.extend")
async def _extend(w: World, role: Role) -> Ack:
    await _someone_speaks(w)
    ack: Ack = await w.by[role].call("floor:extend", {"seconds": 30})
    await _free_floor(w)
    return ack


@probe("floor.yield")
async def _yield(w: World, role: Role) -> Ack:
    await _free_floor(w)
    await w.console.call("floor:give", {"target": w.pid(role), "limit": 60})
    ack: Ack = await w.by[role].call("floor:yield")
    await _free_floor(w)
    return ack


# -- agenda and sanctions -----------------------------------------------------------------

PROBES["agenda.edit"] = call("agenda:add", {"title": "追加の議題", "planned": 300})
PROBES["agenda.advance"] = call("agenda:advance")


@probe("sanction.mute")
async def _mute(w: World, role: Role) -> Ack:
    victim = await w.victim()
    return await w.by[role].call("sanction:mute", {"target": victim.ack["self"]})  # type: ignore[no-any-return]


@probe("sanction.unmute")
async def _unmute(w: World, role: Role) -> Ack:
    victim = await w.victim()
    await w.staff_does("sanction:mute", {"target": victim.ack["self"]})
    return await w.by[role].call("sanction:unmute", {"target": victim.ack["self"]})  # type: ignore[no-any-return]


@probe("sanction.remove")
async def _remove(w: World, role: Role) -> Ack:
    victim = await w.victim()
    return await w.by[role].call("sanction:remove", {"target": victim.ack["self"],  # type: ignore[no-any-return]
                                                     "duration": 60})


@probe("sanction.ban")
async def _ban(w: World, role: Role) -> Ack:
    victim = await w.victim()
    return await w.by[role].call("sanction:ban", {"target": victim.ack["self"],  # type: ignore[no-any-return]
                                                  "duration": 60})


@probe("sanction.unban")
async def _unban(w: World, role: Role) -> Ack:
    victim = await w.victim()
    ban = await w.staff_does("sanction:ban", {"target": victim.ack["self"], "duration": 60})
    return await w.by[role].call("sanction:lift", {"sanction": ban["sanction"]})  # type: ignore[no-any-return]


PROBES["sanction.view"] = call("sanctions:list")
PROBES["invite.create"] = call("invite:create", {"role": "member", "name": "新委員"})

# -- consultation tools -------------------------------------------------------------------


@probe("opinion.submit")
async def _submit(w: World, role: Role) -> Ack:
    return await w.by[role].call("opinion:submit", {"text": f"{role.value}の意見"})  # type: ignore[no-any-return]


async def _opinion(w: World) -> int:
    author = await w.citizen()
    return int((await author.act("opinion:submit", {"text": "公園に木陰を"}))["opinion"])


async def _shared(w: World, what: str) -> int:
    make = _question if what.startswith("question") else _opinion
    return await w.memo(what, lambda: make(w))


@probe("opinion.support")
async def _support(w: World, role: Role) -> Ack:
    return await w.by[role].call("opinion:support", {"opinion": await _shared(w, "opinion")})  # type: ignore[no-any-return]


@probe("opinion.mark")
async def _mark(w: World, role: Role) -> Ack:
    return await w.by[role].call("opinion:mark", {"opinion": await _shared(w, "opinion"),  # type: ignore[no-any-return]
                                                  "status": "under_review"})


@probe("opinion.merge")
async def _merge(w: World, role: Role) -> Ack:
    return await w.by[role].call("opinion:merge", {"source": await _shared(w, "duplicate"),  # type: ignore[no-any-return]
                                                   "target": await _shared(w, "opinion")})


@probe("opinion.respond")
async def _respond(w: World, role: Role) -> Ack:
    return await w.by[role].call("opinion:respond", {"opinion": await _shared(w, "opinion"),  # type: ignore[no-any-return]
                                                     "text": "検討します"})


@probe("opinion.hide")
async def _ohide(w: World, role: Role) -> Ack:
    opinion = await _shared(w, "opinion")
    return await w.by[role].call("opinion:hide", {"opinion": opinion, "hidden": True})  # type: ignore[no-any-return]


@probe("question.ask")
async def _ask(w: World, role: Role) -> Ack:
    return await w.by[role].call("question:ask", {"text": f"{role.value}の質問"})  # type: ignore[no-any-return]


async def _question(w: World) -> int:
    author = await w.citizen()
    return int((await author.act("question:ask", {"text": "いつ決まりますか"}))["question"])


@probe("question.vote")
async def _qvote(w: World, role: Role) -> Ack:
    return await w.by[role].call("question:vote", {"question": await _shared(w, "question")})  # type: ignore[no-any-return]


@probe("question.answer")
async def _answer(w: World, role: Role) -> Ack:
    question = await _shared(w, f"question:{role.value}")
    return await w.by[role].call("question:answer", {"question": question})  # type: ignore[no-any-return]


@probe("question.dismiss")
async def _qdismiss(w: World, role: Role) -> Ack:
    question = await _shared(w, f"question:dismiss:{role.value}")
    return await w.by[role].call("question:dismiss", {"question": question})  # type: ignore[no-any-return]


@probe("poll.create")
async def _pcreate(w: World, role: Role) -> Ack:
    return await w.by[role].call("poll:create", {"question": "賛否", "options": ["賛", "否"]})  # type: ignore[no-any-return]


@probe("poll.vote")
async def _pvote(w: World, role: Role) -> Ack:
    poll = await w.staff_does("poll:create", {"question": "どちら?", "options": ["A", "B"],
                                              "electorate": "both"})
    return await w.by[role].call("poll:vote", {"poll": poll["poll"], "choices": [1]})  # type: ignore[no-any-return]


@probe("poll.close")
async def _pclose(w: World, role: Role) -> Ack:
    poll = await w.staff_does("poll:create", {"question": "締切?", "options": ["A", "B"]})
    return await w.by[role].call("poll:close", {"poll": poll["poll"]})  # type: ignore[no-any-return]


PROBES["caption.post"] = call("caption:post", {"text": "ただいまの発言"})
PROBES["participants.tracking"] = call("participants:list")


# -- committee procedure (issue 16) -------------------------------------------------------
# The member and the chair of the World joined with invitations under a fixed name: they
# are committee members "m:member" and "m:chair". Votes need a quorum: both answer the roll
# call and are verified first; each vote is finished by the chair so that the next opens.


def _committee(w: World) -> Any:
    return w.server.app[MEETINGS_KEY].meeting(COMMITTEE).committee


async def _quorate(w: World) -> None:
    c = _committee(w)
    if not c.rollcall:
        await w.staff_does("committee:rollcall", {"open": True})
    for role in (Role.MEMBER, Role.CHAIR):
        if not c.counts(f"m:{role.value}"):
            await w.by[role].call("committee:present")
            await w.staff_does("committee:verify", {"member": f"m:{role.value}",
                                                    "method": "video"})


async def _motion(w: World) -> int:
    return int((await w.staff_does("committee:motion", {"title": f"議案{next(w.serial)}"}))[
        "motion"])


async def _vote(w: World, *, tie: bool = False) -> int:
    """A vote open on a fresh motion (``tie``: the member recused, so it ends in a tie)."""
    await _quorate(w)
    motion = await _motion(w)
    if tie:
        await w.staff_does("committee:recuse", {"member": "m:member", "motion": motion,
                                                "recused": True, "reason": "除斥"})
    return int((await w.staff_does("committee:vote_open", {"motion": motion,
                                                           "method": "hands"}))["vote"])


async def _finish(w: World) -> None:
    current = _committee(w).current_vote()
    chair = w.by[Role.CHAIR]
    if current is not None and current.state == "open":
        await chair.act("committee:vote_close", {"vote": current.id})
        current = _committee(w).current_vote()
    if current is not None and current.state == "tie":
        await chair.act("committee:decide", {"vote": current.id, "outcome": "rejected"})


@probe("committee.rollcall")
async def _rollcall(w: World, role: Role) -> Ack:
    if _committee(w).rollcall:
        await w.staff_does("committee:rollcall", {"open": False})
    return await w.by[role].call("committee:rollcall", {"open": True})  # type: ignore[no-any-return]


@probe("committee.present")
async def _present(w: World, role: Role) -> Ack:
    if not _committee(w).rollcall:
        await w.staff_does("committee:rollcall", {"open": True})
    return await w.by[role].call("committee:present")  # type: ignore[no-any-return]


PROBES["committee.attendance"] = call("committee:attendance", {
    "member": "m:member", "status": "present", "reason": "訂正"})
PROBES["committee.verify"] = call("committee:verify", {"member": "m:member", "method": "video"})
PROBES["identity.ask"] = call("identity:ask", {"member": "m:member"})


@probe("committee.recuse")
async def _recuse(w: World, role: Role) -> Ack:
    motion = await w.memo("recused", lambda: _motion(w))
    ack: Ack = await w.by[role].call("committee:recuse", {
        "member": "m:member", "motion": motion, "recused": True, "reason": "利害関係"})
    if ack["ok"]:
        await w.staff_does("committee:recuse", {"member": "m:member", "motion": motion,
                                                "recused": False})
    return ack


PROBES["committee.motion"] = call("committee:motion", {"title": "議案"})


@probe("committee.closed_session")
async def _closed(w: World, role: Role) -> Ack:
    ack: Ack = await w.by[role].call("committee:closed_session", {"closed": True,
                                                                   "reason": "個人情報"})
    if ack["ok"]:
        await w.staff_does("committee:closed_session", {"closed": False})
    return ack


@probe("vote.open")
async def _vopen(w: World, role: Role) -> Ack:
    await _quorate(w)
    motion = await _motion(w)
    ack: Ack = await w.by[role].call("committee:vote_open", {"motion": motion,
                                                              "method": "hands"})
    await _finish(w)
    return ack


@probe("vote.cast")
async def _vcast(w: World, role: Role) -> Ack:
    vote = await _vote(w)
    ack: Ack = await w.by[role].call("committee:vote_cast", {"vote": vote, "choice": "yes"})
    await _finish(w)
    return ack


@probe("vote.close")
async def _vclose(w: World, role: Role) -> Ack:
    vote = await _vote(w)
    ack: Ack = await w.by[role].call("committee:vote_close", {"vote": vote})
    await _finish(w)
    return ack


@probe("vote.decide")
async def _vdecide(w: World, role: Role) -> Ack:
    vote = await _vote(w, tie=True)
    await w.by[Role.CHAIR].act("committee:vote_close", {"vote": vote})
    ack: Ack = await w.by[role].call("committee:decide", {"vote": vote, "outcome": "passed"})
    await _finish(w)
    return ack


@probe("vote.rerun")
async def _vrerun(w: World, role: Role) -> Ack:
    vote = await _vote(w)
    ack: Ack = await w.by[role].call("committee:vote_rerun", {"vote": vote, "reason": "接続断"})
    await _finish(w)
    return ack


# -- HTTP only: staff accounts ------------------------------------------------------------

@probe("poll.export")
async def _pexport(w: World, role: Role) -> Ack:
    return await w.http(role, f"/api/rooms/{COMMITTEE}/export/polls.csv")


@probe("data.export")
async def _export(w: World, role: Role) -> Ack:
    return await w.http(role, f"/api/rooms/{COMMITTEE}/export/opinions.json")


@probe("audit.view")
async def _audit(w: World, role: Role) -> Ack:
    return await w.http(role, f"/api/rooms/{COMMITTEE}/audit")


#: Actions only staff accounts reach (HTTP): the other roles have no account to present.
@probe("recording.start")
async def _record(w: World, role: Role) -> Ack:
    return await w.by[role].call("recording:start", {"room": COMMITTEE})  # type: ignore[no-any-return]


@probe("recording.stop")
async def _unrecord(w: World, role: Role) -> Ack:
    # Staff stop what their own probe started; the others are refused before any state.
    return await w.by[role].call("recording:stop", {"room": COMMITTEE})  # type: ignore[no-any-return]


@probe("recording.view")
async def _recordings(w: World, role: Role) -> Ack:
    return await w.http(role, "/api/recordings?all=1")


HTTP_ONLY = {"poll.export", "data.export", "audit.view", "recording.view"}


def expected_allowed(action: str, role: Role) -> bool:
    cell = TABLE[(Action(action), role)]
    return cell in ("Y", "S", "C")  # the room is a committee; S probes the own hand


async def test_every_action_for_every_role(server: Server) -> None:
    w = World(server)
    await w.setup()
    try:
        covered = set(PROBES) | {a.value for a in NOT_HERE} | ELSEWHERE
        assert covered == {a.value for a in policy.RULES}, "a policy action has no probe"
        failures = []
        for action in policy.RULES:
            if action in NOT_HERE or action.value in ELSEWHERE:
                continue
            for role in ROLES:
                ack = await PROBES[action.value](w, role)
                await w.drop_temporaries()
                allowed = ack.get("ok") is True
                want = expected_allowed(action.value, role)
                if action.value in HTTP_ONLY and role is not Role.STAFF:
                    right = ack.get("reason") == "session_expired"
                else:
                    right = allowed if want else ack.get("reason") == "forbidden"
                if not right:
                    failures.append((action.value, role.value, "allowed" if want else "refused",
                                     ack))
        assert not failures, "\n".join(map(str, failures))
    finally:
        for c in w.made:
            await c.close()


async def test_members_raise_hands_only_in_committees(server: Server) -> None:
    made: list[Any] = []
    await add_staff(server)
    staff = await console(server, made, room=CONSULTATION)
    member = await participant(server, made, "委員", room=CONSULTATION,
                               token=invitation(server, CONSULTATION, Role.MEMBER))
    refused = await member.call("hand:raise")
    assert refused["reason"] == "forbidden" and "committee" in refused["message"]
    citizen = await participant(server, made, "市民", room=CONSULTATION)
    await citizen.act("hand:raise")
    # Ranks: a chair may not sanction staff; staff may not sanction staff.
    chair = await participant(server, made, "議長", room=CONSULTATION,
                              token=invitation(server, CONSULTATION, Role.CHAIR))
    protected = await chair.call("sanction:mute", {"target": staff.ack["self"]})
    assert protected["reason"] == "protected_target"
    self_mute = await chair.call("sanction:mute", {"target": chair.ack["self"]})
    assert self_mute["reason"] == "forbidden"
    # The public gallery watches: a citizen there has an observer's rights.
    watcher = await participant(server, made, "見る人", room=CONSULTATION, gallery=True)
    assert watcher.ack["place"] == "gallery"
    for event, data in (("chat:send", {"text": "x"}), ("hand:raise", {}),
                        ("opinion:submit", {"text": "x"})):
        ack = await watcher.call(event, data)
        assert ack["reason"] == "forbidden" and "gallery" in ack["message"], (event, ack)
    # Muted: what reaches others is refused with `muted`, the rest still works.
    await staff.act("sanction:mute", {"target": citizen.ack["self"]})
    notice = await citizen.expect("meeting:notice", lambda n: n["kind"] == "muted")
    assert notice["room"] == CONSULTATION
    assert (await citizen.call("chat:send", {"text": "x"}))["reason"] == "muted"
    assert (await citizen.call("hand:raise"))["reason"] == "muted"
    opinion = await staff.call("opinion:submit", {"text": "x"})
    assert opinion["reason"] == "forbidden"
    for c in made:
        await c.close()
