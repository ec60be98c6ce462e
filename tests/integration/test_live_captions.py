"""Live automatic captions (issue 17, in the meeting), through the running server: a member
with the floor speaks synthesised Japanese from a real aiortc peer; a citizen's socket
receives the automatic caption. With ``auto_captions`` off nothing is sent to the
recogniser (no worker is even started); staff switch it on over HTTP; the worker killed by
its PID is started again and the next phrase is captioned; a captioner corrects an
automatic line that is no longer the last one, and the recording's event log keeps both
texts (which is which). The model is loaded once (one worker start, one restart).

Checked to fail with each defence removed: the room switch ignored in
``LiveCaptions.on_change`` (the worker starts while captions are off); the reader
thread's death report (``_died``) not restarting the worker (no caption after the kill:
``no meeting:event within``); ``correct_last`` refusing automatic lines that are not last
(``wrong_state``); ``auto_text`` not kept on correction (the event log's corrected line
lacks the recogniser's text).
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from bench.clients.speech_track import Pcm, SpeechTrack, load_pcm
from rooms.model import Role
from server.app import CAPTIONS_KEY
from server.config.settings import Settings
from server.recording.event_log import EventKind, read_events
from server.recording.recorder import EVENTS
from server.rtc.ice import rtc_configuration
from server.transcription.text import cer
from tests.conftest import ROOT, Client, Server
from tests.meetings import (
    COMMITTEE,
    MeetingClient,
    add_staff,
    admitted,
    console,
    login,
    publish_audio,
    staff_post,
)
from tests.transcription_media import committee_clip

CONFIG = rtc_configuration([])
MODELS = ROOT / "data" / "models"
SAID = ("議案第十二号について採決します。", "賛成の委員の挙手を求めます。",
        "佐藤委員から修正動議が提出されました。")  # fmt: skip


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ice_host_addresses=("127.0.0.1",), model_cache_dir=MODELS)


@pytest.fixture(scope="module")
def speech() -> list[Pcm]:
    # Synthesised once per machine (cached by tests/transcription_media.py).
    return [load_pcm(committee_clip([s], seed=i + 3).path) for i, s in enumerate(SAID)]


def auto_posted(event: dict[str, Any]) -> bool:
    return event.get("type") == "caption.posted" and bool(event["line"].get("auto"))


async def next_caption(citizen: MeetingClient, after: int) -> dict[str, Any]:
    line: dict[str, Any] = (await citizen.expect(
        "meeting:event", lambda e: auto_posted(e) and e["line"]["seq"] > after, within=90))["line"]
    return line


async def test_automatic_captions_of_the_floor(server: Server, made: list[Client],
                                               speech: list[Pcm]) -> None:  # fmt: skip
    await add_staff(server)
    cookie, csrf = await login(server)
    captions = server.app[CAPTIONS_KEY]
    staff = await console(server, made)
    rid = (await staff.act("recording:start", {"room": COMMITTEE}))["id"]
    member = await admitted(server, made, staff, "山田委員", Role.MEMBER)
    citizen = await admitted(server, made, staff, "さくら", Role.CITIZEN)
    captioner = await admitted(server, made, staff, "要約筆記者", Role.CAPTIONER)
    assert citizen.ack["meeting"]["captions_mode"] == {"auto": False, "lang": "ja"}
    await staff.act("floor:give", {"target": member.ack["self"], "limit": 300})
    track = SpeechTrack()
    pc = await publish_audio(member, track)
    try:
        # Off (the default): the floor speaks, nothing goes to a recogniser.
        track.say(speech[0])
        async with asyncio.timeout(30):
            await track.said()
        await asyncio.sleep(0.8)
        assert captions.worker_pid is None and captions.stats()["packets_dropped"] == 0
        assert not [e for n, e in citizen.seen if n == "meeting:event" and auto_posted(e)]

        # Staff switch automatic captions on: every page is told (the 自動字幕 label).
        status, body = await staff_post(server, f"/api/rooms/{COMMITTEE}/settings",
                                        {"auto_captions": True}, cookie=cookie, csrf=csrf)
        assert status == 200 and body["auto_captions"] is True and body["caption_lang"] == "ja"
        await citizen.expect("meeting:event", lambda e: e.get("type") == "caption.mode"
                             and e["auto"] is True and e["lang"] == "ja")
        bad, _ = await staff_post(server, f"/api/rooms/{COMMITTEE}/settings",
                                  {"auto_captions": "yes"}, cookie=cookie, csrf=csrf)
        assert bad == 400

        # Switching on started the worker (the model loads before anyone speaks); the
        # first phrase's packets wait in the pipe if it is still loading.
        async with asyncio.timeout(10):
            while captions.worker_pid is None:  # noqa: ASYNC110 (a field, not an event)
                await asyncio.sleep(0.05)
        track.say(speech[0])
        async with asyncio.timeout(30):
            await track.said()
        first = await next_caption(citizen, 0)
        assert first["auto"] is True and first["lang"] == "ja"
        assert first["speaker"] == member.ack["self"] and first["speaker_name"] == "山田委員"
        assert cer(SAID[0], first["text"]) < 0.5, first["text"]
        assert first["spoken_from"] < first["spoken_to"] <= first["at"]

        # The worker killed: another is started, the meeting goes on, the next phrase is
        # captioned.
        killed = captions.worker_pid
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        async with asyncio.timeout(5):
            while captions.restarts < 1:  # noqa: ASYNC110 (a counter, not an event)
                await asyncio.sleep(0.05)
        assert captions.restarts == 1
        track.say(speech[1])
        async with asyncio.timeout(30):
            await track.said()
        second = await next_caption(citizen, first["seq"])
        assert captions.worker_pid not in (None, killed)
        assert cer(SAID[1], second["text"]) < 0.5, second["text"]

        # The captioner corrects the first automatic line (no longer the last one).
        fixed = await captioner.act("caption:correct",
                                    {"seq": first["seq"], "text": "議案第12号について採決します。"})
        assert fixed["seq"] == first["seq"]
        corrected = (await citizen.expect(
            "meeting:event", lambda e: e.get("type") == "caption.corrected"))["line"]
        assert corrected["text"] == "議案第12号について採決します。"
        assert corrected["auto_text"] == first["text"] and corrected["auto"] is True
        human = await captioner.call("caption:correct", {"seq": 10_000, "text": "x"})
        assert human["reason"] == "wrong_state"
    finally:
        await pc.close()

    # The metrics say it; the recording's event log keeps both texts.
    async with aiohttp.ClientSession() as http, http.get(server.url + "/metrics") as r:
        metrics = await r.text()
    assert "hiroba_auto_captions_worker_restarts_total 1" in metrics
    assert 'hiroba_auto_captions_dropped_total{what="phrases"} 0' in metrics
    await staff.act("recording:stop", {"room": COMMITTEE})
    path = server.settings.recordings_path / rid / EVENTS
    log = await asyncio.get_running_loop().run_in_executor(None, read_events, path)
    lines = [e.data for e in log.events if e.kind is EventKind.CAPTION]
    posted = [d for d in lines if d["type"] == "caption.posted"]
    assert [d["line"]["text"] for d in posted] == [first["text"], second["text"]]
    assert all(d["line"]["auto"] and d["line"]["speaker_name"] == "山田委員" for d in posted)
    fix = next(d for d in lines if d["type"] == "caption.corrected")
    assert fix["line"]["auto_text"] == first["text"]
    assert fix["line"]["text"] == "議案第12号について採決します。"
    assert any(d["type"] == "caption.mode" and d["auto"] for d in lines)
