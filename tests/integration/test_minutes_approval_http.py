"""Minutes approval (会議録署名) over real HTTP against a real server: staff save versions
and diff them, name the signers; signing accounts approve a specific version with their
own logins; a new version resets the approvals; only an approved version is published
(409 not_approved otherwise) and the archive then serves its text; signers not named,
staff, forged sessions are refused; a signing account has no staff right; every step is
in the audit log."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from moderation.accounts import SIGNER_KIND, new_account
from server.console.routes import MEETINGS_KEY
from server.staff.passwords import STAFF_HASHER
from tests.cli_here import run_here
from tests.conftest import Server
from tests.meetings import COMMITTEE, STAFF_PASSWORD, add_staff, login
from tests.published import publish, record

Answer = tuple[int, Any]


async def add_signer(server: Server, name: str, display: str) -> None:
    await server.app[MEETINGS_KEY].staff.add_account(
        new_account(name, STAFF_PASSWORD, time.time(), display_name=display,
                    hasher=STAFF_HASHER, kind=SIGNER_KIND))


class Console:
    """One console login (staff or signing account) speaking HTTP."""

    def __init__(self, server: Server, cookie: str = "", csrf: str = "") -> None:
        self.server, self.cookie, self.csrf = server, cookie, csrf

    @classmethod
    async def of(cls, server: Server, name: str) -> Console:
        return cls(server, *await login(server, name))

    def _headers(self) -> dict[str, str]:
        return {"Cookie": self.cookie, "X-CSRF-Token": self.csrf} if self.cookie else {}

    async def get(self, path: str) -> Answer:
        async with aiohttp.ClientSession() as http, http.get(
            self.server.url + path, headers=self._headers()) as r:
            body = await r.json() if r.content_type == "application/json" else await r.text()
            return r.status, body

    async def post(self, path: str, body: dict[str, Any]) -> Answer:
        async with aiohttp.ClientSession() as http, http.post(
            self.server.url + path, json=body, headers=self._headers()) as r:
            return r.status, await r.json()


def refused(answer: Answer, status: int, reason: str) -> None:
    assert (answer[0], answer[1]["reason"]) == (status, reason), answer


async def test_draft_versions_diff_sign_reset_publish_and_archive(server: Server) -> None:
    await add_staff(server)
    await add_signer(server, "iincho", "山田委員長")
    await add_signer(server, "shomei", "佐藤委員")
    await add_signer(server, "tanin", "他の委員")
    rid = await record(server)
    await publish(server, rid)  # the recording is in the archive; its minutes are generated
    base = f"/api/recordings/{rid}/minutes"
    jimu = await Console.of(server, "jimu")
    chair = await Console.of(server, "iincho")
    member = await Console.of(server, "shomei")
    other = await Console.of(server, "tanin")

    # Version 1: the generated Markdown; version 2: corrected by the secretariat.
    status, v1 = await jimu.post(f"{base}/versions", {"note": "自動生成"})
    assert status == 201 and v1["version"] == 1
    status, text1 = await jimu.get(f"{base}/versions/1")
    assert status == 200 and "第3回DX推進委員会" in text1["text"] and text1["by"] == "jimu"
    corrected = text1["text"] + "\n（発言者名の誤りを訂正した。）\n"
    status, v2 = await jimu.post(f"{base}/versions", {"text": corrected, "note": "誤字訂正"})
    assert status == 201 and v2["version"] == 2
    status, diff = await jimu.get(f"{base}/diff?from=1&to=2")
    assert status == 200 and diff["diff"].startswith("--- v1\n+++ v2\n")
    assert "+（発言者名の誤りを訂正した。）" in diff["diff"]

    # Staff name the signers of the latest version; only signing accounts can be named.
    refused(await jimu.post(f"{base}/signers", {"version": 2, "signers": [
        {"account": "jimu", "role": "chair"}]}), 400, "bad_field")
    refused(await jimu.post(f"{base}/signers", {"version": 1, "signers": [
        {"account": "iincho", "role": "chair"}]}), 409, "wrong_state")
    signers = [{"account": "iincho", "role": "chair"}, {"account": "shomei", "role": "member"}]
    status, _ = await jimu.post(f"{base}/signers", {"version": 2, "signers": signers})
    assert status == 200

    # A signer not named sees nothing (as for an unknown id) and cannot approve.
    refused(await other.get(f"{base}/versions"), 404, "not_found")
    refused(await other.get(f"{base}/diff?from=1&to=2"), 404, "not_found")
    refused(await other.post(f"{base}/approve", {"version": 2}), 403, "forbidden")
    status, listed = await other.get("/api/minutes/drafts")
    assert status == 200 and listed["drafts"] == []
    # Staff do not sign; a forged session is no one.
    refused(await jimu.post(f"{base}/approve", {"version": 2}), 403, "forbidden")
    forged = Console(server, "hiroba_session=" + "x" * 43, "0" * 64)
    refused(await forged.post(f"{base}/approve", {"version": 2}), 401, "session_expired")
    refused(await forged.get(f"{base}/versions"), 401, "session_expired")

    # The named member sees the draft and approves version 2.
    status, listed = await member.get("/api/minutes/drafts")
    assert status == 200 and [d["recording"] for d in listed["drafts"]] == [rid]
    status, seen = await member.get(f"{base}/versions")
    assert status == 200 and [v["number"] for v in seen["versions"]] == [1, 2]
    refused(await member.post(f"{base}/approve", {"version": 1}), 409, "wrong_state")
    status, ok = await member.post(f"{base}/approve", {"version": 2})
    assert status == 200 and ok["approval"]["decisions"]["shomei"]["approved"] is True
    refused(await jimu.post(f"{base}/publish", {"version": 2}), 409, "not_approved")

    # A new version resets the approvals: the request moves to version 3.
    final = corrected.replace("訂正した", "訂正しました")
    status, v3 = await jimu.post(f"{base}/versions", {"text": final, "note": "表現"})
    assert status == 201 and v3["approval"]["version"] == 3
    assert v3["approval"]["decisions"] == {} and v3["approval"]["approved"] is False
    refused(await member.post(f"{base}/approve", {"version": 2}), 409, "wrong_state")
    refused(await jimu.post(f"{base}/publish", {"version": 3}), 409, "not_approved")

    # A decline needs a reason; then the chair and the member approve version 3.
    refused(await chair.post(f"{base}/decline", {"version": 3}), 400, "bad_field")
    status, _ = await chair.post(f"{base}/decline", {"version": 3, "reason": "表現を確認中"})
    assert status == 200
    status, _ = await member.post(f"{base}/approve", {"version": 3})
    assert status == 200
    refused(await jimu.post(f"{base}/publish", {"version": 3}), 409, "not_approved")
    status, done = await chair.post(f"{base}/approve", {"version": 3})
    assert status == 200 and done["approval"]["approved"] is True
    # Signers do not publish; staff do, only the approved version.
    refused(await chair.post(f"{base}/publish", {"version": 3}), 403, "forbidden")
    refused(await jimu.post(f"{base}/publish", {"version": 2}), 409, "not_approved")
    status, published = await jimu.post(f"{base}/publish", {"version": 3})
    assert status == 200 and published["approval"]["published"] == 3

    # The archive serves the approved text, as Markdown and HTML, and says "draft" nowhere.
    public = Console(server)
    status, md = await public.get(f"{base}?format=md")
    assert status == 200 and md == final
    status, page = await public.get(f"{base}?format=html")
    assert status == 200 and "訂正しました" in page
    for shown in (md, page):
        assert "未承認" not in shown and "draft" not in shown.lower()
    # The drafts stay with staff and the signers named.
    refused(await public.get(f"{base}/versions"), 401, "session_expired")
    # So does `hiroba minutes --approved` (reading the database the server writes).
    data = str(server.settings.data_dir)
    loop = asyncio.get_running_loop()
    cli = await loop.run_in_executor(None, lambda: run_here(
        "minutes", rid, "--approved", "--data-dir", data))
    assert (cli.returncode, cli.stdout) == (0, final), cli.stderr
    other_rid = await record(server, "別の会議")
    cli = await loop.run_in_executor(None, lambda: run_here(
        "minutes", other_rid, "--approved", "--data-dir", data))
    assert cli.returncode != 0 and "no approved minutes" in cli.stderr

    # Every draft, request, decision and publication is in the audit log.
    status, log = await jimu.get(f"/api/rooms/{COMMITTEE}/audit?limit=50")
    assert status == 200
    actions = [(e["action"], e["actor"]) for e in log["entries"]
               if e["action"].startswith("minutes.")]
    for expected in [("minutes.draft", "jimu")] * 4 + [("minutes.approve", "shomei")] * 2 + [
            ("minutes.approve", "iincho")] * 2 + [("minutes.publish", "jimu")]:
        assert expected in actions
        actions.remove(expected)
    assert actions == []
    decline = next(e for e in log["entries"] if e["action"] == "minutes.approve"
                   and e["reason"] == "表現を確認中")
    assert decline["actor_role"] == "chair"


async def test_a_signing_account_has_no_staff_right(server: Server) -> None:
    # Made from the shell, as an operator does, while the server runs.
    added = await asyncio.get_running_loop().run_in_executor(None, lambda: run_here(
        "staff", "add", "shomei", "--role", "signer", "--password-stdin",
        "--data-dir", str(server.settings.data_dir), stdin=STAFF_PASSWORD + "\n"))
    assert added.returncode == 0 and "signing account" in added.stdout, added.stderr
    rid = await record(server)
    member = await Console.of(server, "shomei")
    status, session = await member.get("/api/session")
    assert status == 200 and session["kind"] == "signer"
    for path in ("/api/recordings?all=1", f"/api/rooms/{COMMITTEE}/audit",
                 f"/api/rooms/{COMMITTEE}/invitations", f"/api/recordings/{rid}/minutes/versions"):
        status, body = await member.get(path)
        assert status in (403, 404) and body["reason"] in ("forbidden", "not_found"), path
    refused(await member.post(f"/api/recordings/{rid}/minutes/versions", {"text": "x"}),
            403, "forbidden")
    refused(await member.post(f"/api/recordings/{rid}/publish", {}), 403, "forbidden")
    # Nor the unpublished recording itself.
    status, _ = await member.get(f"/api/recordings/{rid}")
    assert status == 404
