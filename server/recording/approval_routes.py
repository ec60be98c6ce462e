"""HTTP API of minutes approval (会議録署名, issue 16; docs/recording.md "Minutes approval",
docs/protocol.md). Staff save versions of a recording's minutes, name the signers and
publish an approved version; signing accounts read the drafts naming them and approve or
decline the requested version. Nothing else: every other console call refuses a signing
account (:meth:`server.staff.auth.StaffAuth.identify_key`).

Who may do what is asked of the policy on every request: staff act in its ``staff``
column; a signing account acts in the column of the role it is named as on that draft
(chair or member) with the condition "named on it". A signing account asking about a
recording whose draft does not name it gets the same ``404 not_found`` as an unknown id.
Each save, request, approval, decline and publication is an audit-log entry. Diffs and the
generated Markdown are computed in an executor.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from moderation import audit, policy
from moderation import minutes_approval as rules
from moderation.events import DomainEvent
from moderation.minutes_approval import Approval
from moderation.policy import Action, Context
from rooms.errors import HirobaError, PermissionDenied, Reason, ValidationError
from rooms.model import Role
from server.console.routes import check_origin, read_json
from server.meetings.service import MeetingService
from server.recording.approval import MinutesApprovals
from server.recording.ids import recording_dir
from server.recording.index import RecordingIndex, RecordingRow
from server.recording.minutes import build_minutes, render_markdown
from server.recording.minutes_cache import MinutesCache
from server.recording.recorder import RecordingState
from server.staff.auth import CSRF_HEADER, StaffIdentity
from server.transcription.segments import Segment
from server.transcription.store import TranscriptStore

T = TypeVar("T")
#: A save's body: the text (JSON may spell each character as a 6-byte escape) and a note.
MAX_SAVE_BODY = 6 * rules.MAX_TEXT_BYTES // 3 + 16 * 1024
_PRIVATE = {"Cache-Control": "private, no-store"}
_UNKNOWN = "no such recording"


def _json(body: object, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers=_PRIVATE,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _fields(data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise ValidationError(Reason.UNKNOWN_FIELD, f"unknown field: {str(key)[:40]}")


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(Reason.BAD_FIELD, f"{what} is a version number")
    return value


class MinutesApprovalHttp:
    """The ``/api/recordings/{id}/minutes/...`` approval routes and ``/api/minutes/drafts``."""

    def __init__(self, index: RecordingIndex, meetings: MeetingService,
                 minutes_cache: MinutesCache) -> None:
        self.index = index
        self.meetings = meetings
        self.approvals = MinutesApprovals(index.store)
        self.minutes_cache = minutes_cache
        #: Called with the recording id after an approved version is published.
        self.on_publish: list[Callable[[str], None]] = []
        #: The recordings' transcripts: a generated draft holds the current (corrected)
        #: words in its 発言 section.
        self.transcripts: TranscriptStore | None = None

    def add_routes(self, app: web.Application) -> None:
        base = "/api/recordings/{id}/minutes"
        app.router.add_get("/api/minutes/drafts", self.drafts)
        app.router.add_get(f"{base}/versions", self.versions)
        app.router.add_post(f"{base}/versions", self.save)
        app.router.add_get(base + "/versions/{n:[0-9]{1,6}}", self.version)
        app.router.add_get(f"{base}/diff", self.diff)
        app.router.add_post(f"{base}/signers", self.request_approval)
        app.router.add_post(f"{base}/approve", self.approve)
        app.router.add_post(f"{base}/decline", self.decline)
        app.router.add_post(f"{base}/publish", self.publish)

    # -- who is asking --------------------------------------------------------------------

    async def _who(self, request: web.Request, *, change: bool) -> StaffIdentity:
        """The console account of ``request`` (staff or signing); ``change``: CSRF too."""
        if change:
            check_origin(request)
        auth, now = self.meetings.auth, self.meetings.clock()
        identity = await auth.identify(request.headers.get("Cookie"), now, signer_ok=True)
        if change:
            auth.check_csrf(identity, request.headers.get(CSRF_HEADER))
        if self.meetings.sanctions.is_banned(None, identity.name, now):
            raise PermissionDenied(Reason.BANNED, "this account is banned")
        return identity

    async def _row(self, request: web.Request) -> RecordingRow:
        try:
            return await self.index.get(request.match_info["id"])
        except HirobaError as exc:
            raise HirobaError(Reason.NOT_FOUND, _UNKNOWN) from exc

    async def _readable(self, request: web.Request) -> tuple[StaffIdentity, RecordingRow,
                                                                Approval]:
        """For reading: staff (``recording.view``), or a signing account named on the
        draft; anyone else gets ``not_found``, as for an unknown id."""
        identity = await self._who(request, change=False)
        row = await self._row(request)
        state = await self.approvals.state(row.id)
        if identity.is_signer:
            if not rules.may_read(state, identity.name):
                raise HirobaError(Reason.NOT_FOUND, _UNKNOWN)
        else:
            policy.require(Role.STAFF, Action.RECORDING_VIEW)
        return identity, row, state

    async def _staff(self, request: web.Request, action: Action) -> tuple[StaffIdentity,
                                                                          RecordingRow]:
        identity = await self._who(request, change=True)
        if identity.is_signer:
            raise PermissionDenied(Reason.FORBIDDEN, f"a signing account may not {action}")
        policy.require(Role.STAFF, action)
        return identity, await self._row(request)

    async def _audit(self, identity: StaffIdentity, role: Role, action: Action,
                     row: RecordingRow, details: dict[str, object], reason: str = "") -> None:
        entries: list[DomainEvent] = [audit.entry(
            row.room_id, self.meetings.clock(), actor=identity.name,
            actor_name=identity.display_name, actor_role=role, action=action, reason=reason,
            details={"recording": row.id, **details})]
        await self.meetings.commit(row.room_id, entries)

    async def _off_loop(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def _body(self, row: RecordingRow, state: Approval, versions: list[Any]) -> dict[str, Any]:
        return {"recording": row.id, "room": row.room_id, "title": row.title,
                "started": row.started, "approval": state.to_json(),
                "versions": [v.to_json() for v in versions]}

    # -- reading ------------------------------------------------------------------------

    async def drafts(self, request: web.Request) -> web.Response:
        """``GET /api/minutes/drafts``: a signing account's drafts naming it; staff: every
        recording with a saved version."""
        identity = await self._who(request, change=False)
        if identity.is_signer:
            found = await self.approvals.naming(identity.name)
        else:
            policy.require(Role.STAFF, Action.RECORDING_VIEW)
            found = [(rec, await self.approvals.state(rec))
                     for rec in await self.approvals.drafted()]
        out = []
        for rec, state in found:
            try:
                row = await self.index.get(rec)
            except HirobaError:
                continue  # its folder is gone: nothing to sign
            out.append({"recording": rec, "title": row.title, "room": row.room_id,
                        "started": row.started, "approval": state.to_json()})
        return _json({"account": identity.name, "kind": identity.account.kind,
                      "drafts": out})

    async def versions(self, request: web.Request) -> web.Response:
        """``GET .../minutes/versions``: every version (without texts) and the approval."""
        _, row, state = await self._readable(request)
        return _json(self._body(row, state, await self.approvals.versions(row.id)))

    async def version(self, request: web.Request) -> web.Response:
        """``GET .../minutes/versions/{n}``: one version's text."""
        _, row, _ = await self._readable(request)
        found = await self.approvals.version(row.id, int(request.match_info["n"]))
        if found is None:
            raise HirobaError(Reason.NOT_FOUND, "no such version")
        return _json({"recording": row.id, "number": found.number, "text": found.text,
                      "by": found.by, "at": found.at, "note": found.note})

    async def diff(self, request: web.Request) -> web.Response:
        """``GET .../minutes/diff?from=A&to=B``: the unified diff from version A to B."""
        _, row, _ = await self._readable(request)
        try:
            a, b = int(request.query["from"]), int(request.query["to"])
        except (KeyError, ValueError) as exc:
            raise ValidationError(Reason.BAD_FIELD, "from and to are version numbers") from exc
        va = await self.approvals.version(row.id, a)
        vb = await self.approvals.version(row.id, b)
        if va is None or vb is None:
            raise HirobaError(Reason.NOT_FOUND, "no such version")
        text = await self._off_loop(rules.unified_diff, va, vb)
        return _json({"recording": row.id, "from": a, "to": b, "diff": text})

    # -- staff ----------------------------------------------------------------------------

    async def save(self, request: web.Request) -> web.Response:
        """``POST .../minutes/versions {text?, note?}``: staff save the next version; no
        text: the generated public minutes (Markdown, Japanese) of a stopped recording."""
        identity, row = await self._staff(request, Action.MINUTES_DRAFT)
        data = await read_json(request, MAX_SAVE_BODY)
        _fields(data, {"text", "note"})
        text = data.get("text")
        if text is None:
            if row.state is RecordingState.RECORDING:
                raise HirobaError(Reason.WRONG_STATE, "stop the recording before drafting "
                                  "its minutes")
            segments = (None if self.transcripts is None
                        else await self.transcripts.segments(row.id) or None)
            text = await self._off_loop(self._generated, row, segments)
        version, state = await self.approvals.save(
            row.id, text, data.get("note"), identity.name, self.meetings.clock())
        await self._audit(identity, Role.STAFF, Action.MINUTES_DRAFT, row,
                          {"version": version.number, "note": version.note,
                           "generated": "text" not in data})
        return _json({"ok": True, "version": version.number, "approval": state.to_json()},
                     status=201)

    def _generated(self, row: RecordingRow, segments: list[Segment] | None) -> str:
        folder = recording_dir(self.index.root, row.id)
        m = build_minutes(folder, row, include_moderation=False, tz=self.meetings.settings.zone,
                          transcript=segments)
        return render_markdown(m, lang="ja")

    async def request_approval(self, request: web.Request) -> web.Response:
        """``POST .../minutes/signers {version, signers: [{account, role}]}``: staff mark
        the latest version for approval by a chair and signing members (signing accounts
        that exist and are enabled)."""
        identity, row = await self._staff(request, Action.MINUTES_DRAFT)
        data = await read_json(request)
        _fields(data, {"version", "signers"})
        version = _int(data.get("version"), "version")
        signers = rules.parse_signers(data.get("signers"))
        for s in signers:
            account = await self.meetings.auth.store.account(s.account)
            if account is None or account.disabled or account.kind != "signer":
                raise ValidationError(Reason.BAD_FIELD,
                                      f"{s.account!r} is not an enabled signing account")
        now = self.meetings.clock()
        state = await self.approvals.change(row.id, lambda st, latest: rules.request(
            st, latest, version, signers, identity.name, now))
        await self._audit(identity, Role.STAFF, Action.MINUTES_DRAFT, row, {
            "version": version, "signers": ", ".join(
                f"{s.account} ({s.role.value})" for s in signers)})
        return _json({"ok": True, "approval": state.to_json()})

    async def publish(self, request: web.Request) -> web.Response:
        """``POST .../minutes/publish {version}``: staff publish an approved version
        (``409 not_approved`` otherwise); the archive then serves its text."""
        identity, row = await self._staff(request, Action.MINUTES_PUBLISH)
        data = await read_json(request)
        _fields(data, {"version"})
        version = _int(data.get("version"), "version")
        now = self.meetings.clock()
        state = await self.approvals.change(
            row.id, lambda st, _latest: rules.publish(st, version, identity.name, now))
        self.minutes_cache.drop(row.id)
        await self._audit(identity, Role.STAFF, Action.MINUTES_PUBLISH, row,
                          {"version": version})
        for hook in self.on_publish:
            hook(row.id)
        return _json({"ok": True, "approval": state.to_json()})

    # -- signers --------------------------------------------------------------------------

    async def approve(self, request: web.Request) -> web.Response:
        """``POST .../minutes/approve {version}``: a named signer approves that version."""
        return await self._decide(request, True)

    async def decline(self, request: web.Request) -> web.Response:
        """``POST .../minutes/decline {version, reason}``: a named signer declines it."""
        return await self._decide(request, False)

    async def _decide(self, request: web.Request, approved: bool) -> web.Response:
        identity = await self._who(request, change=True)
        row = await self._row(request)
        state = await self.approvals.state(row.id)
        signer = state.signer(identity.name) if identity.is_signer else None
        # Staff act in the staff column (no right); a signing account in the column of
        # the role it is named as, and only when named.
        role = Role.STAFF if not identity.is_signer else (
            signer.role if signer else Role.MEMBER)
        policy.require(role, Action.MINUTES_APPROVE, Context(named_signer=signer is not None))
        data = await read_json(request)
        _fields(data, {"version", "reason"} if not approved else {"version"})
        version = _int(data.get("version"), "version")
        now = self.meetings.clock()
        state = await self.approvals.change(row.id, lambda st, _latest: rules.decide(
            st, identity.name, version, approved, data.get("reason"), now))
        decision = state.decisions[identity.name]
        await self._audit(identity, role, Action.MINUTES_APPROVE, row,
                          {"version": version, "approved": approved,
                           "all_approved": state.approved}, reason=decision.reason)
        return _json({"ok": True, "approval": state.to_json()})


def add_approval_routes(app: web.Application, index: RecordingIndex, meetings: MeetingService,
                        minutes_cache: MinutesCache) -> MinutesApprovalHttp:
    """Register the minutes-approval API on ``app``."""
    api = MinutesApprovalHttp(index, meetings, minutes_cache)
    api.add_routes(app)
    return api
