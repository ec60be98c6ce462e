"""VRM avatars through the real server (issue 18): staff upload a member's or their own
VRM file from the console's HTTP API, approve it, and it is served publicly with immutable
caching; hostile files are refused with the limit they broke and nothing is stored; an
oversize body is cut off while it arrives; only staff sessions (with the CSRF header) may
upload or approve; the file's licence decides whom it may be bound to; whoever joins as
the member (or staff) it is bound to wears it, and a recording's participant lines say so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from avatar.vrm_build import HOSTILE_KINDS, build_vrm, hostile_vrm
from rooms.model import Role
from server.avatars.routes import AVATARS_KEY, VALIDATIONS_AT_ONCE
from server.config.settings import Settings
from server.console.routes import MEETINGS_KEY
from server.recording.event_log import EventKind, read_events
from server.recording.recorder import EVENTS
from tests.conftest import Client, Server
from tests.meetings import (
    COMMITTEE,
    MeetingClient,
    _consoles,
    add_staff,
    console,
    http,
    join_invited,
    login,
)

#: The module's upload limit: small enough to stream past quickly, large enough for the
#: validator's own JSON limit (4 MiB) to be the one a too-large JSON chunk breaks.
CAP = 5 * 1024 * 1024
MEMBER = "member:田中委員"
#: Which limit each hostile kind must be refused for (a set where either is right).
EXPECTED_LIMIT: dict[str, set[str]] = {
    "oversized": {"size"}, "too_many_triangles": {"triangles"},
    "too_many_morphs": {"morph_targets"}, "too_many_textures": {"textures"},
    "external_uri": {"external_uri"}, "data_uri": {"external_uri"},
    "broken_chunk": {"glb"}, "bad_magic": {"glb"}, "huge_texture": {"texture_size"},
    "deep_nodes": {"nodes", "node_depth"}, "node_cycle": {"nodes", "node_depth"},
    "unknown_extension": {"extensions"}, "not_vrm": {"not_vrm"},
    "accessor_out_of_range": {"accessors"}, "json_too_large": {"json"},
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, avatar_max_bytes=CAP)


async def upload(server: Server, data: Any, *, cookie: str, csrf: str | None,
                 who: str | None = MEMBER, **params: str) -> tuple[int, dict[str, Any]]:
    """``POST /api/avatars`` with the file as the body, as the console sends it."""
    if who is not None:
        params["for"] = who
    headers = {"Cookie": cookie, "Content-Type": "model/gltf-binary"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    async with aiohttp.ClientSession() as session, session.post(
        server.url + "/api/avatars", params=params, data=data, headers=headers
    ) as r:
        return r.status, await r.json()


async def staff_call(server: Server, path: str, cookie: str, csrf: str) -> tuple[int, Any]:
    status, body, _ = await http("POST", server.url + path, body={}, Cookie=cookie,
                                 **{"X-CSRF-Token": csrf})
    return status, body


def stored(server: Server) -> list[str]:
    folder = server.settings.data_dir / "avatars"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


async def test_upload_approve_and_serve(server: Server) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    old = build_vrm(version="0", perfect_sync=True, title="田中委員のアバター")
    new = build_vrm(version="1", title="事務局のアバター")
    status, body = await upload(server, old, cookie=cookie, csrf=csrf, label="本人提供")
    assert status == 201, body
    sha = body["sha256"]
    assert body["status"] == "pending" and body["for"] == MEMBER
    report = body["report"]
    assert report["version"] == "0.x" and report["title"] == "田中委員のアバター"
    assert report["perfect_sync"] == 52 and report["triangles"] > 0
    status, body = await upload(server, new, cookie=cookie, csrf=csrf, who="staff:jimu")
    assert status == 201 and body["report"]["version"] == "1.0", body
    assert stored(server) == sorted([f"{sha}.vrm", f"{body['sha256']}.vrm"])

    # pending: not public; staff preview it
    status, _, _ = await http("GET", f"{server.url}/avatars/{sha}.vrm")
    assert status == 404
    status, data, r = await http("GET", f"{server.url}/api/avatars/{sha}.vrm", Cookie=cookie)
    assert status == 200 and data == old and "no-store" in r.headers["Cache-Control"]
    status, listed, _ = await http("GET", server.url + "/api/avatars", Cookie=cookie)
    assert [a["status"] for a in listed["avatars"]] == ["pending", "pending"]
    assert listed["limits"]["bytes"] == CAP

    status, body = await staff_call(server, f"/api/avatars/{sha}/approve", cookie, csrf)
    assert status == 200 and body["status"] == "approved" and body["approved_by"] == "staff:jimu"
    status, data, r = await http("GET", f"{server.url}/avatars/{sha}.vrm")
    assert status == 200 and data == old
    assert r.headers["Content-Type"] == "model/gltf-binary"
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert r.headers["ETag"] == f'"{sha}"'
    status, _, _ = await http("GET", f"{server.url}/avatars/{sha}.vrm",
                              **{"If-None-Match": f'"{sha}"'})
    assert status == 304
    status, body = await staff_call(server, f"/api/avatars/{sha}/approve", cookie, csrf)
    assert (status, body["reason"]) == (409, "wrong_state")
    # the same file for someone else: one file, one binding
    status, body = await upload(server, old, cookie=cookie, csrf=csrf, who="member:佐藤委員")
    assert (status, body["reason"]) == (409, "duplicate"), body

    status, body = await staff_call(server, f"/api/avatars/{sha}/withdraw", cookie, csrf)
    assert status == 200 and body["status"] == "withdrawn"
    status, _, _ = await http("GET", f"{server.url}/avatars/{sha}.vrm")
    assert status == 404
    for bad in ("0" * 64, "../hiroba.sqlite3", sha.upper()):
        status, _, _ = await http("GET", f"{server.url}/avatars/{bad}.vrm")
        assert status == 404, bad

    # audited, each worded by kind (the withdrawal is told apart from an approval)
    entries = await server.app[MEETINGS_KEY].records.audit("")
    kinds = sorted((e.action, dict(e.details)["status"]) for e in entries)
    assert kinds == [("avatar.approve", "approved"), ("avatar.approve", "withdrawn"),
                     ("avatar.upload", "pending"), ("avatar.upload", "pending")]


async def test_hostile_files_are_refused_with_their_limit(server: Server) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    assert set(EXPECTED_LIMIT) == set(HOSTILE_KINDS)
    for kind in HOSTILE_KINDS:
        data = hostile_vrm(kind, size=CAP + 1) if kind == "oversized" else hostile_vrm(kind)
        status, body = await upload(server, data, cookie=cookie, csrf=csrf)
        assert 400 <= status < 500 and body["error"] == "bad_avatar", (kind, status, body)
        assert body["reason"] == "bad_avatar" and body["message"], (kind, body)
        assert body["limit"] in EXPECTED_LIMIT[kind], (kind, body)
        assert status == (413 if kind == "oversized" else 422), (kind, status)
    assert stored(server) == []
    _, listed, _ = await http("GET", server.url + "/api/avatars", Cookie=cookie)
    assert listed["avatars"] == []
    # the server still serves everyone else
    status, body = await upload(server, build_vrm(), cookie=cookie, csrf=csrf)
    assert status == 201, body
    status, health, _ = await http("GET", server.url + "/healthz")
    assert status == 200 and health["status"] == "ok"


async def test_an_oversize_body_is_cut_off_while_it_arrives(server: Server) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    # Declared too large: refused before a byte of the body is read.
    status, body = await upload(server, b"\0" * (CAP + 1), cookie=cookie, csrf=csrf)
    assert (status, body["limit"]) == (413, "size"), body

    # Streamed without a length: refused once it passes the cap, the rest never read.
    total, sent = 64 * 1024 * 1024, 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        chunk = b"glTF" + b"\0" * (64 * 1024 - 4)
        while sent < total:
            sent += len(chunk)
            yield chunk

    started = time.monotonic()
    try:
        status, body = await upload(server, endless(), cookie=cookie, csrf=csrf)
        assert (status, body["limit"]) == (413, "size"), body
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
        pass  # the server closed the connection while the client still wrote: refused too
    # Loopback buffers hold a few MiB more than the server read, never the whole body.
    assert sent < CAP + 16 * 1024 * 1024, f"{sent:,} bytes were sent: the body was read"
    assert time.monotonic() - started < 10
    assert server.app[AVATARS_KEY].refused.get("size") == 2
    assert stored(server) == []
    status, body = await upload(server, build_vrm(), cookie=cookie, csrf=csrf)
    assert status == 201, body


async def test_only_staff_with_the_csrf_token_may_upload_or_approve(server: Server) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    data = build_vrm()
    for who_cookie in ("", "hiroba_session=" + "A" * 43):
        status, body = await upload(server, data, cookie=who_cookie, csrf=csrf)
        assert (status, body["reason"]) == (401, "session_expired"), body
    status, body = await upload(server, data, cookie=cookie, csrf=None)
    assert (status, body["reason"]) == (403, "bad_csrf"), body
    status, body, _ = await http("POST", server.url + "/api/avatars?for=staff:jimu", raw=data,
                                 Cookie=cookie, Origin="https://evil.example",
                                 **{"X-CSRF-Token": csrf})
    assert (status, body["reason"]) == (403, "bad_csrf"), body
    assert stored(server) == []
    status, body = await upload(server, data, cookie=cookie, csrf=csrf, who="staff:nobody")
    assert (status, body["reason"]) == (404, "no_such_item"), body
    for bad in ("citizen:さくら", "member:", "田中委員"):
        status, body = await upload(server, data, cookie=cookie, csrf=csrf, who=bad)
        assert status == 400, (bad, body)

    status, body = await upload(server, data, cookie=cookie, csrf=csrf)
    sha = body["sha256"]
    for headers in ({}, {"Cookie": cookie}):  # no session; a session without the token
        status, body, _ = await http("POST", f"{server.url}/api/avatars/{sha}/approve",
                                     body={}, **headers)
        assert status in (401, 403) and body["reason"] in ("session_expired", "bad_csrf")
    status, _, _ = await http("GET", f"{server.url}/avatars/{sha}.vrm")
    assert status == 404, "still pending"
    status, body, _ = await http("GET", server.url + "/api/avatars")
    assert (status, body["reason"]) == (401, "session_expired")
    status, body, _ = await http("GET", f"{server.url}/api/avatars/{sha}.vrm")
    assert (status, body["reason"]) == (401, "session_expired")

    # more uploads than may be checked at once: refused busy, not queued
    avatars = server.app[AVATARS_KEY]
    avatars.busy = VALIDATIONS_AT_ONCE
    try:
        status, body = await upload(server, build_vrm(title="混雑"), cookie=cookie, csrf=csrf)
        assert (status, body["error"]) == (503, "busy"), body
    finally:
        avatars.busy = 0


async def test_the_licence_decides_whom_a_file_may_be_bound_to(server: Server) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    own = build_vrm(permission="only_author", title="作者本人のみ")
    licensed = build_vrm(version="0", permission="licensed_person", title="許諾者のみ")
    status, body = await upload(server, own, cookie=cookie, csrf=csrf)
    assert (status, body["limit"]) == (403, "licence"), body
    assert body["reason"] == "bad_avatar" and body["error"] == "bad_avatar"
    status, body = await upload(server, licensed, cookie=cookie, csrf=csrf)
    assert (status, body["limit"]) == (403, "licence"), body
    assert stored(server) == []
    status, body = await upload(server, own, cookie=cookie, csrf=csrf, who="staff:jimu")
    assert status == 201 and body["report"]["permission"] == "only_author", body
    status, body = await upload(server, licensed, cookie=cookie, csrf=csrf,
                                licence_confirmed="1")
    assert status == 201 and body["report"]["permission"] == "licensed_person", body


async def _approved(server: Server, data: bytes, who: str, cookie: str, csrf: str) -> str:
    status, body = await upload(server, data, cookie=cookie, csrf=csrf, who=who)
    assert status == 201, body
    status, body = await staff_call(server, f"/api/avatars/{body['sha256']}/approve", cookie,
                                    csrf)
    assert status == 200, body
    return str(body["sha256"])


def _me(ack: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])


async def test_members_and_staff_wear_their_approved_model(
    server: Server, made: list[Client]
) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    first = await _approved(server, build_vrm(title="旧"), "member:田中委員", cookie, csrf)
    member_sha = await _approved(server, build_vrm(version="0", perfect_sync=True),
                                 "member:田中 委員", cookie, csrf)  # another member
    # the latest approved upload of a principal is the one worn
    latest = await _approved(server, build_vrm(title="新"), "member:田中委員", cookie, csrf)
    assert latest != first
    staff_sha = await _approved(server, build_vrm(title="事務局"), "staff:jimu", cookie, csrf)
    assert member_sha not in (first, latest)

    staff = await console(server, made)
    started = await staff.act("recording:start", {"room": COMMITTEE})
    member = Client(server.url)
    await member.connect()
    made.append(member)
    # The invited name is normalised (full-width space → space) as the binding's was.
    ack = await join_invited(server, member, COMMITTEE, Role.MEMBER, "田中\u3000委員")
    assert _me(ack)["vrm"] == member_sha, _me(ack)
    tanaka = Client(server.url)
    await tanaka.connect()
    made.append(tanaka)
    ack = await join_invited(server, tanaka, COMMITTEE, Role.CHAIR, "田中委員")
    assert _me(ack)["vrm"] == latest
    citizen = Client(server.url)
    await citizen.connect()
    made.append(citizen)
    # a citizen calling themselves by the member's name (free in the plaza) wears nothing
    ack = await citizen.join("田中委員", room="plaza")
    assert _me(ack)["vrm"] is None
    jimu = await MeetingClient(server.url, cookie).connect()
    made.append(jimu)
    ack = await jimu.call("join", {"name": "x", "room": "plaza", "lang": "ja", "staff": True})
    assert ack["ok"] and _me(ack)["vrm"] == staff_sha, ack
    # a withdrawn model is no longer worn at the next join (the earlier one is again)
    await staff_call(server, f"/api/avatars/{latest}/withdraw", cookie, csrf)
    again = Client(server.url)
    await again.connect()
    made.append(again)
    ack = await join_invited(server, again, "park-consultation", Role.MEMBER, "田中委員")
    assert _me(ack)["vrm"] == first

    await staff.act("recording:stop", {"room": COMMITTEE})
    folder = Path(server.settings.recordings_path) / started["id"]
    events = (await asyncio.to_thread(read_events, folder / EVENTS)).events
    entered = {e.data["pid_name"]: e.data.get("vrm") for e in events
               if e.kind is EventKind.JOIN and e.data.get("type") == "avatar.entered"}
    assert entered["田中 委員"] == member_sha and entered["田中委員"] == latest, entered
    for kept in list(_consoles.values()):  # the admitting consoles join_invited keeps
        await kept.close()
