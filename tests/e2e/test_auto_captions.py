"""Automatic captions on a citizen's page (issue 17): while a member with the floor speaks
(a real aiortc peer playing synthesised Japanese), the recogniser's caption appears in the
page's caption bar and history, labelled 自動字幕 in words a screen reader reads (the
caption log is described by the label), with the speaker's name in the history.

Checked to fail with the label's update in ``ui/captions.js`` removed (the label stays
hidden) and with the room switch ignored in the page state (``caption.mode`` unhandled:
the label never shows after staff switch captions on)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from playwright.async_api import Browser
from playwright.async_api import TimeoutError as PlaywrightTimeout

from bench.clients.speech_track import SpeechTrack, load_pcm
from rooms.model import Role
from server.app import CAPTIONS_KEY
from server.config.settings import Settings
from server.transcription.text import cer
from tests.conftest import ROOT, Client
from tests.e2e.test_meeting import enter
from tests.meetings import (
    CONSULTATION,
    add_staff,
    admitted,
    console,
    login,
    publish_audio,
    staff_post,
)
from tests.transcription_media import committee_clip

SAID = "賛成の委員の挙手を求めます。"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, client_dev=True, ice_host_addresses=("127.0.0.1",),
                   model_cache_dir=ROOT / "data" / "models")  # fmt: skip


async def test_an_automatic_caption_on_a_citizens_page(server: Any, browser: Browser) -> None:
    speech = load_pcm(committee_clip([SAID], seed=4).path)
    await add_staff(server)
    cookie, csrf = await login(server)
    made: list[Client] = []
    staff = await console(server, made, CONSULTATION)
    member = await admitted(server, made, staff, "山田委員", Role.MEMBER, room=CONSULTATION)
    page, watch = await enter(browser, server, "あおい", CONSULTATION)
    pc = None
    try:
        assert await page.locator("#captions-auto").is_hidden()
        status, _ = await staff_post(server, f"/api/rooms/{CONSULTATION}/settings",
                                     {"auto_captions": True}, cookie=cookie, csrf=csrf)
        assert status == 200
        label = page.locator("#captions-auto")
        await label.wait_for(state="visible")
        assert "自動字幕" in (await label.text_content() or "")
        assert await page.get_attribute("#captions", "aria-describedby") == "captions-auto"

        # Switching captions on loads the model at once (in the worker), before anyone
        # speaks: a first phrase waiting out a slow load would be dropped as stale.
        captions = server.app[CAPTIONS_KEY]
        async with asyncio.timeout(120):
            while not captions.stats()["worker_ready"]:  # noqa: ASYNC110 (a flag)
                await asyncio.sleep(0.2)

        await staff.act("floor:give", {"target": member.ack["self"], "limit": 120})
        track = SpeechTrack()
        pc = await publish_audio(member, track)
        track.say(speech)
        await track.said()
        history = page.locator('#captions-log li[data-auto="1"]')
        try:  # the history keeps every line of the stay, each automatic one marked
            await history.first.wait_for(state="attached", timeout=90_000)
        except PlaywrightTimeout:
            raise AssertionError(f"no automatic caption: {captions.stats()}") from None
        text = await history.locator(".text").text_content() or ""
        assert text and text in (await page.text_content("#captions") or "")
        assert "自動字幕 · 山田委員" in (await history.text_content() or "")
        assert cer(SAID, text) < 0.5, text
        assert not watch.errors, watch.errors
    finally:
        if pc is not None:
            await pc.close()
        for c in made:
            await c.close()
