"""The committee section of the minutes (issue 16, the record), from a recording of a short
committee sitting driven through real sockets: attendance with identity checks (how; who
only in the staff edition), quorum at the opening and at every vote, each motion with its
votes by name and its outcome (原案可決, 修正可決, 否決 with 委員長裁決), recusals, the closed
session's period and the gallery counts; Markdown and HTML, times in the city's zone.

test_committee_flow.py checks a named vote, a tie and a recusal in the minutes of its
longer meeting; this module adds what it does not reach (an amendment adopted, a rejection,
simple assent, a late member, the HTML page, the staff edition's checkers) on one server.
"""

from __future__ import annotations

import asyncio
import html
from datetime import datetime
from typing import Any

from rooms.model import Role
from server.app import RECORDINGS_KEY
from server.config.settings import Settings
from server.recording.minutes import build_minutes
from server.recording.minutes_render import md_escape, render_html, render_markdown
from tests.conftest import Server, running_server
from tests.meetings import COMMITTEE, MeetingClient, add_staff, admitted, console

#: What the minutes must hold: a phrase, or a table row's cells.
Item = str | tuple[str, ...]


async def test_committee_minutes(settings: Settings) -> None:
    made: list[Any] = []
    async with running_server(settings) as server:
        try:
            await run(server, made)
        finally:
            for c in made:
                await c.close()


async def vote(chair: MeetingClient, motion: int, method: str,
               ballots: list[tuple[MeetingClient, str]]) -> int:
    """Open a vote, cast ``ballots``, close it; its id."""
    opened = await chair.act("committee:vote_open", {"motion": motion, "method": method})
    for who, choice in ballots:
        await who.act("committee:vote_cast", {"vote": opened["vote"], "choice": choice})
    await chair.act("committee:vote_close", {"vote": opened["vote"]})
    return int(opened["vote"])


async def run(server: Server, made: list[Any]) -> None:
    await add_staff(server)
    staff = await console(server, made)
    rid = (await staff.act("recording:start", {"room": COMMITTEE}))["id"]
    chair = await admitted(server, made, staff, "山田委員長", Role.CHAIR)
    a = await admitted(server, made, staff, "委員A")
    b = await admitted(server, made, staff, "委員B")
    first = await admitted(server, made, staff, "市民一", Role.CITIZEN)
    await admitted(server, made, staff, "市民二", Role.CITIZEN)
    await first.close()  # the gallery: two at once at most, three people in all
    made.remove(first)
    await admitted(server, made, staff, "市民三", Role.CITIZEN)

    # Roll call: the chair, A and B answer; C arrives after it closed (遅参).
    await chair.act("committee:rollcall", {"open": True})
    for who in (chair, a, b):
        await who.act("committee:present")
    await chair.act("committee:rollcall", {"open": False})
    c = await admitted(server, made, staff, "委員C")  # marked late on arrival
    await staff.act("committee:verify", {"member": "m:山田委員長", "method": "video"})
    for seat in ("m:委員A", "m:委員B"):
        await chair.act("committee:verify", {"member": seat, "method": "video"})
    await staff.act("committee:verify", {"member": "m:委員C", "method": "other",
                                         "reason": "電話で本人確認"})

    # 議案第1号, amended: the amendment passes (named), then the motion (hands): 修正可決.
    one = (await chair.act("committee:motion", {"title": "議案第1号 手数料条例"}))["motion"]
    fix = (await chair.act("committee:motion", {"title": "第1号修正案", "amends": one}))[
        "motion"]
    await vote(chair, fix, "named", [(a, "yes"), (b, "yes"), (c, "no")])
    await vote(chair, one, "hands", [(a, "yes"), (b, "yes")])
    # 議案第2号: C recused, a tie on standing, the chair decides against: 否決 (委員長裁決).
    two = (await chair.act("committee:motion", {"title": "議案第2号 契約の締結"}))["motion"]
    await chair.act("committee:recuse", {"member": "m:委員C", "motion": two, "recused": True,
                                         "reason": "利害関係"})
    tie = await vote(chair, two, "standing", [(a, "yes")])
    await chair.act("committee:decide", {"vote": tie, "outcome": "rejected"})
    # 議案第3号 by simple assent, no objection: 原案可決.
    three = (await chair.act("committee:motion", {"title": "議案第3号 報告"}))["motion"]
    await vote(chair, three, "assent", [])
    await staff.act("committee:closed_session", {"closed": True, "reason": "人事案件"})
    await staff.act("committee:closed_session", {"closed": False})
    await asyncio.sleep(0.1)  # the last committee line reaches the recorder's queue
    await staff.act("recording:stop", {"room": COMMITTEE})

    folder = server.settings.recordings_path / rid
    row = await server.app[RECORDINGS_KEY].index.get(rid)
    zone = server.settings.zone
    public = await asyncio.to_thread(build_minutes, folder, row, include_moderation=False,
                                     tz=zone)
    staff_edition = await asyncio.to_thread(build_minutes, folder, row,
                                            include_moderation=True, tz=zone)
    assert public.committee is not None
    text, page = render_markdown(public), render_html(public)
    staff_text = render_markdown(staff_edition)
    opening = public.committee["quorum_at_opening"]
    closed = public.committee["closed_sessions"][0]
    votes_quorum = "表決時の定足数: 出席（確認済み） 4 / 定足数 2 / 定数 4"
    # Each motion's own part of the section: its heading, outcome, recusals and votes.
    motions: dict[str, list[Item]] = {
        "議案第1号 手数料条例": ["結果: 修正可決", "挙手", votes_quorum,
                          ("委員A", "賛成"), ("委員B", "賛成"), ("委員C", "反対")],
        "第1号修正案（修正案（対象） #1）": ["結果: 原案可決", "記名投票", votes_quorum,
                                  ("委員A", "賛成"), ("委員C", "反対")],
        "議案第2号 契約の締結": ["結果: 否決", "起立", "否決（委員長裁決）",
                         "除斥: 委員C（利害関係）", votes_quorum,
                         ("委員A", "賛成"), ("委員B", "反対"), ("委員C", "除斥")],
        "議案第3号 報告": ["結果: 原案可決", "簡易表決", "異議あり 0", votes_quorum],
    }
    general: list[Item] = [
        "委員会の議事", "出席状況と本人確認",
        ("山田委員長", "委員長", "出席"), ("委員A", "委員", "出席"), ("委員C", "委員", "遅参"),
        "映像 確認者 山田委員長（委員長）", "映像 確認者 事務局",
        "その他（電話で本人確認） 確認者 事務局",
        f"開会時の定足数: {opening['at']:%H:%M:%S} 出席（確認済み） 2 / 定足数 2 / 定数 4",
        "秘密会", f"秘密会 {closed['start']:%H:%M}–{closed['end']:%H:%M}",
        (f"{closed['start']:%H:%M:%S}", f"{closed['end']:%H:%M:%S}"),
        "傍聴者: 最大 2名 / 延べ 3名",
    ]

    def md(item: Item) -> str:
        return md_escape(item) if isinstance(item, str) else "| " + " | ".join(item) + " |"

    def page_has(part: str, item: Item) -> bool:
        if isinstance(item, str):
            return html.escape(item) in part
        return "".join(f"<td>{html.escape(x)}</td>" for x in item) in part

    committee_md = text.split("## 委員会の議事")[1]
    committee_page = page.split("委員会の議事</h2>")[1]
    for item in general:
        assert md(item) in text, (item, committee_md)
        assert page_has(page, item), (item, committee_page)
    for title, items in motions.items():
        md_part = committee_md.split(md_escape(title))[1].split("### ")[0]
        page_part = committee_page.split(html.escape(title))[1].split("<h3>")[0]
        for item in items:
            assert md(item) in md_part, (title, item, md_part)
            assert page_has(page_part, item), (title, item, page_part)
    assert "人事案件" not in text and "人事案件" not in page, "why it was closed: staff only"
    assert "jimu" not in text and "jimu" not in page, "no staff login in the public edition"
    assert "その他（電話で本人確認） 確認者 jimu（事務局）" in staff_text, "staff: the login"
    # Staff edition: why attendance changed, in the minutes' words (not the codes).
    assert "出席（点呼に応答）" in staff_text, staff_text
    assert "遅参（点呼終了後に入室）" in staff_text, staff_text
    assert "（answered）" not in staff_text and "（arrived）" not in staff_text
    # Times in the city's zone, whatever the machine's.
    at = opening["at"]
    assert isinstance(at, datetime) and at.utcoffset() == zone.utcoffset(
        at.replace(tzinfo=None))
