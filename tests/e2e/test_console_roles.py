"""The staff console shows every non-citizen's role beside their name (issue 14, finding 6):
in its chat list and its floor queue, a member reads "佐藤委員 委員", a citizen who took a
similar name does not get the badge."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from playwright.async_api import Browser

from rooms.model import Role
from tests.conftest import Client
from tests.e2e.test_console_ux import CATALOGUES, console_in
from tests.meetings import COMMITTEE, MeetingClient, invitation


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # The sources as they are, not a build another change may be making at the same time.
    return replace(settings, client_dev=True)


async def test_console_lists_show_roles(server: Any, browser: Browser) -> None:
    page = await console_in(browser, server, room=COMMITTEE)
    made: list[Client] = []
    try:
        member = await MeetingClient(server.url).connect()
        citizen = await MeetingClient(server.url).connect()
        made += [member, citizen]
        # Both wait in the committee's lobby; the console admits them.
        await member.act("join", {"name": "佐藤委員", "room": COMMITTEE, "lang": "ja",
                                  "token": invitation(server, COMMITTEE, Role.MEMBER,
                                                      "佐藤委員")})
        await citizen.act("join", {"name": "佐藤さん", "room": COMMITTEE, "lang": "ja"})
        for who in (member, citizen):
            await page.click("#lobby-list li:first-child button.primary")
            await who.expect("meeting:admitted")
        await member.act("chat:send", {"text": "委員です"})
        await citizen.act("chat:send", {"text": "市民です"})
        await member.act("hand:raise")
        await page.wait_for_function(
            "() => document.querySelectorAll('#console-chat li .who').length >= 2")
        rows = await page.eval_on_selector_all("#console-chat li", """(lis) => lis.map((li) => ({
            who: li.querySelector('.who')?.firstChild?.textContent,
            badge: li.querySelector('.role-badge')?.textContent ?? null}))""")
        assert {"who": "佐藤委員", "badge": CATALOGUES["ja"]["role.member"]} in rows, rows
        assert {"who": "佐藤さん", "badge": None} in rows, rows
        await page.wait_for_function("() => document.querySelector('#floor-queue .role-badge')")
        queue = await page.text_content("#floor-queue li")
        assert queue is not None and "佐藤委員" in queue
        assert CATALOGUES["ja"]["role.member"] in queue, queue
    finally:
        for c in made:
            await c.close()
