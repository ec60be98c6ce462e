"""Security review (docs/security.md): attacks through every entry point against a real
server, with real socket.io clients and plain HTTP.

Role escalation (socket events, join fields, forged and replayed invitations, tampered
and ended staff sessions), session fixation, CSRF on the staff API, path traversal on
static files and recordings, request size limits, per-person and per-address rate limits,
and origin checks on socket.io and ``/motion``. Each test names what it attacks; the
defences are in server/staff/auth.py, server/console/routes.py, server/app.py,
server/http/static_files.py, server/recording/routes.py, server/plaza/api.py and moderation/.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
import socketio

from moderation.invitations import issue_invitation
from moderation.sessions import session_key
from moderation.tokens import INVITATION_TYPE, TOKEN_VERSION, encode, new_token_id
from rooms.model import Role
from server.config.secret import load_or_create_secret
from server.console.routes import MAX_BODY_BYTES, MEETINGS_KEY
from server.meetings.service import SESSION_RECHECK_SECONDS
from server.recording.ids import new_recording_id
from server.staff.auth import COOKIE
from tests.client_build import built_asset
from tests.conftest import Server
from tests.meetings import (
    COMMITTEE,
    CONSULTATION,
    STAFF_PASSWORD,
    MeetingClient,
    add_staff,
    console,
    http,
    invitation,
    login,
    participant,
)
from tests.published import publish, record

ALLOWED = "https://hiroba.city.example"
EVIL = "https://evil.example"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # A configured extra origin (a second public name), and a low flood threshold so that
    # the flood test stays short; the mechanisms are the production ones.
    # The per-account login back-off stays out of the way of the per-address limit tested
    # here (it has its own test in test_outsider_findings.py).
    return replace(settings, allowed_origins=(ALLOWED,), events_per_second=20.0,
                   events_burst=30.0, flood_disconnect_after=40,
                   staff_login_account_failures=1000)


def secret_of(server: Server) -> bytes:
    return load_or_create_secret(server.settings.secret_path)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def join(server: Server, made: list[Any], room: str = COMMITTEE, cookie: str | None = None,
               **payload: Any) -> dict[str, Any]:
    client = await MeetingClient(server.url, cookie).connect()
    made.append(client)
    return await client.call(  # type: ignore[no-any-return]
        "join", {"name": "誰か", "room": room, "lang": "ja", **payload})


# -- role escalation ----------------------------------------------------------------------

#: Events only staff (or a chair, or a captioner) may send, with payloads that are valid in
#: form, so that the refusal is the permission check and not the parser.
PRIVILEGED: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    ("floor:give", lambda pid: {"target": pid, "limit": 30}),
    ("floor:next", lambda pid: {"limit": 30}),
    ("floor:revoke", lambda pid: {"reason": "時間です"}),
    ("floor:extend", lambda pid: {"seconds": 30}),
    ("hand:lower", lambda pid: {"target": pid}),
    ("agenda:add", lambda pid: {"title": "乗っ取り", "planned": 60}),
    ("agenda:advance", lambda pid: {}),
    ("lobby:list", lambda pid: {}),
    ("lobby:admit", lambda pid: {"target": pid}),
    ("reports:list", lambda pid: {}),
    ("sanctions:list", lambda pid: {}),
    ("participants:list", lambda pid: {}),
    ("sanction:mute", lambda pid: {"target": pid}),
    ("sanction:remove", lambda pid: {"target": pid, "reason": "x"}),
    ("sanction:ban", lambda pid: {"target": pid, "duration": 60}),
    ("invite:create", lambda pid: {"role": "chair", "name": "偽委員長"}),
    ("poll:create", lambda pid: {"question": "賛否", "options": ["賛", "否"]}),
    ("caption:post", lambda pid: {"text": "偽の字幕"}),
    ("recording:start", lambda pid: {"room": CONSULTATION}),
    ("recording:stop", lambda pid: {"room": CONSULTATION}),
]


async def test_a_citizen_cannot_use_staff_or_chair_events(server: Server, made: list[Any]) -> None:
    await add_staff(server)
    victim = await participant(server, made, "被害者", room=CONSULTATION)
    hostile = await participant(server, made, "悪意", room=CONSULTATION)
    pid = victim.ack["self"]
    for event, payload in PRIVILEGED:
        ack = await hostile.call(event, payload(pid))
        assert ack["ok"] is False and ack["reason"] == "forbidden", (event, ack)
    # The console's own door needs a staff login, whatever the payload says.
    for body in ({"room": CONSULTATION}, {"room": CONSULTATION, "staff": True}):
        ack = await hostile.call("console:join", body)
        assert ack["ok"] is False and ack["reason"] in ("session_expired", "unknown_field"), ack
    assert (await hostile.call("console:join", {"room": CONSULTATION}))["reason"] == \
        "session_expired"
    # Nothing happened to the victim, and the citizen is still a citizen.
    meeting = server.app[MEETINGS_KEY].meeting(CONSULTATION)
    assert meeting.person(pid).role is Role.CITIZEN
    assert meeting.person(hostile.ack["self"]).role is Role.CITIZEN


async def test_join_fields_cannot_claim_a_role(server: Server, made: list[Any]) -> None:
    for extra, reason in (({"role": "chair"}, "unknown_field"),
                          ({"role": "staff", "staff": True}, "unknown_field"),
                          ({"staff": True}, "session_expired"),
                          ({"staff": "true"}, "bad_field"),
                          ({"staff": 1}, "bad_field"),
                          ({"account": "jimu"}, "unknown_field")):
        ack = await join(server, made, **extra)
        assert ack["ok"] is False and ack["reason"] == reason, (extra, ack)
    # staff: true with a cookie that is no live session: refused as well.
    await add_staff(server)
    for cookie in (f"{COOKIE}=" + "A" * 43, f"{COOKIE}=jimu", f"{COOKIE}=' OR 1=1 --xxxxxxxxxx"):
        ack = await join(server, made, cookie=cookie, staff=True)
        assert ack["reason"] == "session_expired", (cookie, ack)


#: Routes anyone may call. Every other route must refuse a request without a staff
#: session: a route added later is private until it is listed here.
PUBLIC_ROUTES = {
    "/", "/replay", "/console", "/archive", "/healthz", "/readyz", "/api/rooms", "/app/{path}",
    "/favicon.ico",
    "/vendor/{package}/{path}", "/models/face_landmarker.task", "/socket.io/", "/motion",
    "/api/login", "/metrics", "/api/motion/stats",  # the last two: allowlisted addresses
    # The archive: published recordings to anyone, the rest only to staff (404 otherwise).
    "/api/recordings", "/api/recordings/{id}", "/api/recordings/{id}/files/{name}",
    "/api/recordings/{id}/minutes", "/api/recordings/{id}/transcript",
    # The archive search: published recordings to anyone; all=1 only with a staff session.
    "/api/search",
    # What a valid invitation link says (name, role, meeting) before joining; the same
    # 400 bad_token for every bad link (tests/integration/test_invitation_preview.py).
    "/api/invitations/preview",
    # Approved VRM avatars (issue 18): public, immutable; a pending or withdrawn one is
    # not found (tests/integration/test_avatar_uploads.py).
    "/avatars/{id}.vrm",
    # The public gallery (issue 19): its page and WebSocket are for anyone, no name; the
    # caps, the origin rule and the flood limit guard them (test_gallery_plane.py). Its
    # staff routes (/api/rooms/{room}/gallery...) are checked here like every other.
    "/gallery", "/gallery/ws",
}


async def test_every_staff_route_needs_a_staff_session(server: Server) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    rid = await record(server)  # unpublished
    _, made_inv, _ = await http("POST", f"{server.url}/api/rooms/{COMMITTEE}/invitations",
                                body={"role": "member"}, Cookie=cookie,
                                **{"X-CSRF-Token": csrf})
    fill = {"room": COMMITTEE, "file": "chat.csv", "token_id": made_inv["token_id"],
            "id": rid, "name": "recording.json", "path": "src/main.js", "package": "three",
            "n": "1",  # (a minutes version: /api/recordings/{id}/minutes/versions/{n})
            "viewer": "v_none", "pid": "p_none"}  # (gallery promote, demote)
    #: Valid bodies, so that the refusal is the session check and not the parser.
    bodies = {"/api/rooms/{room}/invitations": {"role": "member"},
              "/api/rooms/{room}/registration-code": {"action": "new"}}
    checked = 0
    for route in server.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method not in ("GET", "POST") or path in PUBLIC_ROUTES:
            continue
        url = server.url + path.format(**fill)
        for who in ({}, {"Cookie": f"{COOKIE}=" + "A" * 43}, {"X-CSRF-Token": csrf}):
            status, body, _ = await http(route.method, url, body=bodies.get(path, {}), **who)
            assert (status, body["reason"]) == (401, "session_expired"), (route, who, body)
        checked += 1
    assert checked >= 10
    # The archive's routes: an unpublished recording is not found without a session.
    for tail in ("", "/files/recording.json", "/minutes?format=md", "/transcript"):
        status, _, _ = await http("GET", f"{server.url}/api/recordings/{rid}{tail}")
        assert status == 404, tail
    status, body, _ = await http("GET", server.url + "/api/recordings?all=1")
    assert (status, body["reason"]) == (401, "session_expired")
    status, body, _ = await http("GET", server.url + "/api/search?q=x&all=1")
    assert (status, body["reason"]) == (401, "session_expired")


def _tamper(token: str, **changes: Any) -> str:
    """The token with claims changed and the original signature kept."""
    body, signature = token.split(".")
    claims = json.loads(unb64(body))
    claims.update(changes)
    return b64(json.dumps(claims, separators=(",", ":")).encode()) + "." + signature


async def test_forged_and_modified_invitations_are_refused(server: Server, made: list[Any]) -> None:
    secret = secret_of(server)
    now = time.time()
    member = invitation(server, COMMITTEE, Role.MEMBER, "田中委員")
    body, signature = member.split(".")
    claims = json.loads(unb64(body))
    forged = [
        _tamper(member, role="chair"),  # role raised, signature kept
        _tamper(member, role="staff"),
        _tamper(member, exp=int(now) + 10**6),  # life extended
        _tamper(member, name="山田委員長"),  # name changed
        _tamper(member, room=CONSULTATION),  # moved to another room
        body + ".",  # no signature ("alg: none")
        body + "." + b64(b"\0" * 32),  # a zero signature
        body + "." + signature[:-2],  # a cut signature
        body + "." + signature + "AA",  # a lengthened one
        # Signed with another key (a leaked test key, a guess).
        issue_invitation(b"k" * 64, COMMITTEE, Role.CHAIR, None, now, 600, issued_by="x")[0],
        # Signed with the real key (a stolen secret aside, the server never makes these):
        # a role that is never invited, and a plain role token through the invitation door.
        encode(secret, {**claims, "role": "staff", "jti": new_token_id()}),
        encode(secret, {"v": TOKEN_VERSION, "room": COMMITTEE, "role": "chair", "name": None,
                        "exp": int(now) + 600, "jti": new_token_id()}),
        encode(secret, {**claims, "v": 2, "jti": new_token_id()}),
        encode(secret, {**claims, "typ": "role", "jti": new_token_id()}),
    ]
    for token in forged:
        ack = await join(server, made, token=token)
        assert ack["ok"] is False and ack["reason"] == "bad_token", (token[:40], ack)
    assert claims["typ"] == INVITATION_TYPE
    # The genuine token still works, once.
    assert (await join(server, made, token=member))["ok"]


async def test_an_invitation_replayed_from_another_device_is_refused(server: Server,
                                                                      made: list[Any]) -> None:
    await add_staff(server)
    staff = await console(server, made)
    token = invitation(server, COMMITTEE, Role.CHAIR, "委員長")
    first = await join(server, made, token=token)
    assert first["ok"] and first["place"] == "room"
    device = first["device"]
    # A forwarded link opened on another device (no device token, or its own one).
    other = await join(server, made)
    for ack in (await join(server, made, token=token),
                await join(server, made, token=token, device=other["device"])):
        assert ack["reason"] == "bad_token" and "already been used" in ack["message"], ack
    # The same device (a reload) may come back, as the same chair.
    again = await join(server, made, token=token, device=device)
    assert again["ok"] and again["place"] == "room"
    people = server.app[MEETINGS_KEY].meeting(COMMITTEE).people.values()
    chairs = [p for p in people if p.role is Role.CHAIR]
    assert len({c.device for c in chairs}) == 1
    assert staff.ack["ok"]


async def test_tampered_and_ended_staff_sessions_grant_nothing(server: Server,
                                                                made: list[Any]) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    value = cookie.split("=", 1)[1]
    flipped = value[:-1] + ("A" if value[-1] != "A" else "B")
    # The database holds sha256(session id); a copy of it does not log anyone in.
    stolen_key = session_key(value)
    bad_cookies = [f"{COOKIE}={flipped}", f"{COOKIE}={value[:-1]}", f"{COOKIE}={value}x",
                   f"{COOKIE}={stolen_key}", f"{COOKIE}={value.upper()}",
                   f"other={value}", f"{COOKIE}_x={value}"]
    for bad in bad_cookies:
        status, body, _ = await http("GET", server.url + "/api/session", Cookie=bad)
        assert (status, body["reason"]) == (401, "session_expired"), bad
        status, body, _ = await http(
            "POST", f"{server.url}/api/rooms/{COMMITTEE}/registration-code",
            body={"action": "new"}, Cookie=bad, **{"X-CSRF-Token": csrf})
        assert (status, body["reason"]) == (401, "session_expired"), bad
        ack = await join(server, made, cookie=bad, staff=True)
        assert ack["reason"] == "session_expired", bad
    # The genuine cookie works; a live console holds it, and a second login of the same
    # account holds another; then the first logs out.
    live = MeetingClient(server.url, cookie)
    await live.connect()
    made.append(live)
    await live.act("console:join", {"room": COMMITTEE})
    assert (await live.call("participants:list", {}))["ok"]
    other_cookie, _ = await login(server)
    other = MeetingClient(server.url, other_cookie)
    await other.connect()
    made.append(other)
    await other.act("console:join", {"room": COMMITTEE})
    status, _, _ = await http("POST", server.url + "/api/logout", body={}, Cookie=cookie,
                              **{"X-CSRF-Token": csrf})
    assert status == 200
    status, body, _ = await http("GET", server.url + "/api/session", Cookie=cookie)
    assert (status, body["reason"]) == (401, "session_expired")
    # The console of the ended login is sent away at once (its page reconnects and is told
    # session_expired, below); the other login's console goes on.
    assert await live.ended(within=2)
    assert (await other.call("participants:list", {}))["ok"]
    fresh = MeetingClient(server.url, cookie)
    await fresh.connect()
    made.append(fresh)
    for event, payload in (("console:join", {"room": COMMITTEE}),
                           ("join", {"name": "x", "room": COMMITTEE, "lang": "ja",
                                     "staff": True})):
        assert (await fresh.call(event, payload))["reason"] == "session_expired", event
    # A login ended elsewhere (a staff CLI in another process disabling the account deletes
    # its sessions) is found at the console's next recheck.
    service = server.app[MEETINGS_KEY]
    await service.staff.delete_session(session_key(other_cookie.split("=", 1)[1]))
    real = service.clock
    service.clock = lambda: real() + SESSION_RECHECK_SECONDS + 1
    try:
        ack = await other.call("agenda:add", {"title": "議題", "planned": 60})
        assert ack["reason"] == "session_expired", ack
        assert (await other.call("participants:list", {}))["reason"] == "not_joined"
    finally:
        service.clock = real


# -- session fixation and CSRF -------------------------------------------------------------

async def test_session_fixation_a_planted_cookie_is_never_the_session(server: Server) -> None:
    await add_staff(server)
    planted = "F" * 43  # what an attacker set in the victim's browser before login
    status, body, r = await http("POST", server.url + "/api/login",
                                 body={"account": "jimu", "password": STAFF_PASSWORD},
                                 Cookie=f"{COOKIE}={planted}")
    assert status == 200
    issued = r.cookies[COOKIE].value
    assert issued != planted and len(issued) >= 43
    status, body2, _ = await http("GET", server.url + "/api/session",
                                  Cookie=f"{COOKIE}={planted}")
    assert (status, body2["reason"]) == (401, "session_expired"), "the planted id is no one's"
    # Every login is a new session with its own CSRF token: a token from another session
    # (the attacker's own login) does not pass with the victim's cookie.
    cookie2, csrf2 = await login(server)
    assert cookie2 != f"{COOKIE}={issued}" and csrf2 != body["csrf"]
    status, body3, _ = await http(
        "POST", f"{server.url}/api/rooms/{COMMITTEE}/registration-code",
        body={"action": "new"}, Cookie=f"{COOKIE}={issued}", **{"X-CSRF-Token": csrf2})
    assert (status, body3["reason"]) == (403, "bad_csrf")
    # Logging out ends that session only, for good; logging in again gives a new one.
    status, _, r = await http("POST", server.url + "/api/logout", body={},
                              Cookie=f"{COOKIE}={issued}", **{"X-CSRF-Token": body["csrf"]})
    assert status == 200 and r.cookies[COOKIE].value == ""
    assert (await http("GET", server.url + "/api/session", Cookie=f"{COOKIE}={issued}"))[0] == 401
    assert (await http("GET", server.url + "/api/session", Cookie=cookie2))[0] == 200
    cookie3, _ = await login(server)
    assert cookie3 not in (cookie2, f"{COOKIE}={issued}")


async def test_csrf_every_state_changing_staff_call(server: Server) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    rid = await record(server)
    _, made_inv, _ = await http("POST", f"{server.url}/api/rooms/{COMMITTEE}/invitations",
                                body={"role": "member"}, Cookie=cookie,
                                **{"X-CSRF-Token": csrf})
    calls = [
        (f"/api/rooms/{COMMITTEE}/invitations", {"role": "chair"}),
        (f"/api/invitations/{made_inv['token_id']}/revoke", {}),
        (f"/api/rooms/{COMMITTEE}/registration-code", {"action": "new"}),
        (f"/api/recordings/{rid}/publish", {}),
        (f"/api/recordings/{rid}/unpublish", {}),
        (f"/api/recordings/{rid}/transcript/run", {}),
        ("/api/logout", {}),
    ]
    attacks: list[dict[str, str]] = [
        {"Cookie": cookie},  # no token: a plain cross-site form or fetch
        {"Cookie": cookie, "X-CSRF-Token": ""},
        {"Cookie": cookie, "X-CSRF-Token": "0" * 64},
        {"Cookie": cookie, "X-CSRF-Token": csrf[:-1]},
        {"Cookie": cookie, "X-CSRF-Token": csrf.upper()},
        # The right token from a foreign page (it could only have stolen it), and from an
        # opaque origin (a sandboxed frame, a data: URL).
        {"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": EVIL},
        {"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": "null"},
        {"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": server.url + ".evil.example"},
        {"Cookie": cookie, "X-CSRF-Token": csrf, "Origin": server.url.replace("http:", "https:")},
    ]
    for path, body in calls:
        for headers in attacks:
            status, answer, _ = await http("POST", server.url + path, body=body, **headers)
            assert (status, answer["reason"]) == (403, "bad_csrf"), (path, headers)
    # A form post (text/plain, the one kind a page may send cross-site without asking)
    # is not JSON: refused before anything is read as a request.
    status, answer, _ = await http("POST", f"{server.url}/api/rooms/{COMMITTEE}/invitations",
                                   raw=b'{"role":"chair"}', Cookie=cookie,
                                   **{"Content-Type": "text/plain"})
    assert status in (400, 403) and answer["ok"] is False
    # Nothing changed: no new invitation, no code, the recording still private, still in.
    service = server.app[MEETINGS_KEY]
    assert len(await service.staff.invitations(COMMITTEE)) == 1
    assert service.redeemed.get(made_inv["token_id"]) is None
    assert service.meeting(COMMITTEE).rules.registration_code is None
    assert (await http("GET", f"{server.url}/api/recordings/{rid}"))[0] == 404
    assert (await http("GET", server.url + "/api/session", Cookie=cookie))[0] == 200
    # The same calls from the console's own origin, or the configured one, go through.
    for origin in (server.url, ALLOWED):
        status, answer, _ = await http("POST", f"{server.url}/api/rooms/{COMMITTEE}/invitations",
                                       body={"role": "observer"}, Cookie=cookie, Origin=origin,
                                       **{"X-CSRF-Token": csrf})
        assert status == 200 and answer["ok"], (origin, answer)


async def test_login_itself_refuses_foreign_origins(server: Server) -> None:
    """Login CSRF: a foreign page must not log the victim in under the attacker's account."""
    await add_staff(server)
    for origin in (EVIL, "null"):
        status, body, r = await http("POST", server.url + "/api/login",
                                     body={"account": "jimu", "password": STAFF_PASSWORD},
                                     Origin=origin)
        assert (status, body["reason"]) == (403, "bad_csrf") and COOKIE not in r.cookies


# -- path traversal -----------------------------------------------------------------------

TRAVERSALS = [
    "../pyproject.toml", "%2e%2e/pyproject.toml", "%2E%2E/pyproject.toml", "..%2fpyproject.toml",
    "..%2Fpyproject.toml", "%2e%2e%2fpyproject.toml", ".%2e/pyproject.toml",
    "src/../../pyproject.toml", "src/%2e%2e/%2e%2e/pyproject.toml", "..%5cpyproject.toml",
    "src\\..\\..\\pyproject.toml", "src%5c..%5c..%5cpyproject.toml", "%2fetc%2fpasswd",
    "/etc/passwd", "//etc/passwd", "%252e%252e/pyproject.toml", "..%c0%afpyproject.toml",
    "..%u2216pyproject.toml", "src/main.js%00.png", "src/main.js%00", "%00../pyproject.toml",
    "src/./main.js", "src//main.js", ".git/config", "%2egit/config", "../.git/config",
    "../data/secret.key", "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "node_modules/three/package.json", "../server/app.py", "C:%5cwindows%5cwin.ini",
    "file:///etc/passwd",
]


async def test_static_files_refuse_traversal(server: Server) -> None:
    secret = secret_of(server)
    private = [b"[project]", b"root:x:0:0", b"def create_app", b"[core]", secret]
    for base in ("/app/", "/vendor/three/", "/vendor/three/build/", "/vendor/@mediapipe/",
                 "/models/"):
        for path in TRAVERSALS:
            status, body, _ = await http("GET", server.url + base + path, encoded=True)
            assert status in (400, 404), (base, path, status)
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            assert not any(p in raw for p in private), (base, path)
    # What may be served still is.
    script = built_asset(server.settings.client_dir, "index-*.js")
    status, body, _ = await http("GET", server.url + script)
    assert status == 200 and b"import" in body


async def test_recordings_refuse_traversal_for_the_public_and_for_staff(server: Server) -> None:
    await add_staff(server)
    cookie, _ = await login(server)
    rid = await record(server)
    await publish(server, rid)
    secret = secret_of(server)
    for who in ({}, {"Cookie": cookie}):
        for name in [*TRAVERSALS, "../../secret.key", "..%2f..%2fsecret.key",
                     "../../hiroba.sqlite3", "audio/..%2f..%2f..%2fsecret.key",
                     "audio%5c01.opus", "audio/01.opus%00.txt"]:
            status, body, _ = await http("GET", f"{server.url}/api/recordings/{rid}/files/{name}",
                                         encoded=True, **who)
            assert status in (400, 404), (name, who)
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            assert secret not in raw and b"SQLite format" not in raw, name
        for rec in ("..", "%2e%2e", "..%2f..%2fdata", f"{rid}%00", "%2fetc", "..%5c..",
                    f"..%2f{rid}", new_recording_id().lower()):
            for tail in ("", "/files/recording.json", "/minutes?format=md", "/transcript"):
                status, _, _ = await http("GET", f"{server.url}/api/recordings/{rec}{tail}",
                                          encoded=True, **who)
                assert status in (400, 404), (rec, tail, who)


# -- request size limits --------------------------------------------------------------------

async def test_http_bodies_over_the_limit_are_refused_with_413(server: Server) -> None:
    await add_staff(server)
    cookie, csrf = await login(server)
    big = {"account": "jimu", "password": "x" * (MAX_BODY_BYTES * 2)}
    status, body, _ = await http("POST", server.url + "/api/login", body=big)
    assert (status, body["reason"]) == (413, "too_long") and body["message"]

    # Declared in Content-Length, and streamed without one (chunked): both are cut off.
    async def chunks() -> Any:
        for _ in range(200):
            yield b"x" * 1024

    for raw in (b"{" + b" " * (1024 * 1024) + b"}", chunks()):
        async with aiohttp.ClientSession() as session, session.post(
            f"{server.url}/api/rooms/{COMMITTEE}/invitations", data=raw,
            headers={"Cookie": cookie, "X-CSRF-Token": csrf,
                     "Content-Type": "application/json"}) as r:
            answer = await r.json()
            assert (r.status, answer["reason"]) == (413, "too_long"), answer
    # Headers have limits of their own (aiohttp: 8 KiB per field).
    status, _, _ = await http("GET", server.url + "/api/session",
                              Cookie=f"{COOKIE}=" + "x" * 20_000)
    assert status in (400, 431)
    # The server still answers.
    assert (await http("GET", server.url + "/api/session", Cookie=cookie))[0] == 200


async def test_socket_messages_over_the_limit(server: Server, made: list[Any]) -> None:
    calm = await participant(server, made, "落ち着いた人", room=CONSULTATION)
    talker = await participant(server, made, "長文", room=CONSULTATION)
    # Over the chat limit but under the socket limit: a reason code, the socket stays.
    for text in ("あ" * 501, "a" * 2001, "<b>" * 600):
        ack = await talker.call("chat:send", {"text": text})
        assert (ack["ok"], ack["reason"]) == (False, "too_long"), text[:10]
    assert (await talker.call("chat:send", {"text": "短い"}))["ok"]
    # Over max_message_bytes: no answer, the socket is closed (engine.io refuses the
    # packet), and the others are still served (the end of this test).
    await talker.sio.emit("chat:send", {"text": "x" * (server.settings.max_message_bytes + 10)})
    assert await talker.ended(within=5), "the socket of an oversized message is closed"
    # The HTTP long-polling transport has the same limit, answered at once (python-engineio
    # alone would hold such a request until the client polls again: for ever).
    async with aiohttp.ClientSession() as session:
        url = server.url + "/socket.io/?EIO=4&transport=polling"
        async with session.get(url) as r:
            sid = json.loads((await r.text())[1:])["sid"]
        payload = "42" + json.dumps(["chat:send", {"text": "x" * (
            server.settings.max_message_bytes * 2)}])
        async with asyncio.timeout(3), session.post(f"{url}&sid={sid}", data=payload) as r:
            assert (r.status, (await r.json())["reason"]) == (413, "too_long")
        # A chunked body (no Content-Length), which engine.io would silently drop, large or
        # small: refused with a reason instead of "ok".
        for size in (10, server.settings.max_message_bytes * 3):
            async def chunks(n: int = size) -> Any:
                body = ("42" + json.dumps(["chat:send", {"text": "x" * n}])).encode()
                for i in range(0, len(body), 4096):
                    yield body[i:i + 4096]
            async with aiohttp.ClientSession() as fresh:
                async with fresh.get(url) as r:
                    sid = json.loads((await r.text())[1:])["sid"]
                async with asyncio.timeout(3), fresh.post(f"{url}&sid={sid}",
                                                          data=chunks()) as r:
                    assert (r.status, (await r.json())["reason"]) == (411, "bad_payload"), size
    assert (await calm.call("chat:send", {"text": "まだいます"}))["ok"]


# -- rate limits ---------------------------------------------------------------------------

async def test_event_flood_is_limited_then_disconnected_others_unaffected(
    server: Server, made: list[Any]
) -> None:
    calm = await participant(server, made, "落ち着いた人", room=CONSULTATION)
    flood = await participant(server, made, "連打", room=CONSULTATION)
    replies = await asyncio.gather(*(flood.sio.call("hand:lower", {}, timeout=5)
                                     for _ in range(60)), return_exceptions=True)
    acks = [r for r in replies if isinstance(r, dict)]
    assert sum(1 for a in acks if a.get("reason") == "rate_limited") >= 4, acks
    # It keeps flooding: the socket is closed.
    for _ in range(200):
        if not flood.sio.connected:
            break
        await flood.sio.emit("hand:lower", {})
        await asyncio.sleep(0.002)
    assert await flood.ended(within=2), "a client that keeps flooding is disconnected"
    # Someone else in the same room meanwhile: unaffected, and sees the room go on.
    assert calm.sio.connected
    ack = await calm.call("chat:send", {"text": "平常どおり"})
    assert ack["ok"], ack
    await calm.expect("meeting:event", lambda e: e.get("type") == "chat.posted")


async def test_meeting_limits_follow_the_person_not_the_socket(server: Server,
                                                                made: list[Any]) -> None:
    """A per-person limit (chat) is kept by device: reconnecting does not reset it."""
    chatty = await participant(server, made, "おしゃべり", room=CONSULTATION)
    replies = [await chatty.call("chat:send", {"text": f"{i}回目"}) for i in range(12)]
    assert any(r.get("reason") == "rate_limited" for r in replies)
    await chatty.close()
    again = await participant(server, made, "おしゃべり", room=CONSULTATION,
                              device=chatty.ack["device"])
    assert (await again.call("chat:send", {"text": "また"}))["reason"] == "rate_limited"
    other = await participant(server, made, "別人", room=CONSULTATION)
    assert (await other.call("chat:send", {"text": "こんにちは"}))["ok"]


async def test_login_attempts_are_limited_per_client_address(server: Server) -> None:
    await add_staff(server)
    wrong = {"account": "jimu", "password": "guess number 1"}
    attempts = int(server.settings.staff_login_attempts_per_minute)
    statuses = [(await http("POST", server.url + "/api/login", body=wrong))[0]
                for _ in range(attempts + 2)]
    assert statuses[:attempts] == [401] * attempts and statuses[attempts:] == [429, 429]
    # Even the right password waits now, from this address...
    status, body, _ = await http("POST", server.url + "/api/login",
                                 body={"account": "jimu", "password": STAFF_PASSWORD})
    assert (status, body["reason"]) == (429, "rate_limited")
    # ...while another address (127.0.0.2 is loopback too) logs in at once.
    status, body, _ = await http(
        "POST", server.url + "/api/login",
        body={"account": "jimu", "password": STAFF_PASSWORD},
        connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0)))
    assert status == 200 and body["ok"], body


# -- origin checks -------------------------------------------------------------------------

async def test_socketio_handshake_origins(server: Server) -> None:
    own = server.url
    base = server.url + "/socket.io/?EIO=4&transport="
    async with aiohttp.ClientSession() as session:
        for origin, allowed in ((own, True), (ALLOWED, True), (None, True), (EVIL, False),
                                ("null", False), (own + ".evil.example", False),
                                (own.replace("http:", "https:"), False),
                                ("http://localhost:" + own.rsplit(":", 1)[1], False),
                                (ALLOWED + ":8443", False), (ALLOWED.upper(), False)):
            headers = {} if origin is None else {"Origin": origin}
            async with session.get(base + "polling", headers=headers) as r:
                assert (r.status == 200) is allowed, (origin, r.status)
            if allowed:
                async with session.ws_connect(base + "websocket", headers=headers) as ws:
                    assert (await ws.receive()).data.startswith("0{"), origin
            else:
                async with session.get(base + "websocket", headers=headers) as r:
                    assert r.status == 400, origin
    # A real client: refused from a foreign origin, accepted from the own one.
    foreign = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await foreign.connect(server.url, transports=["websocket"], headers={"Origin": EVIL},
                              wait_timeout=3)
    good = socketio.AsyncClient(reconnection=False)
    await good.connect(server.url, transports=["websocket"], headers={"Origin": server.url},
                       wait_timeout=3)
    assert good.connected
    await good.disconnect()


async def test_reverse_proxy_origin_needs_to_be_configured(server: Server) -> None:
    """Behind a proxy that terminates TLS the browser's origin is https://public-name while
    Hiroba sees plain HTTP: only a configured ``allowed_origins`` lets it in (docs)."""
    url = server.url + "/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as session:
        for host, origin, status in (("hiroba.city.example", ALLOWED, 200),
                                     ("other.city.example", "https://other.city.example", 400),
                                     ("other.city.example", "http://other.city.example", 200)):
            async with session.get(url, headers={"Host": host, "Origin": origin}) as r:
                assert r.status == status, (host, origin)


async def test_motion_websocket_origins(server: Server, made: list[Any]) -> None:
    walker = await participant(server, made, "歩く人", room=CONSULTATION)
    token = walker.ack["motion"]["token"]
    url = server.url + "/motion"
    async with aiohttp.ClientSession() as session:
        for origin in (EVIL, "null", server.url + ".evil.example"):
            async with session.ws_connect(url, headers={"Origin": origin}) as ws:
                await ws.send_str(token)
                msg = await ws.receive()
                assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 4403, origin
        # Own and configured origins get as far as the token check: a junk token is 4401,
        # the real one is accepted.
        for origin in (server.url, ALLOWED):
            async with session.ws_connect(url, headers={"Origin": origin}) as ws:
                await ws.send_str("junk")
                msg = await ws.receive()
                assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 4401, origin
        async with session.ws_connect(url, headers={"Origin": server.url}) as ws:
            await ws.send_str(token)
            assert (await ws.receive()).data == "ok"
