"""Transcript correction to publication in Chromium (issue 17): staff open a recording's
transcript in the console, correct a segment from the keyboard (the save is announced),
publish the recording; the published minutes hold the corrected words and not the
engine's, and the archive search on a phone finds them with a link that opens the replay
at that moment. Segments are seeded through the transcript store (no speech model), so
the test runs in seconds. Screenshots in test-artifacts/.

Seen to fail without the replay's start time (``&t=`` ignored: it starts at 0). The
server's defences (the rebuild on a change, the publish hook, the published-only query,
the corrected draft minutes) are checked to fail in tests/integration/test_transcript_http.py.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import aiohttp
from playwright.async_api import Browser

from bench.clients.chromium import PHONE
from bench.clients.recording_media import opus_packets
from server.app import RECORDINGS_KEY
from server.recording.event_log import EventKind
from server.recording.ids import new_recording_id
from server.recording.recorder import Manifest, Recorder, write_manifest
from server.transcription.store import JobState, NewSegment
from tests.conftest import ROOT
from tests.e2e.axe import CONTEXT
from tests.e2e.axe import check as axe_check
from tests.e2e.conftest import open_page, shot
from tests.e2e.test_meeting import errors
from tests.meetings import COMMITTEE, STAFF_PASSWORD, add_staff

JA = json.loads((ROOT / "web_client/i18n/ja.json").read_text())
TITLE = "第5回予算審査委員会"


def _record_blocking(root: Any) -> Manifest:
    """Six seconds of one member's audio (the replay can start part-way)."""
    rid = new_recording_id()
    recorder = Recorder(root / rid, rid, COMMITTEE, TITLE)
    recorder.start()
    recorder.feed_event(EventKind.JOIN, {"type": "meeting.present", "pid": "p-tanaka",
                                         "pid_name": "田中委員", "pid_role": "member"})
    for i, packet in enumerate(opus_packets(6.0)):
        recorder.feed_audio("p-tanaka", packet, i * 960)
    # The recorder measures its length by the wall clock (a fraction of a second here):
    # say six seconds, as a meeting that long would.
    manifest = replace(recorder.stop(), duration_ms=6000)
    write_manifest(root / rid, manifest)
    return manifest


async def recorded_with_transcript(server: Any) -> tuple[str, int]:
    service = server.app[RECORDINGS_KEY]
    manifest = await asyncio.get_running_loop().run_in_executor(
        None, _record_blocking, service.root)
    await service.index.add(manifest, "jimu")
    await service.index.finish(manifest)
    store = service.transcripts
    track = "audio/01.opus"
    await store.queue(manifest.id, [(track, "p-tanaka", "田中委員")])
    await store.replace_segments(manifest.id, track, [
        NewSegment("p-tanaka", "田中委員", "member", None, 0.2, 3.0, "本日の委員会を開会します。"),
        NewSegment("p-tanaka", "田中委員", "member", None, 3.4, 5.8,
                   "予算の失効状況について伺います。"),
    ])
    await store.set_job(manifest.id, JobState.DONE)
    second = (await store.segments(manifest.id))[1].id
    return manifest.id, second


async def test_staff_correct_publish_minutes_and_search(server: Any, browser: Browser) -> None:
    await add_staff(server)
    rid, seg = await recorded_with_transcript(server)
    # (bypass_csp: axe is injected as an inline script; nothing else differs.)
    console, console_watch = await open_page(browser, server.url + "/console",
                                             viewport={"width": 1024, "height": 1366},
                                             **CONTEXT)
    await console.fill("#login-account", "jimu")
    await console.fill("#login-password", STAFF_PASSWORD)
    await console.click("#login-submit")
    await console.click(f"button[data-room='{COMMITTEE}']")
    await console.wait_for_function(
        "(id) => window.hiroba.console().recordings.some(r => r.id === id)", arg=rid)
    row = console.locator(f".recording-row[data-id='{rid}']")
    await row.locator("button.open-transcript").click()
    item = console.locator(f"#transcript-panel li[data-seg='{seg}']")
    await item.wait_for(state="visible")
    assert await console.evaluate("() => document.activeElement.id") == "tr-title"
    area = item.locator("textarea")
    assert await area.input_value() == "予算の失効状況について伺います。"
    assert await console.locator(f"label[for='tr-text-{seg}']").count() == 1
    assert await item.locator("a").get_attribute("href") == f"/replay?id={rid}&t=3"

    # From the keyboard: the corrected words, then Tab to 保存 and Enter.
    await area.fill("予算の執行状況について伺います。")
    await area.focus()
    await console.keyboard.press("Tab")
    assert await console.evaluate("() => document.activeElement.className") == "primary tr-save"
    await console.keyboard.press("Enter")
    saved = JA["transcript.saved"].format(n=1, kind=JA["transcript.kind.text"])
    await console.wait_for_function(
        "(text) => document.querySelector('#tr-status').textContent === text", arg=saved)
    assert await item.locator(".badge").text_content() == JA["transcript.status.corrected"]
    assert await console.locator("#tr-status").get_attribute("aria-live") == "polite"
    await console.click("#tr-diff-show")
    await console.wait_for_selector("#tr-diff .add")
    assert "+[0:00:03] 田中委員: 予算の執行状況について伺います。" in (
        await console.locator("#tr-diff").inner_text())
    await shot(console, "transcript_correction_console")
    await axe_check(console, "console transcript")
    await console.set_viewport_size({"width": 390, "height": 844})
    await item.scroll_into_view_if_needed()
    width = await console.evaluate(
        "(s) => document.querySelector(s).getBoundingClientRect().right",
        f"#transcript-panel li[data-seg='{seg}'] textarea")
    assert width <= 390, width  # the text field fits a phone
    await shot(console, "transcript_correction_console_390x844")

    # Publish from the recordings panel.
    await row.locator("input[type=checkbox]").check()
    await console.wait_for_function(
        "(id) => window.hiroba.console().recordings.find(r => r.id === id).published", arg=rid)

    # The published minutes hold the correction, not the engine's words.
    async with aiohttp.ClientSession() as http, http.get(
            f"{server.url}/api/recordings/{rid}/minutes?format=md") as r:
        assert r.status == 200
        minutes = await r.text()
    assert "予算の執行状況について伺います。" in minutes and "失効" not in minutes

    # The archive search, on a phone: the corrected words, the old ones not.
    page, watch = await open_page(browser, server.url + "/archive", **PHONE, **CONTEXT)
    await page.fill("#archive-q", "失効状況")
    await page.press("#archive-q", "Enter")
    await page.wait_for_function(
        "(t) => document.querySelector('#archive-search-status').textContent === t",
        arg=JA["archive.search.none"].format(q="失効状況"))
    await page.fill("#archive-q", "執行状況")
    await page.press("#archive-q", "Enter")
    hit = page.locator(f".archive-hit[data-recording='{rid}'][data-kind='segment']")
    await hit.first.wait_for(state="visible")
    assert await page.evaluate("() => document.activeElement.id") == "archive-results-title"
    assert await hit.first.locator("mark").text_content() == "執行状況"
    link = hit.first.locator("a")
    assert await link.get_attribute("href") == f"/replay?id={rid}&t=3"
    await shot(page, "archive_search_390x844")
    await axe_check(page, "archive search")
    await link.click()
    await page.wait_for_url(f"**/replay?id={rid}&t=3")
    await page.wait_for_function("() => window.hiroba?.replay?.().ready")
    at = await page.evaluate("() => window.hiroba.replay().t")
    assert 2.9 <= at <= 3.2, at  # the replay starts at that moment, not at 0
    assert not errors(console_watch), console_watch.errors
    assert not watch.errors, watch.errors
