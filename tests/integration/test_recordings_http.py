"""The recordings API over real HTTP: the public archive sees published recordings only,
staff see everything, publishing needs a staff session and the CSRF token, files are
whitelisted and access-checked on every request, the public's event log has no
moderation lines, audio answers Range requests, and published recordings outlive the
retention sweep."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from server.app import RECORDINGS_KEY
from server.recording.ids import new_recording_id
from server.recording.index import DAY
from server.recording.recorder import Manifest, RecordingState, write_manifest
from tests.conftest import Server
from tests.meetings import COMMITTEE, add_staff, login
from tests.published import publish, record

FILES = ("recording.json", "motion.bin", "events.jsonl", "audio/01.opus")


async def get(server: Server, path: str, cookie: str | None = None,
              **headers: str) -> tuple[int, bytes, Any]:
    """GET ``path`` exactly as written (no client-side normalisation of ``..``)."""
    if cookie:
        headers["Cookie"] = cookie
    async with aiohttp.ClientSession() as http, http.get(
        URL(server.url + path, encoded=True), headers=headers
    ) as r:
        return r.status, await r.read(), r


async def post(server: Server, path: str, cookie: str | None = None, csrf: str | None = None,
               **headers: str) -> tuple[int, dict[str, Any]]:
    if cookie:
        headers["Cookie"] = cookie
    if csrf:
        headers["X-CSRF-Token"] = csrf
    async with aiohttp.ClientSession() as http, http.post(
        server.url + path, json={}, headers=headers
    ) as r:
        return r.status, await r.json()


def every_route(rid: str) -> list[str]:
    return [f"/api/recordings/{rid}", *(f"/api/recordings/{rid}/files/{n}" for n in FILES),
            f"/api/recordings/{rid}/minutes?format=md",
            f"/api/recordings/{rid}/minutes?format=html"]


async def test_unpublished_is_invisible_to_the_public_and_visible_to_staff(
    server: Server,
) -> None:
    await add_staff(server)
    rid = await record(server)
    status, body, _ = await get(server, "/api/recordings")
    assert status == 200 and json.loads(body) == []

    # Every route answers as for an id that does not exist: nothing tells them apart.
    unknown = new_recording_id()
    for own, other in zip(every_route(rid), every_route(unknown), strict=True):
        status, body, _ = await get(server, own)
        status2, body2, _ = await get(server, other)
        assert (status, body) == (status2, body2) and status == 404, own
        assert json.loads(body)["reason"] == "not_found"
    status, body, _ = await get(server, "/api/recordings?all=1")
    assert (status, json.loads(body)["reason"]) == (401, "session_expired")

    cookie, _ = await login(server)
    status, body, r = await get(server, "/api/recordings?all=1", cookie)
    assert status == 200 and r.headers["Cache-Control"] == "private, no-store"
    [item] = json.loads(body)
    assert item["id"] == rid and item["published"] is False and item["state"] == "stopped"
    assert item["started_by"] == "jimu" and item["room"] == COMMITTEE
    assert item["replay"] == f"/replay?id={rid}"
    assert item["minutes"]["md"] == f"/api/recordings/{rid}/minutes?format=md"

    status, body, r = await get(server, f"/api/recordings/{rid}", cookie)
    assert status == 200 and r.headers["Cache-Control"] == "private, no-store"
    manifest = json.loads(body)
    assert manifest["id"] == rid and manifest["state"] == "stopped"
    assert manifest["room_name"] and manifest["files"] == list(FILES)
    assert manifest["speakers"] == [{"file": "audio/01.opus", "pid": "p-tanaka",
                                     "name": "田中委員"}]
    for name in FILES:
        status, body, r = await get(server, f"/api/recordings/{rid}/files/{name}", cookie)
        assert status == 200 and body, name
        assert r.headers["Cache-Control"] == "private, no-store"
    status, body, r = await get(server, f"/api/recordings/{rid}/files/audio/01.opus", cookie)
    assert r.headers["Content-Type"] == "audio/ogg" and body[:4] == b"OggS"
    status, body, _ = await get(server, f"/api/recordings/{rid}/files/events.jsonl", cookie)
    assert b'"kind":"moderation"' in body, "staff read the whole log"

    # A cookie that is not a live session is no one's: the same 404 as to the public.
    status, _, _ = await get(server, f"/api/recordings/{rid}/files/motion.bin",
                             "hiroba_session=" + "x" * 43)
    assert status == 404


async def test_publish_needs_staff_and_csrf_and_a_stopped_recording(
    server: Server,
) -> None:
    await add_staff(server)
    rid = await record(server)
    url = f"/api/recordings/{rid}/publish"
    cookie, csrf = await login(server)
    # Nobody without a session (a citizen) publishes, and the id's existence stays hidden.
    for path in (url, f"/api/recordings/{new_recording_id()}/publish", "/api/recordings/x/publish"):
        assert await post(server, path) == (401, {"ok": False, "reason": "session_expired",
                                                  "message": "log in first"})
    for headers, expected in (({"cookie": cookie}, (403, "bad_csrf")),
                              ({"cookie": cookie, "csrf": "0" * 64}, (403, "bad_csrf")),
                              ({"cookie": cookie, "csrf": csrf,
                                "Origin": "https://evil.example"}, (403, "bad_csrf"))):
        status, body = await post(server, url, **headers)
        assert (status, body["reason"]) == expected
    assert (await get(server, f"/api/recordings/{rid}"))[0] == 404, "still unpublished"

    status, body = await post(server, f"/api/recordings/{new_recording_id()}/publish",
                              cookie, csrf)
    assert (status, body["reason"]) == (404, "not_found")
    # Only a stopped recording can be published.
    service = server.app[RECORDINGS_KEY]
    running = Manifest(new_recording_id(), COMMITTEE, "録画中", time.time())
    await service.index.add(running, "jimu")
    status, body = await post(server, f"/api/recordings/{running.id}/publish", cookie, csrf)
    assert (status, body["reason"]) == (409, "wrong_state") and "recording" in body["message"]

    status, body = await post(server, url, cookie, csrf, Origin=server.url)
    assert status == 200 and body["published"] is True and body["id"] == rid
    [item] = json.loads((await get(server, "/api/recordings"))[1])
    assert item["id"] == rid and "state" not in item and "started_by" not in item
    for path in every_route(rid)[:5]:
        status, _, r = await get(server, path)
        assert status == 200 and r.headers["Cache-Control"] == "no-cache", path

    # Audited, under the recording's room.
    entries = json.loads((await get(server, f"/api/rooms/{COMMITTEE}/audit", cookie))[1])[
        "entries"]
    assert any(e["action"] == "recording.publish" and e["details"]["recording"] == rid
               for e in entries), entries

    status, body = await post(server, f"/api/recordings/{rid}/unpublish", cookie, csrf)
    assert status == 200 and body["published"] is False
    for path in every_route(rid)[:5]:
        assert (await get(server, path))[0] == 404, path
    assert json.loads((await get(server, "/api/recordings"))[1]) == []


async def test_path_traversal_is_refused(server: Server, tmp_path: Path) -> None:
    rid = await record(server)
    await publish(server, rid)
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve")
    root = server.app[RECORDINGS_KEY].root
    # A symlink planted in a recording's folder, and a recording folder that is a symlink.
    os.symlink(secret, root / rid / "audio" / "02.opus")
    os.symlink(secret, root / rid / "audio" / "03.opus.tmp")
    linked = new_recording_id()
    outside = tmp_path / "outside"
    outside.mkdir()
    write_manifest(outside, Manifest(linked, COMMITTEE, "外", time.time(),
                                     RecordingState.STOPPED))
    (outside / "motion.bin").write_text("outside")
    await server.app[RECORDINGS_KEY].index.finish(  # indexed (and published) first
        Manifest(linked, COMMITTEE, "外", time.time(), RecordingState.STOPPED))
    await publish(server, linked)
    os.symlink(outside, root / linked)

    base = f"/api/recordings/{rid}/files/"
    for name in ("../recording.json", "..%2frecording.json", "%2e%2e/%2e%2e/secret.txt",
                 "audio/../recording.json", "audio/..%2f..%2frecording.json",
                 "%2fetc%2fpasswd", "/etc/passwd", "//etc/passwd", "audio/02.opus",
                 "audio/03.opus.tmp", "audio/1.opus", "audio/001.opus", "audio/01.opus/",
                 "audio\\01.opus", "audio/01.opus%00", "recording.json.tmp", "RECORDING.JSON",
                 "./motion.bin", "audio/./01.opus", "audio", "audio/", "%2e%2e"):
        status, body, _ = await get(server, base + name)
        assert status == 404, name
        assert b"do not serve" not in body
    for path in (f"/api/recordings/../{rid}", f"/api/recordings/%2e%2e%2f{rid}",
                 f"/api/recordings/{rid}%2f..", f"/api/recordings/{rid[:-1]}%2e",
                 f"/api/recordings/{linked}", f"/api/recordings/{linked}/files/motion.bin",
                 f"/api/recordings/{linked}/files/recording.json"):
        status, body, _ = await get(server, path)
        assert status == 404, path
        assert b"outside" not in body and b"do not serve" not in body
    # An encoded slash that decodes to a whitelisted name is that same file, nothing more.
    status, body, _ = await get(server, base + "audio%2F01.opus")
    assert (status, body) == (200, (await get(server, base + "audio/01.opus"))[1])


async def test_range_requests_on_audio(server: Server) -> None:
    rid = await record(server)
    await publish(server, rid)
    path = f"/api/recordings/{rid}/files/audio/01.opus"
    status, whole, r = await get(server, path)
    assert status == 200 and r.headers["Accept-Ranges"] == "bytes"
    status, part, r = await get(server, path, Range="bytes=100-199")
    assert status == 206 and part == whole[100:200]
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
    assert r.headers["Content-Type"] == "audio/ogg"
    status, part, _ = await get(server, path, Range=f"bytes=-{len(whole) // 2}")
    assert status == 206 and part == whole[len(whole) - len(whole) // 2:]
    # A range the file cannot satisfy, or not one at all: 416 with a reason (aiohttp's
    # own answer has an empty body), and the file's size to try again with.
    for bad in (f"bytes={len(whole)}-", "bytes=99999999-", "bytes=5-1", "bytes=a-b",
                "lines=1-2"):
        status, raw, r = await get(server, path, Range=bad)
        body = json.loads(raw)
        assert (status, body["reason"]) == (416, "bad_field"), (bad, body)
        assert r.headers["Content-Range"] == f"bytes */{len(whole)}" and body["message"]
    status, part, _ = await get(server, path, Range=f"bytes={len(whole) - 1}-")
    assert status == 206 and part == whole[-1:]


async def test_public_event_log_has_no_moderation_lines(server: Server) -> None:
    await add_staff(server)
    rid = await record(server)
    await publish(server, rid)
    status, body, r = await get(server, f"/api/recordings/{rid}/files/events.jsonl")
    assert status == 200 and r.headers["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in body.splitlines()]
    kinds = [line["kind"] for line in lines]
    assert "moderation" not in kinds and "chat" in kinds and "join" in kinds
    assert b"staff-only note" not in body
    public_before = body
    cookie, _ = await login(server)
    status, body, r = await get(server, f"/api/recordings/{rid}/files/events.jsonl", cookie)
    assert b"staff-only note" in body
    # A damaged log with a line nested deeper than json reads (found by fuzzing: a 500):
    # the public copy leaves that line out like any other it cannot judge.
    events = server.settings.recordings_path / rid / "events.jsonl"
    with events.open("ab") as fh:
        fh.write(b"[" * 50_000 + b"\n")
    status, public, _ = await get(server, f"/api/recordings/{rid}/files/events.jsonl")
    assert status == 200 and public == public_before
    # Staff asking for minutes with moderation lines is staff only.
    status, body, _ = await get(server, f"/api/recordings/{rid}/minutes?format=md&staff=1")
    assert (status, json.loads(body)["reason"]) == (401, "session_expired")
    status, body, _ = await get(server, f"/api/recordings/{rid}/minutes?format=pdf")
    assert (status, json.loads(body)["reason"]) == (400, "bad_field")


async def test_minutes_download(server: Server) -> None:
    await add_staff(server)
    rid = await record(server)
    await publish(server, rid)
    status, body, r = await get(server, f"/api/recordings/{rid}/minutes?format=md")
    assert status == 200 and r.headers["Content-Type"].startswith("text/markdown") and body
    assert r.headers["Content-Disposition"].startswith("attachment;")
    status, body, r = await get(server, f"/api/recordings/{rid}/minutes?format=html")
    assert status == 200 and r.headers["Content-Type"].startswith("text/html") and body
    # Its own policy: no scripts at all, its inline style by hash only.
    csp = r.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'") and "script-src" not in csp
    assert "style-src 'sha256-" in csp and "unsafe-inline" not in csp
    cookie, _ = await login(server)
    status, _, r = await get(server, f"/api/recordings/{rid}/minutes?format=md&staff=1", cookie)
    assert status == 200 and r.headers["Cache-Control"] == "private, no-store"


def _old(root: Path, started: float) -> Manifest:
    m = Manifest(new_recording_id(), COMMITTEE, "昔の会議", started, RecordingState.STOPPED,
                 stopped=started + 60, duration_ms=60_000)
    (root / m.id).mkdir(parents=True)
    write_manifest(root / m.id, m)
    return m


async def test_published_recordings_are_never_swept(server: Server) -> None:
    service = server.app[RECORDINGS_KEY]
    now = time.time()
    loop = asyncio.get_running_loop()
    kept, swept = [await loop.run_in_executor(None, _old, service.root, now - 400 * DAY)
                   for _ in range(2)]
    for m in (kept, swept):
        await service.index.add(m, "jimu")
        await service.index.finish(m)
    await publish(server, kept.id)
    assert await service.index.sweep(now, 90) == [swept.id]
    assert (service.root / kept.id).is_dir() and not (service.root / swept.id).exists()
    assert await service.index.sweep(now + 3650 * DAY, 1) == []
    status, _, _ = await get(server, f"/api/recordings/{kept.id}")
    assert status == 200
    # Unpublished again, it is subject to the sweep like any other.
    await service.index.set_published(kept.id, False, now)
    assert await service.index.sweep(now, 90) == [kept.id]


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # Retention is swept by the tests themselves, not by the hourly task at start.
    return replace(settings, recording_retention_days=0)
