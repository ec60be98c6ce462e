"""HTTP API of staff: login and sessions, the console page, exports, the audit log,
invitations and registration codes. JSON in and out; errors carry reason codes.

Every call but login needs a staff session (cookie, ``401 session_expired`` otherwise)
and asks the permission policy for its action (``authorize_account``), appending the
audit entry when the action is audited. Calls that change state also need the CSRF token
header and a same-origin ``Origin`` (``403 bad_csrf``); see :mod:`server.staff.auth`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from aiohttp import web

from moderation import audit
from moderation.captions import CaptionModeChanged
from moderation.credentials import device_ref, is_device_token, new_registration_code
from moderation.events import DomainEvent, plain
from moderation.invitations import REVOKED, issue_invitation, redeem, revoke
from moderation.limits import CATEGORY_MAX, clean_text
from moderation.meeting import authorize_account
from moderation.policy import Action
from moderation.quorum import QuorumRule
from moderation.roster import ORGANISER_MAX, CategoriesChanged, Schedule
from moderation.sessions import ABSOLUTE_SECONDS
from moderation.tokens import MAX_TOKEN_LENGTH
from rooms.errors import HirobaError, PermissionDenied, ProcedureError, Reason, ValidationError
from rooms.model import Role
from server.common.networks import limit_key
from server.http.routes import HUB_KEY, serve_page
from server.meetings import exports
from server.meetings.service import MeetingService
from server.staff.auth import COOKIE, CSRF_HEADER, StaffIdentity
from server.staff.store import invitation_write

MEETINGS_KEY = web.AppKey("meetings", MeetingService)
#: Largest JSON body a staff call accepts.
MAX_BODY_BYTES = 8 * 1024
_INVITABLE = ("member", "chair", "observer", "captioner")


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def own_origin(request: web.Request) -> str:
    return f"{'https' if request.secure else 'http'}://{request.host}"


def check_origin(request: web.Request) -> None:
    """A browser's cross-site POST carries a foreign ``Origin``: refuse it."""
    origin = request.headers.get("Origin")
    allowed = request.app[MEETINGS_KEY].settings.allowed_origins
    if origin is not None and origin != own_origin(request) and origin not in allowed:
        raise PermissionDenied(Reason.BAD_CSRF, "this call must come from Hiroba's own pages")


async def read_json(request: web.Request, limit: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The request's JSON object body, at most ``limit`` bytes."""
    if request.content_type != "application/json":
        raise ValidationError(Reason.BAD_PAYLOAD, "send application/json")
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(raw))
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError) as exc:  # (nested deeper than json can read)
        raise ValidationError(Reason.BAD_PAYLOAD, "the body is not JSON") from exc
    if not isinstance(data, dict):
        raise ValidationError(Reason.BAD_PAYLOAD, "the body must be a JSON object")
    return data


def _fields(data: dict[str, Any], required: set[str], optional: set[str]) -> None:
    for key in data:
        if key not in required | optional:
            raise ValidationError(Reason.UNKNOWN_FIELD, f"unknown field: {str(key)[:40]}")
    for key in sorted(required - set(data)):
        raise ValidationError(Reason.MISSING_FIELD, f"missing field: {key}")


async def staff(
    request: web.Request, action: Action, *, room: str = "", change: bool = False,
    details: dict[str, object] | None = None,
) -> tuple[StaffIdentity, list[DomainEvent]]:
    """The staff identity of ``request`` if the policy lets it do ``action``, and the
    audit entry to store (when audited). ``change``: a state-changing call (CSRF)."""
    service = request.app[MEETINGS_KEY]
    if change:
        check_origin(request)
    now = service.clock()
    identity = await service.auth.identify(request.headers.get("Cookie"), now)
    if change:
        service.auth.check_csrf(identity, request.headers.get(CSRF_HEADER))
    if service.sanctions.is_banned(None, identity.name, now):
        raise PermissionDenied(Reason.BANNED, "this account is banned")
    entries = authorize_account(identity.name, identity.display_name, Role.STAFF, action, now,
                                room=room, details=details)
    return identity, entries


def _room(request: web.Request) -> str:
    room = request.match_info["room"]
    request.app[MEETINGS_KEY].meeting(room)  # no_such_room
    return room


# -- pages and sessions -----------------------------------------------------------------

async def console_page(request: web.Request) -> web.StreamResponse:
    return await serve_page(request, "console.html")


def _session_body(service: MeetingService, identity: StaffIdentity) -> dict[str, object]:
    return {"ok": True, "account": identity.name, "display_name": identity.display_name,
            # "signer": a signing account (会議録署名); the console shows it the minutes
            # naming it and nothing else (every staff call refuses it).
            "kind": identity.account.kind,
            "csrf": service.auth.csrf_token(identity.session.key),
            "expires_at": identity.session.expires_at,
            # The console shows every time in the city's zone, not the browser's.
            "time_zone": service.settings.time_zone}


async def login(request: web.Request) -> web.Response:
    check_origin(request)
    data = await read_json(request)
    _fields(data, {"account", "password"}, set())
    service = request.app[MEETINGS_KEY]
    session_id, identity = await service.auth.login(
        data["account"], data["password"], service.clock(),
        client=limit_key(request.remote or "?", service.settings.ipv6_limit_prefix))
    response = _json(_session_body(service, identity))
    response.set_cookie(COOKIE, session_id, max_age=ABSOLUTE_SECONDS, path="/", httponly=True,
                        samesite="Strict", secure=request.secure or service.settings.tls)
    return response


async def logout(request: web.Request) -> web.Response:
    check_origin(request)
    service = request.app[MEETINGS_KEY]
    identity = await service.auth.identify(request.headers.get("Cookie"), service.clock(),
                                           signer_ok=True)
    service.auth.check_csrf(identity, request.headers.get(CSRF_HEADER))
    await service.auth.logout(identity)
    await service.end_staff_session(identity.session.key)
    response = _json({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def session_info(request: web.Request) -> web.Response:
    service = request.app[MEETINGS_KEY]
    identity = await service.auth.identify(request.headers.get("Cookie"), service.clock(),
                                           signer_ok=True)
    return _json(_session_body(service, identity))


# -- exports and the audit log ----------------------------------------------------------

async def export(request: web.Request) -> web.Response:
    """``GET /api/rooms/{room}/export/{what}.{csv|json}``."""
    room = _room(request)
    what, _, fmt = request.match_info["file"].rpartition(".")
    if what not in exports.KINDS or fmt not in ("csv", "json"):
        raise HirobaError(Reason.NOT_FOUND, f"exports are {', '.join(exports.KINDS)} as csv "
                          "or json")
    action = Action.POLL_EXPORT if what == "polls" else Action.DATA_EXPORT
    _, entries = await staff(request, action, room=room,
                             details={"what": what, "format": fmt})
    service = request.app[MEETINGS_KEY]
    table = await exports.build(what, service.meeting(room), service.records,
                                tz=service.settings.zone)
    await service.commit(room, entries)
    headers = {"Content-Disposition": exports.content_disposition(room, what, fmt),
               "Cache-Control": "no-store"}
    if fmt == "csv":
        return web.Response(text=table.to_csv(), content_type="text/csv", charset="utf-8",
                            headers=headers)
    return web.Response(text=table.to_json(room, what, service.clock()),
                        content_type="application/json", charset="utf-8", headers=headers)


async def audit_view(request: web.Request) -> web.Response:
    """``GET /api/rooms/{room}/audit?limit=N``: the latest entries (``audit.view``)."""
    room = _room(request)
    try:
        limit = max(1, min(1000, int(request.query.get("limit", "200"))))
    except ValueError as exc:
        raise ValidationError(Reason.BAD_FIELD, "limit must be a number") from exc
    await staff(request, Action.AUDIT_VIEW, room=room)
    service = request.app[MEETINGS_KEY]
    entries = await service.records.audit(room, limit=limit)
    zone = service.settings.zone
    return _json({"ok": True, "entries": [audit.to_json(e, zone) for e in entries]})


# -- invitations and registration codes -------------------------------------------------

async def list_invitations(request: web.Request) -> web.Response:
    room = _room(request)
    await staff(request, Action.INVITE, room=room)  # asked, not done: nothing to audit
    service = request.app[MEETINGS_KEY]
    now = service.clock()
    return _json({"ok": True, "invitations": [
        {"token_id": s.invitation.token_id, "role": s.invitation.role, "name": s.invitation.name,
         "expires_at": s.invitation.expires_at, "issued_by": s.invitation.issued_by,
         "issued_at": s.invitation.issued_at, "redeemed_at": s.redeemed_at,
         "revoked": s.revoked, "expired": s.invitation.expires_at <= now}
        for s in await service.staff.invitations(room)]})


async def create_invitation(request: web.Request) -> web.Response:
    room = _room(request)
    data = await read_json(request)
    _fields(data, {"role"}, {"name", "ttl"})
    role, name, ttl = data["role"], data.get("name"), data.get("ttl", 7 * 24 * 3600)
    if role not in _INVITABLE:
        raise ValidationError(Reason.BAD_FIELD, f"role must be one of {', '.join(_INVITABLE)}")
    if name is not None and not isinstance(name, str):
        raise ValidationError(Reason.BAD_FIELD, "name must be a string")
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise ValidationError(Reason.BAD_FIELD, "ttl must be whole seconds")
    identity, entries = await staff(request, Action.INVITE, room=room, change=True,
                                    details={"role": role, "name": name or ""})
    service = request.app[MEETINGS_KEY]
    token, invitation = issue_invitation(service.secret, room, Role(role), name or None,
                                         service.clock(), ttl, issued_by=identity.name)
    await service.commit(room, entries, extra_writes=[invitation_write(invitation)])
    await service.committee_roster_changed(room)
    return _json({"ok": True, "token": token, "token_id": invitation.token_id,
                  "expires_at": invitation.expires_at, "name": invitation.name,
                  "role": invitation.role})


async def revoke_invitation(request: web.Request) -> web.Response:
    service = request.app[MEETINGS_KEY]
    token_id = request.match_info["token_id"]
    invitation = await service.staff.invitation(token_id[:64])
    if invitation is None:
        raise ProcedureError(Reason.NO_SUCH_ITEM, "no such invitation")
    _, entries = await staff(request, Action.INVITE, room=invitation.room, change=True,
                             details={"revoked": token_id})
    owner = service.redeemed.get(token_id)
    if owner is not None:
        raise ProcedureError(Reason.WRONG_STATE, "this invitation was already "
                             + ("revoked" if owner == REVOKED else "used"))
    record = revoke(invitation, service.clock())
    service.redeemed[token_id] = REVOKED
    await service.commit(invitation.room, entries, extra_writes=[(
        "INSERT OR IGNORE INTO redemptions (token_id, room_id, device, at) VALUES (?, ?, ?, ?)",
        (record.token_id, record.room, record.device, record.at))])
    await service.committee_roster_changed(invitation.room)
    return _json({"ok": True})


#: Header carrying this browser's device identity to :func:`preview_invitation` (a device
#: that already redeemed an invitation may preview it again; others may not).
DEVICE_HEADER = "X-Hiroba-Device"


async def preview_invitation(request: web.Request) -> web.Response:
    """``GET /api/invitations/preview?room=&token=``: what an invitation link grants, for
    the join page to say "you are invited as <name> (<role>)" before joining.

    No session: the link is all its holder has. Reveals only what the token itself
    carries (name and role) plus the meeting's title, and only for a token that would be
    accepted on joining now (signed, unexpired, for this room, not revoked, not used by
    another device); anything else is one ``400 bad_token``. Counted against the per-address
    login attempt limit (``429 rate_limited``), so it is no oracle to hammer.
    """
    service = request.app[MEETINGS_KEY]
    now = service.clock()
    client = limit_key(request.remote or "?", service.settings.ipv6_limit_prefix)
    if not service.auth.attempts.allow(f"invitation-preview:{client}", now):
        raise HirobaError(Reason.RATE_LIMITED, "too many invitation checks; wait a minute")
    room, token = request.query.get("room", ""), request.query.get("token", "")
    if not room or not token or len(room) > 64 or len(token) > MAX_TOKEN_LENGTH:
        raise HirobaError(Reason.BAD_TOKEN, "not a valid invitation")
    device = request.headers.get(DEVICE_HEADER)
    ref = device_ref(device) if is_device_token(device) else None
    try:
        service.meeting(room)
        grant = redeem(service.secret, token, room, service.redeemed, ref or "", now)
    except HirobaError as exc:  # one answer for every way a link can be wrong
        raise HirobaError(Reason.BAD_TOKEN, "not a valid invitation") from exc
    info = request.app[HUB_KEY].rooms[room].info
    return _json({"ok": True, "room": room, "role": grant.role.value, "name": grant.name,
                  "title": {"ja": info.name_ja, "en": info.name_en},
                  "expires_at": grant.expires_at})


async def get_code(request: web.Request) -> web.Response:
    room = _room(request)
    await staff(request, Action.INVITE, room=room)  # asked, not done: nothing to audit
    meeting = request.app[MEETINGS_KEY].meeting(room)
    return _json({"ok": True, "code": meeting.rules.registration_code})


async def set_code(request: web.Request) -> web.Response:
    """``{"action": "new"}`` requires a fresh registration code; ``"clear"``, none."""
    room = _room(request)
    data = await read_json(request)
    _fields(data, {"action"}, set())
    if data["action"] not in ("new", "clear"):
        raise ValidationError(Reason.BAD_FIELD, "action must be new or clear")
    identity, entries = await staff(request, Action.INVITE, room=room, change=True,
                                    details={"registration_code": data["action"]})
    service = request.app[MEETINGS_KEY]
    meeting = service.meeting(room)
    code = new_registration_code() if data["action"] == "new" else None
    await service.staff.set_registration_code(room, code, identity.name, service.clock())
    meeting.rules = replace(meeting.rules, registration_code=code)
    await service.commit(room, entries)
    return _json({"ok": True, "code": code})


# -- room settings: opinion categories and the lobby ------------------------------------

#: Languages a category label may be given in (the UI's languages).
LABEL_LANGS = ("ja", "en", "zh", "ko")
MAX_CATEGORIES = 20
#: The fields of a room's schedule: who holds its event, and when (UTC seconds).
SCHEDULE_FIELDS = frozenset({"organiser", "starts_at", "ends_at"})
#: Automatic captions (issue 17): the switch and the language they are recognised in.
CAPTION_FIELDS = frozenset({"auto_captions", "caption_lang"})


def _categories(raw: object) -> list[dict[str, object]]:
    """``[{"value", "label": {lang: text}}]`` checked: values distinct and short, labels
    only in the UI's languages."""
    if not isinstance(raw, list) or len(raw) > MAX_CATEGORIES:
        raise ValidationError(Reason.BAD_FIELD,
                              f"categories must be a list of at most {MAX_CATEGORIES}")
    out: list[dict[str, object]] = []
    for entry in raw:
        if not isinstance(entry, dict) or set(entry) - {"value", "label"}:
            raise ValidationError(Reason.BAD_FIELD, "a category is {value, label}")
        value = clean_text(entry.get("value"), CATEGORY_MAX, "category")
        labels = entry.get("label", {})
        if not isinstance(labels, dict) or set(labels) - set(LABEL_LANGS):
            raise ValidationError(Reason.BAD_FIELD,
                                  f"labels are by language: {', '.join(LABEL_LANGS)}")
        label = {lang: clean_text(text, CATEGORY_MAX, f"label.{lang}")
                 for lang, text in labels.items() if text}
        if any(c["value"] == value for c in out):
            raise ValidationError(Reason.DUPLICATE, f"category {value!r} twice")
        out.append({"value": value, "label": label})
    return out


def _schedule(data: dict[str, Any], now: Schedule) -> Schedule:
    """The schedule ``data`` asks for (fields left out stay as they are), checked."""
    organiser = data.get("organiser", now.organiser)
    if organiser is None or organiser == "":
        organiser = ""
    else:
        organiser = clean_text(organiser, ORGANISER_MAX, "organiser")
    times: list[int | None] = []
    for name in ("starts_at", "ends_at"):
        at = data.get(name, getattr(now, name))
        # bool is an int to Python: true is no time
        if at is not None and (not isinstance(at, int | float) or isinstance(at, bool)
                               or at != at or at in (float("inf"), float("-inf"))):
            raise ValidationError(Reason.BAD_FIELD, f"{name} must be Unix seconds or null")
        times.append(None if at is None else int(at))
    schedule = Schedule(organiser, times[0], times[1])
    problem = schedule.problem()
    if problem is not None:
        raise ValidationError(Reason.BAD_FIELD, problem)
    return schedule


async def _settings_body(service: MeetingService, room: str) -> dict[str, object]:
    meeting = service.meeting(room)
    plan = meeting.rules.schedule
    return {"ok": True, "categories": await service.records.category_entries(room),
            "lobby": meeting.rules.lobby, "lobby_on": meeting.has_lobby,
            "organiser": plan.organiser, "starts_at": plan.starts_at, "ends_at": plan.ends_at,
            "time_zone": service.settings.time_zone,
            "committee": plain(meeting.rules.quorum),
            "auto_captions": meeting.rules.auto_captions,
            "caption_lang": meeting.rules.caption_lang}


async def get_settings(request: web.Request) -> web.Response:
    """``GET /api/rooms/{room}/settings``: categories with labels, the lobby switch."""
    room = _room(request)
    await staff(request, Action.ROOM_SETTINGS, room=room)  # asked, not done: nothing to audit
    return _json(await _settings_body(request.app[MEETINGS_KEY], room))


async def set_settings(request: web.Request) -> web.Response:
    """``POST /api/rooms/{room}/settings`` ``{"categories"?, "lobby"?, "organiser"?,
    "starts_at"?, "ends_at"?, "auto_captions"?, "caption_lang"?}``: staff set a room's
    opinion categories (labels per language), whether entering waits in the lobby
    (``null``: by the room's kind), who holds its event and when (UTC seconds; ``null``
    clears), and whether the floor holder and the chair are captioned automatically, in
    which language (issue 17). Takes effect at once (people in the room get the new
    categories and caption mode) and is kept across restarts."""
    room = _room(request)
    # The session first: a body's faults are nobody's business without one. (Checked
    # again below with the audit details, once the body says what changes.)
    await staff(request, Action.ROOM_SETTINGS, room=room, change=True)
    data = await read_json(request)
    _fields(data, set(), {"categories", "lobby", "committee", *SCHEDULE_FIELDS,
                          *CAPTION_FIELDS})
    if not data:
        raise ValidationError(Reason.MISSING_FIELD,
                              "send categories, lobby, the schedule or the captions")
    service = request.app[MEETINGS_KEY]
    meeting = service.meeting(room)
    categories = (_categories(data["categories"]) if "categories" in data
                  else await service.records.category_entries(room))
    lobby = data.get("lobby", meeting.rules.lobby)
    if lobby is not None and not isinstance(lobby, bool):
        raise ValidationError(Reason.BAD_FIELD, "lobby must be true, false or null")
    scheduled = not SCHEDULE_FIELDS.isdisjoint(data)
    schedule = _schedule(data, meeting.rules.schedule) if scheduled else meeting.rules.schedule
    # The committee's quorum rule (定足数): {fraction, strict, chair_counts, seats}.
    quorum = (QuorumRule.parse(data["committee"]) if "committee" in data
              else meeting.rules.quorum)
    auto_captions = data.get("auto_captions", meeting.rules.auto_captions)
    if not isinstance(auto_captions, bool):
        raise ValidationError(Reason.BAD_FIELD, "auto_captions must be true or false")
    caption_lang = data.get("caption_lang", meeting.rules.caption_lang)
    if caption_lang not in LABEL_LANGS:
        raise ValidationError(Reason.BAD_FIELD,
                              f"caption_lang must be one of {', '.join(LABEL_LANGS)}")
    captions_changed = not CAPTION_FIELDS.isdisjoint(data)
    details: dict[str, object] = {}
    if captions_changed:
        details.update(auto_captions="on" if auto_captions else "off",
                       caption_lang=caption_lang)
    if "committee" in data:
        details["committee"] = json.dumps(plain(quorum))
    if "categories" in data:
        details["categories"] = ", ".join(str(c["value"]) for c in categories)
    if "lobby" in data:
        details["lobby"] = "default" if lobby is None else "on" if lobby else "off"
    if scheduled:
        details.update(organiser=schedule.organiser, starts_at=schedule.starts_at,
                       ends_at=schedule.ends_at)
    _, entries = await staff(request, Action.ROOM_SETTINGS, room=room, change=True,
                             details=details)
    await service.records.set_rules(room, categories, lobby)
    if scheduled:
        await service.records.set_schedule(room, schedule)
    if "committee" in data:
        await service.records.set_committee_rule(room, quorum)
    if captions_changed:
        await service.records.set_caption_settings(room, auto_captions, caption_lang)
    values = tuple(str(c["value"]) for c in categories)
    labels = service.records.labels_of(categories)
    meeting.rules = replace(meeting.rules, categories=values, lobby=lobby,
                            category_labels=labels, schedule=schedule, quorum=quorum,
                            auto_captions=auto_captions, caption_lang=caption_lang)
    meeting.opinions.categories = values
    happened: list[DomainEvent] = [*entries]
    if "committee" in data:  # the quorum is counted by the new rule at once
        happened += meeting.committee.set_rule(quorum, service.clock())
    if "categories" in data:  # the opinion form of everyone in the room follows at once
        happened.append(CategoriesChanged(room, service.clock(), values, labels))
    if captions_changed:  # every page labels its captions (自動字幕) at once
        happened.append(CaptionModeChanged(room, service.clock(), auto_captions, caption_lang))
    await service.commit(room, happened)
    return _json(await _settings_body(service, room))


def add_staff_routes(app: web.Application) -> None:
    app.router.add_get("/console", console_page)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/session", session_info)
    app.router.add_get("/api/rooms/{room}/export/{file}", export)
    app.router.add_get("/api/rooms/{room}/audit", audit_view)
    app.router.add_get("/api/rooms/{room}/invitations", list_invitations)
    app.router.add_post("/api/rooms/{room}/invitations", create_invitation)
    app.router.add_get("/api/invitations/preview", preview_invitation)
    app.router.add_post("/api/invitations/{token_id}/revoke", revoke_invitation)
    app.router.add_get("/api/rooms/{room}/registration-code", get_code)
    app.router.add_post("/api/rooms/{room}/registration-code", set_code)
    app.router.add_get("/api/rooms/{room}/settings", get_settings)
    app.router.add_post("/api/rooms/{room}/settings", set_settings)

