"""Transcripts after the meeting (issue 17): a committee meeting recorded through real
clients (two aiortc voices playing synthesised Japanese, taking the floor in turn) is
transcribed once the recording stops, each segment attributed to its speaker and floor
turn, and the minutes gain their 発言 section; a server stopped while the job runs resumes
it at the next start (tracks done are kept); a damaged and a zero-length track fail alone;
without a model the job fails at once, saying what to do, without a worker process.

Each check was seen to fail with its defence removed:
- speakers and turns: ``turn_of`` returning None (segments outside every turn) fails
  the turn assertions; a job that named every segment after the track's first speaker
  fails the attribution;
- the 発言 section: minutes built without ``transcript=`` fail the section assertions;
- resume: ``reset_running`` not called at start leaves the job running for ever (the wait
  times out); re-transcribing done tracks changes their segment ids;
- a bad track: failing the job on the first failed track leaves the good ones undone;
- no model: without the cheap check before the worker, a process is started for nothing;
  with the model folder in the message, the server's path shows.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection
from av import AudioFrame

from bench.clients.audio_peers import speak
from bench.clients.recording_media import decode
from rooms.model import Role
from server.app import RECORDINGS_KEY
from server.config.settings import Settings
from server.recording.ids import new_recording_id, recording_dir
from server.recording.recorder import Manifest, RecordingState, write_manifest
from server.recording.transcripts import TranscriptJobs
from server.rtc.ice import rtc_configuration
from server.storage.store import SQLiteStore
from server.transcription.store import JobState, TranscriptStore
from server.transcription.text import cer
from tests.conftest import ROOT, Client, Server, eventually, running_server
from tests.meetings import COMMITTEE, add_staff, admitted, console, login, staff_post
from tests.transcription_media import Clip, committee_clip

CONFIG = rtc_configuration([])
MODELS = ROOT / "data" / "models"
A_SAYS = ("定足数に達しております。", "議案第十二号について採決します。")
B_SAYS = ("佐藤委員から修正動議が提出されました。",)


@pytest.fixture(scope="module")
def clips() -> tuple[Clip, Clip]:
    return (committee_clip(A_SAYS, "jf_alpha", seed=3),
            committee_clip(B_SAYS, "jm_kumo", seed=4))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The model `make test` fetches into the checkout (the transcribe CLI test's too).
    return replace(settings, ice_host_addresses=("127.0.0.1",), model_cache_dir=MODELS)


class ClipTrack(MediaStreamTrack):
    """A microphone playing a clip in real time, then silence; ``done`` once played."""

    kind = "audio"

    def __init__(self, path: Path) -> None:
        super().__init__()
        pcm = (np.clip(decode(path), -1, 1) * 32767).astype(np.int16)
        self.pcm = np.concatenate([pcm, np.zeros(-pcm.size % 960, np.int16)])
        self.frames = 0
        self.done = asyncio.Event()
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        await asyncio.sleep(max(0.0, self._start + self.frames * 0.02 - loop.time()))
        at = self.frames * 960
        chunk = self.pcm[at: at + 960]
        if chunk.size < 960:
            self.done.set()
            chunk = np.zeros(960, np.int16)
        frame = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48_000
        frame.pts = at
        frame.time_base = fractions.Fraction(1, 48_000)
        self.frames += 1
        return frame


async def publish(client: Client, track: MediaStreamTrack) -> RTCPeerConnection:
    async def signal(_pid: str, _room: str, sdp: str) -> str:
        ack = await client.call("audio:publish", {"type": "offer", "sdp": sdp})
        assert ack["ok"], ack
        return str(ack["sdp"])

    return await speak(CONFIG, signal, "", "", track)  # type: ignore[arg-type]


async def get(server: Server, path: str, cookie: str = "") -> tuple[int, Any]:
    headers = {"Cookie": cookie} if cookie else {}
    async with aiohttp.ClientSession(headers=headers) as http, \
            http.get(server.url + path) as r:
        body = await r.read()
        return r.status, json.loads(body) if r.content_type == "application/json" \
            else body.decode()


async def transcript_done(server: Server, recording: str, cookie: str,
                          within: float = 40.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        status, body = await get(server, f"/api/recordings/{recording}/transcript", cookie)
        assert status == 200, body
        if body["state"] in ("done", "failed"):
            return body  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"the job did not end: {body}"
        await asyncio.sleep(0.2)


async def _meeting(server: Server, made: list[Client],
                   clips: tuple[Clip, Clip]) -> tuple[str, list[str]]:
    """Two members speak in turn while the meeting is recorded: the recording's id and
    the two members' participant ids."""
    await add_staff(server)
    staff = await console(server, made)
    a = await admitted(server, made, staff, "山田委員", Role.MEMBER)
    b = await admitted(server, made, staff, "佐藤委員", Role.MEMBER)
    started = await staff.act("recording:start", {"room": COMMITTEE})
    for who, clip in ((a, clips[0]), (b, clips[1])):
        await staff.act("floor:give", {"target": who.ack["self"], "limit": 60})
        me = who.ack["self"]

        def holds(f: dict[str, Any], me: str = me) -> bool:
            return bool(f["holder"] == me)

        await who.expect("meeting:floor", holds)
        track = ClipTrack(clip.path)
        pc = await publish(who, track)
        try:
            await asyncio.wait_for(track.done.wait(), clip.seconds + 10)
            await asyncio.sleep(0.3)  # the last packets reach the recorder
        finally:
            await pc.close()
        await staff.act("floor:revoke")
    await staff.act("recording:stop", {"room": COMMITTEE})
    return str(started["id"]), [a.ack["self"], b.ack["self"]]


async def _damage(settings: Settings, recording: str) -> None:
    """While the server is down, two more tracks join the job: a damaged file and an
    empty one (as a disk fault would leave them)."""
    folder = recording_dir(settings.recordings_path, recording)
    (folder / "audio/03.opus").write_bytes(b"OggS" + bytes(range(256)) * 8)
    (folder / "audio/04.opus").write_bytes(b"")
    store = SQLiteStore(settings.database_path)
    await store.open()
    try:
        await store.run(lambda c: c.executemany(
            "INSERT INTO transcript_tracks (recording_id, track, pid, name, state)"
            " VALUES (?, ?, ?, ?, 'queued')",
            [(recording, "audio/03.opus", "p3", "壊れた"),
             (recording, "audio/04.opus", "p4", "空")]))
    finally:
        await store.close()


async def test_a_recorded_meeting_is_transcribed_by_speaker_and_turn(
    settings: Settings, made: list[Client], clips: tuple[Clip, Clip], no_blocking: None
) -> None:
    # The first start: the meeting, then the server stops as soon as one track is done.
    async with running_server(settings) as server:
        recording, pids = await _meeting(server, made, clips)
        transcripts = server.app[RECORDINGS_KEY].transcripts

        async def one_done() -> bool:
            return any(t.state is JobState.DONE for t in await transcripts.tracks(recording))

        await eventually(one_done, within=60, what="a track transcribed")
        kept = {s.id for s in await transcripts.segments(recording)}
        job = await transcripts.job(recording)
        assert kept and job is not None and job.state is JobState.RUNNING, job
        jobs = server.app[RECORDINGS_KEY].jobs
    assert not jobs.worker.pids, "the worker process is gone with the server"
    await _damage(settings, recording)

    # The second start on the same data: the job resumes, the track done is kept.
    async with running_server(settings) as server:
        cookie, csrf = await login(server)
        status, _ = await get(server, f"/api/recordings/{recording}/transcript")
        assert status == 404, "unpublished: staff only"
        body = await transcript_done(server, recording, cookie)
        assert body["state"] == "done" and body["done"] == 2, body
        tracks = {t["track"]: t for t in body["tracks"]}
        assert {tracks[f"audio/0{i}.opus"]["name"] for i in (1, 2)} == {"山田委員", "佐藤委員"}
        # A damaged and an empty track fail alone, each with its reason (no server paths).
        assert tracks["audio/03.opus"]["state"] == "failed"
        assert "not readable audio" in tracks["audio/03.opus"]["error"]
        assert tracks["audio/04.opus"]["state"] == "failed"
        assert tracks["audio/04.opus"]["error"] == "audio/04.opus is empty (0 bytes)"
        segments = body["segments"]
        assert kept <= {s["id"] for s in segments}, "the track done before the restart was kept"
        for turn, (name, pid, says) in enumerate([("山田委員", pids[0], A_SAYS),
                                                  ("佐藤委員", pids[1], B_SAYS)]):
            mine = [s for s in segments if s["name"] == name]
            assert mine and all(s["pid"] == pid and s["role"] == "member" for s in mine), segments
            assert {s["turn"] for s in mine} == {turn}, f"{name}'s words are in turn {turn}"
            heard = "".join(s["text"] for s in mine)
            assert cer("".join(says), heard) < 0.5, (says, heard)
            assert all(s["status"] == "auto" and s["auto_text"] == s["text"] for s in mine)
        assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)

        # The minutes: the 発言 section, each turn with its speaker and the draft marked.
        status, md = await get(server, f"/api/recordings/{recording}/minutes?format=md", cookie)
        assert status == 200
        section = md.split("## 発言\n", 1)[1].split("\n## ", 1)[0]
        assert section.index("山田委員（委員）") < section.index("佐藤委員（委員）")
        assert "自動文字起こし（未校正）" in section and "動議" in section, section

        # Published: the public reads it, without ids and the engine's own words.
        status, _ = await staff_post(server, f"/api/recordings/{recording}/publish", {},
                                     cookie=cookie, csrf=csrf)
        assert status == 200
        status, public = await get(server, f"/api/recordings/{recording}/transcript")
        assert status == 200 and public["segments"]
        assert all("pid" not in s and "auto_text" not in s for s in public["segments"])

        # Run again: staff only, with the CSRF token, audited; refused while queued.
        path = f"/api/recordings/{recording}/transcript/run"
        status, refused = await staff_post(server, path, {}, cookie=cookie, csrf="wrong")
        assert status == 403, refused
        status, queued = await staff_post(server, path, {}, cookie=cookie, csrf=csrf)
        assert status == 202 and queued["state"] == "queued", queued
        status, twice = await staff_post(server, path, {}, cookie=cookie, csrf=csrf)
        assert status == 409 and twice["reason"] == "wrong_state", twice
        status, audit = await get(server, f"/api/rooms/{COMMITTEE}/audit", cookie)
        assert any(e["action"] == "transcript.run" and e["details"]["recording"] == recording
                   for e in audit["entries"]), audit


async def test_without_a_model_the_job_fails_at_once_and_says_what_to_do(
    settings: Settings, tmp_path: Path, no_blocking: None
) -> None:
    settings = replace(settings, model_cache_dir=tmp_path / "no-models")
    rid = new_recording_id()
    folder = recording_dir(settings.recordings_path, rid)
    (folder / "audio").mkdir(parents=True)
    (folder / "audio/01.opus").write_bytes(b"")
    write_manifest(folder, Manifest(rid, COMMITTEE, "t", time.time(), RecordingState.STOPPED,
                                    time.time(), 1000, {"audio/01.opus": "p1"}))
    store = SQLiteStore(settings.database_path)
    await store.open()
    transcripts = TranscriptStore(store)
    jobs = TranscriptJobs(settings, transcripts, settings.recordings_path)
    try:
        await jobs.open()
        await jobs.queue(rid)

        async def ended() -> bool:
            job = await transcripts.job(rid)
            return job is not None and job.state is JobState.FAILED

        await eventually(ended, within=10, what="the job failed")
        job = await transcripts.job(rid)
        assert job is not None and "run `hiroba models fetch`" in job.error
        assert str(tmp_path) not in job.error, "no server folder in what the public may read"
        assert jobs.worker.starts == 0, "no worker process for a model that is not there"
    finally:
        await jobs.close()
        await store.close()
