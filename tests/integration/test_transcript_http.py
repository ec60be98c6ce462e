"""Transcript correction and the archive search over real HTTP against a real server
(issue 17): staff edit, merge, split and mark inaudible with every edit kept and audited;
the refusals with their reason codes (unknown or removed segment, merge across speakers,
offset out of range, too long, a stale version, no CSRF token, no session); the diff
between versions; the search finds published recordings only (staff ``all=1``:
everything), the corrected text and not the old one, with a replay link at that moment,
query syntax taken as text; the minutes drafted after a correction hold it.

Segments are seeded through the transcript store (not the speech model), so this runs in
seconds. Seen to fail with each defence removed: the CSRF check of the edit route (staff()
without change=True: 200 instead of 403), the published join of the public query
(``published_only`` ignored: the unpublished recording is found), the rebuild on a
transcript change (the listener not registered: the corrected text is not found), the
publish hook (not called: nothing is found after publishing), the closed-session filter
of the rows (a segment inside 秘密会 found), the version check (a stale edit applied).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from server.app import RECORDINGS_KEY
from server.recording.event_log import Event, EventKind, encode_event
from server.transcription.store import NewSegment
from tests.conftest import Server
from tests.integration.test_minutes_approval_http import Console, refused
from tests.meetings import COMMITTEE, add_staff
from tests.published import record

TRACK_A, TRACK_B = "audio/01.opus", "audio/02.opus"


async def seed(server: Server, rid: str) -> list[int]:
    """Two speakers' segments, stored as a transcription job would; their ids."""
    store = server.app[RECORDINGS_KEY].transcripts
    await store.replace_segments(rid, TRACK_A, [
        NewSegment("p-tanaka", "田中委員", "member", 0, 0.5, 2.0, "予算の執行状況について"),
        NewSegment("p-tanaka", "田中委員", "member", 0, 2.0, 3.5, "伺います。"),
        NewSegment("p-tanaka", "田中委員", "member", 1, 6.0, 8.0, "ありがとうございました。"),
    ])
    await store.replace_segments(rid, TRACK_B, [
        NewSegment("p-sato", "佐藤課長", "staff", 0, 4.0, 5.5, "お答えします。"),
    ])
    return [s.id for s in await store.segments(rid)]


async def edit(jimu: Console, rid: str, body: dict[str, Any]) -> tuple[int, Any]:
    return await jimu.post(f"/api/recordings/{rid}/transcript/edits", body)


async def test_edits_refusals_history_diff_and_audit(server: Server) -> None:
    await add_staff(server)
    rid = await record(server)
    a1, a2, b1, a3 = await seed(server, rid)
    jimu = await Console.of(server, "jimu")
    base = f"/api/recordings/{rid}/transcript"

    status, got = await jimu.get(f"{base}/edits")
    assert status == 200 and got["version"] == 0 and len(got["segments"]) == 4

    status, done = await edit(jimu, rid, {"kind": "text", "segment": a1, "version": 0,
                                          "text": "予算の執行率について"})
    assert status == 200 and done["version"] == 1, done
    assert done["edit"]["before"][0]["text"] == "予算の執行状況について"
    # Someone who loaded version 0 and edits now is told to reload.
    refused(await edit(jimu, rid, {"kind": "text", "segment": a2, "version": 0,
                                   "text": "x"}), 409, "wrong_state")
    refused(await edit(jimu, rid, {"kind": "text", "segment": 999999, "text": "x"}),
            400, "bad_field")
    refused(await edit(jimu, rid, {"kind": "merge", "segment": a2}), 409, "wrong_state")
    refused(await edit(jimu, rid, {"kind": "split", "segment": a2, "at": 99}), 400,
            "bad_field")
    refused(await edit(jimu, rid, {"kind": "text", "segment": a2, "text": "長" * 2001}),
            400, "too_long")
    refused(await edit(jimu, rid, {"kind": "drop", "segment": a2}), 400, "bad_field")

    status, merged = await edit(jimu, rid, {"kind": "merge", "segment": a1})
    assert status == 200 and merged["version"] == 2
    assert merged["segments"][0]["text"] == "予算の執行率について伺います。"
    refused(await edit(jimu, rid, {"kind": "text", "segment": a2, "text": "x"}), 409,
            "wrong_state")  # merged away
    status, split = await edit(jimu, rid, {"kind": "split", "segment": a1, "at": 10})
    assert status == 200 and [s["text"] for s in split["segments"]][:2] == [
        "予算の執行率について", "伺います。"]
    status, _ = await edit(jimu, rid, {"kind": "inaudible", "segment": b1})
    assert status == 200

    # No CSRF token, a foreign origin, no session: refused before anything changes.
    nocsrf = Console(server, jimu.cookie, "")
    refused(await edit(nocsrf, rid, {"kind": "inaudible", "segment": a3}), 403, "bad_csrf")
    refused(await edit(Console(server), rid, {"kind": "inaudible", "segment": a3}), 401,
            "session_expired")
    refused(await Console(server).get(f"{base}/edits"), 401, "session_expired")
    refused(await Console(server).get(f"{base}/diff?from=0&to=1"), 401, "session_expired")
    refused(await edit(jimu, "r-nonexistent", {"kind": "inaudible", "segment": a3}), 404,
            "not_found")

    status, history = await jimu.get(f"{base}/edits")
    assert status == 200 and history["version"] == 4
    assert [e["kind"] for e in history["edits"]] == ["text", "merge", "split", "inaudible"]
    assert all(e["by"] == "jimu" for e in history["edits"])
    status, diff = await jimu.get(f"{base}/diff?from=0&to=4")
    assert status == 200
    assert "-[0:00:00] 田中委員: 予算の執行状況について" in diff["diff"]
    assert "+[0:00:00] 田中委員: 予算の執行率について" in diff["diff"]
    assert "+[0:00:04] 佐藤課長: （聴取不能）" in diff["diff"]
    status, none = await jimu.get(f"{base}/diff?from=2&to=3")
    assert status == 200 and "+[0:00:02] 田中委員: 伺います。" in none["diff"]  # the split
    status, same = await jimu.get(f"{base}/diff?from=3&to=3")
    assert status == 200 and same["diff"] == ""
    refused(await jimu.get(f"{base}/diff?from=0&to=9"), 404, "not_found")
    refused(await jimu.get(f"{base}/diff?from=x&to=1"), 400, "bad_field")

    status, log = await jimu.get(f"/api/rooms/{COMMITTEE}/audit?limit=50")
    assert status == 200
    kept = [e for e in log["entries"] if e["action"] == "transcript.edit"]
    assert len(kept) == 4, log


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """``eventually``, polled every 0.25 s: the search shares the archive's per-address
    budget (60 a minute), which 50 ms polls of a failing check would spend; 32 polls fit."""
    for _ in range(32):
        if await check():
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"{what}: not met within 8 s")


async def _hits(who: Console, q: str, everything: bool = False) -> list[dict[str, Any]]:
    from urllib.parse import quote
    status, body = await who.get(f"/api/search?q={quote(q)}" + ("&all=1" if everything
                                                               else ""))
    assert status == 200, body
    return list(body["hits"])


async def test_search_published_only_corrected_text_escaping_and_minutes(
        server: Server) -> None:
    await add_staff(server)
    rid = await record(server)
    a1, *_ = await seed(server, rid)
    jimu, public = await Console.of(server, "jimu"), Console(server)
    status, _ = await edit(jimu, rid, {"kind": "text", "segment": a1,
                                       "text": "予算の執行率について"})
    assert status == 200

    async def staff_finds() -> bool:
        return bool(await _hits(jimu, "執行率", everything=True))
    await until(staff_finds, what="the corrected text in the staff search")
    assert await _hits(public, "執行率") == []  # unpublished: not for the public
    refused(await public.get("/api/search?q=x&all=1"), 401, "session_expired")

    status, _ = await jimu.post(f"/api/recordings/{rid}/publish", {})
    assert status == 200

    async def public_finds() -> bool:
        return bool(await _hits(public, "執行率"))
    await until(public_finds, what="the published recording in the public search")
    hit = (await _hits(public, "執行率"))[0]
    assert hit["recording"] == rid and hit["kind"] == "segment" and hit["at"] == 0.5
    assert hit["replay"] == f"/replay?id={rid}&t=0"
    assert "\x02執行率\x03" in hit["snippet"]
    assert await _hits(public, "執行状況") == []  # the old words are gone
    assert [h["recording"] for h in await _hits(public, "予算")] != []  # two characters
    assert await _hits(public, "伺います") != []
    # A query is text: FTS operators and quotes find nothing, never a 500.
    for q in ('執行率"', '執行率" OR "伺', "執行* NEAR(予算)", "予算 AND", "執行%", "執_率"):
        assert await _hits(public, q) == [], q
    refused(await public.get("/api/search?q="), 400, "missing_field")
    refused(await public.get("/api/search?q=" + "x" * 101), 400, "too_long")

    # The minutes drafted now (the generated text) hold the corrected words.
    status, saved = await jimu.post(f"/api/recordings/{rid}/minutes/versions", {})
    assert status == 201, saved
    status, v1 = await jimu.get(f"/api/recordings/{rid}/minutes/versions/1")
    assert status == 200 and "予算の執行率について" in v1["text"], v1["text"][-600:]
    assert "予算の執行状況" not in v1["text"]

    # A recording without a transcript is found by its minutes once published (the
    # publish hook builds its rows), with a link to the replay's start.
    other = await record(server, "臨時総務委員会")
    status, _ = await jimu.post(f"/api/recordings/{other}/publish", {})
    assert status == 200

    async def minutes_found() -> bool:
        return any(h["recording"] == other and h["kind"] == "minutes"
                   for h in await _hits(public, "臨時総務"))
    await until(minutes_found, what="the published minutes in the search")

    # Unpublished: gone from the public search at once (decided at query time).
    status, _ = await jimu.post(f"/api/recordings/{rid}/unpublish", {})
    assert status == 200
    assert await _hits(public, "執行率") == []


async def test_closed_session_words_are_never_found(server: Server) -> None:
    """A segment inside a closed session (秘密会) is left out of the rows, whoever
    stored it there."""
    await add_staff(server)
    service = server.app[RECORDINGS_KEY]
    rid = await record(server)
    folder = service.root / rid
    # A closed session from 0 s to 3 s of the recording, in its event log.
    started = (await service.index.get(rid)).started
    with (folder / "events.jsonl").open("a", encoding="utf-8") as f:
        for seq, (t_ms, closed) in enumerate(((0, True), (3000, False)), start=10_000):
            f.write(encode_event(Event(t_ms, seq, EventKind.RECORDING, {
                "type": "committee.closed_session", "closed": closed,
                "at": started + t_ms / 1000})))
    await seed(server, rid)
    jimu = await Console.of(server, "jimu")
    status, _ = await jimu.post(f"/api/recordings/{rid}/publish", {})
    assert status == 200

    async def found_later_words() -> bool:
        return bool(await _hits(jimu, "お答えします", everything=True))
    await until(found_later_words, what="the rows rebuilt")
    assert await _hits(jimu, "執行状況", everything=True) == []
