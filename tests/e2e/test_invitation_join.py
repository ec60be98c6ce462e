"""An invitation link as the invited chair meets it (issue 15, defect 5): the join page
says whom it invites as what, for which meeting; the invitation's name is shown fixed
(not an empty required box silently replaced on joining); the citizens' "watch only" box
is not offered; the join button is on the first screen of a laptop and a phone. A link
that cannot be used says so and leaves the citizen's form."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.async_api import Browser

from rooms.model import Role
from tests.conftest import ROOT
from tests.e2e.conftest import open_page
from tests.meetings import COMMITTEE, invitation

pytestmark = pytest.mark.e2e

JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text())
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # The sources as they are, not a build another change may be making at the same time.
    return replace(settings, client_dev=True)


def link(server: Any, token: str, room: str = COMMITTEE) -> str:
    return f"{server.url}/?{urlencode({'room': room, 'token': token})}"


@pytest.mark.parametrize("context", [LAPTOP, PHONE], ids=["laptop", "phone"])
async def test_the_invited_chair_is_told_and_the_form_fits(server: Any, browser: Browser,
                                                           context: dict[str, Any]) -> None:
    token = invitation(server, COMMITTEE, Role.CHAIR, "山田 委員長")
    page, watch = await open_page(browser, link(server, token), **context)
    note = page.locator("#join-invite")
    await note.wait_for(state="visible")
    expected = JA["join.invited"].format(name="山田 委員長", role=JA["role.chair"])
    assert (await page.text_content("#join-invite-text")) == expected
    assert "{" not in (await page.text_content("#join-invite-meeting") or "{")
    name = page.locator("#join-name")
    assert await name.input_value() == "山田 委員長"
    assert await name.get_attribute("readonly") is not None, "the invitation fixes the name"
    await page.wait_for_function(
        "(room) => document.getElementById('join-room').value === room", arg=COMMITTEE)
    assert not await page.locator("#join-gallery-field").is_visible(), "citizens only"
    box = await page.locator("#join-submit").bounding_box()
    assert box and box["y"] + box["height"] <= context["viewport"]["height"], box

    await page.click("#join-submit")
    await page.wait_for_function(
        "() => window.hiroba.state().joined"
        " || !document.getElementById('lobby-screen').hidden", timeout=20_000)
    assert not watch.errors, watch.errors


async def test_a_link_that_cannot_be_used_says_so(server: Any, browser: Browser) -> None:
    page, _ = await open_page(browser, link(server, "forged.token"), **LAPTOP)
    note = page.locator("#join-invite")
    await note.wait_for(state="visible")
    assert (await page.text_content("#join-invite-text")) == JA["join.inviteInvalid"]
    assert await page.get_attribute("#join-name", "readonly") is None
    await page.wait_for_function(
        "(room) => document.getElementById('join-room').value === room", arg=COMMITTEE)
    assert await page.locator("#join-gallery-field").is_visible(), "a citizen may watch only"
