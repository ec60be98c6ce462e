"""Published minutes are built once and then served from memory (issue 14 finding 5).

A real server, a real stopped recording with a long transcript (so that one build takes a
while and concurrent requests really overlap), and real HTTP requests: N concurrent
requests for the same minutes run one build; the next request is a hit; a socket's ack
is answered meanwhile; a change of what the minutes are built from (unpublished and
published again, the transcript corrected) builds anew; each format and language is its
own document. Builds are counted (``MinutesCache.builds``), never timed.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from server.app import RECORDINGS_KEY
from server.recording.event_log import EventKind
from server.recording.ids import new_recording_id
from server.recording.recorder import EVENTS, Manifest, Recorder
from tests.conftest import Client, Server
from tests.meetings import COMMITTEE
from tests.published import publish

CONCURRENT = 16
CAPTIONS = 1000


def _record_blocking(root: Path) -> Manifest:
    recording_id = new_recording_id()
    recorder = Recorder(root / recording_id, recording_id, COMMITTEE, "第4回DX推進委員会")
    recorder.start()
    recorder.feed_event(EventKind.JOIN, {"type": "meeting.present", "pid": "p-tanaka",
                                         "pid_name": "田中委員", "pid_role": "member"})
    for seq in range(CAPTIONS):
        recorder.feed_event(EventKind.CAPTION, {
            "type": "caption.posted", "line": {"seq": seq, "text": f"字幕の行 {seq} です。"}})
    return recorder.stop()


async def recorded(server: Server) -> str:
    service = server.app[RECORDINGS_KEY]
    manifest = await asyncio.get_running_loop().run_in_executor(
        None, _record_blocking, service.root)
    await service.index.add(manifest, "jimu")
    await service.index.finish(manifest)
    await publish(server, manifest.id)
    return manifest.id


async def fetch(http: aiohttp.ClientSession, server: Server, rid: str,
                query: str = "format=html") -> tuple[int, str]:
    async with http.get(f"{server.url}/api/recordings/{rid}/minutes?{query}") as r:
        return r.status, await r.text()


async def test_concurrent_requests_share_one_build_and_then_hit(server: Server) -> None:
    rid = await recorded(server)
    cache = server.app[RECORDINGS_KEY].minutes
    client = await Client(server.url).connect()
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONCURRENT)
    ) as http:
        answers, ack = await asyncio.gather(
            asyncio.gather(*(fetch(http, server, rid) for _ in range(CONCURRENT))),
            client.join("見学者"),  # a socket's ack is answered meanwhile
        )
        assert ack["ok"]
        assert {status for status, _ in answers} == {200}
        assert len({text for _, text in answers}) == 1
        assert f"字幕の行 {CAPTIONS - 1} です。" in answers[0][1]
        assert cache.builds == 1, f"{cache.builds} builds for one document"
        hits = cache.hits
        status, text = await fetch(http, server, rid)
        assert (status, text) == (200, answers[0][1])
        assert cache.builds == 1 and cache.hits == hits + 1
        # Each format and language is its own document.
        assert (await fetch(http, server, rid, "format=md"))[0] == 200
        assert (await fetch(http, server, rid, "format=html&lang=en"))[0] == 200
        assert cache.builds == 3
    await client.sio.disconnect()


async def test_a_change_builds_anew(server: Server) -> None:
    rid = await recorded(server)
    service = server.app[RECORDINGS_KEY]
    cache = service.minutes
    async with aiohttp.ClientSession() as http:
        assert (await fetch(http, server, rid, "format=md"))[0] == 200
        assert cache.builds == 1
        # Unpublished: nobody reads it, whatever is kept.
        await publish(server, rid, False)
        assert (await fetch(http, server, rid, "format=md"))[0] == 404
        await publish(server, rid)  # published again: a new version
        assert (await fetch(http, server, rid, "format=md"))[0] == 200
        assert cache.builds == 2
        # The transcript corrected on disk: the next request shows the correction.
        line = {"t": 1, "seq": CAPTIONS + 5, "kind": "caption", "type": "caption.corrected",
                "line": {"seq": 0, "text": "訂正された字幕"}}
        events = service.root / rid / EVENTS
        with events.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
        status, text = await fetch(http, server, rid, "format=md")
        assert status == 200 and "訂正された字幕" in text
        assert cache.builds == 3
