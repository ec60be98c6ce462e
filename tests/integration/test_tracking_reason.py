"""Why a participant's face is not tracked the best way (issue 20): the page reports a
reason with its ``tracking`` mode; the server takes only the enumerated codes, keeps it in
the participant record and announces it (staff read it in the console)."""

from __future__ import annotations

import json
import re
from typing import Any

from rooms.model import TrackingReason
from tests.conftest import ROOT


def _reason_of(pid: str, mode: str, reason: str) -> Any:
    def check(delta: dict[str, Any]) -> bool:
        joined = any(
            p["id"] == pid and (p["tracking"], p["tracking_reason"]) == (mode, reason)
            for p in delta["joined"]
        )
        return joined or [pid, mode, reason] in delta.get("tracking", [])

    return check


async def test_reasons_are_kept_announced_and_bad_ones_refused(server, clients) -> None:
    a, b = await clients(), await clients()
    pid = (await a.join("理由"))["self"]
    await b.join("見る人")
    assert (await a.call("tracking", {"mode": "voice", "reason": "unsupported"}))["ok"]
    await b.wait_for(_reason_of(pid, "voice", "unsupported"))
    # Free text, wrong types and unknown codes never reach staff: refused with a code.
    for bad in ("<b>slow</b>", "UNSUPPORTED", 3, ["slow"], {"x": 1}, True):
        ack = await a.call("tracking", {"mode": "voice", "reason": bad})
        assert (ack["ok"], ack["reason"]) == (False, "bad_field"), (bad, ack)
        assert "reason must be one of" in ack["message"], ack
    ack = await a.call("tracking", {"mode": "voice", "why": "slow"})
    assert (ack["ok"], ack["reason"]) == (False, "unknown_field"), ack
    # The refused calls changed nothing: a newcomer sees the last good reason.
    c = await clients()
    snap = (await c.join("後から"))["snapshot"]
    me = next(p for p in snap["participants"] if p["id"] == pid)
    assert (me["tracking"], me["tracking_reason"]) == ("voice", "unsupported")
    # A report without a reason clears it; `null` is no reason too.
    assert (await a.call("tracking", {"mode": "voice", "reason": None}))["ok"]
    await b.wait_for(lambda d: [pid, "voice"] in d.get("tracking", []))


def test_the_page_knows_the_same_reason_codes() -> None:
    source = (ROOT / "web_client/src/state/trackingMode.js").read_text()
    match = re.search(r"export const REASONS = Object\.freeze\((\[[^\]]*\])\)", source)
    assert match, "REASONS not found in trackingMode.js"
    page = json.loads(match.group(1).replace("'", '"'))
    assert sorted(page) == sorted(r.value for r in TrackingReason)
    # and every one has words for the person and for staff, in every language
    for lang in ("ja", "en", "zh", "ko"):
        catalogue = json.loads((ROOT / f"web_client/i18n/{lang}.json").read_text())
        missing = [r for r in page if f"face.reason.{r}" not in catalogue]
        assert not missing, (lang, missing)
