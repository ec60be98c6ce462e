"""Accessibility checks by axe-core (npm, web_client/node_modules), a tool this project does
not write: the page is judged against WCAG 2.1 A and AA as axe reads it in a real Chromium,
and against axe's best practices (landmarks, list roles), which screen-reader users
navigate by.

``check(page, where)`` fails on every violation of impact "serious" or "critical", and on a
"moderate" one unless tests/e2e/axe_known_moderate.json lists its rule for that page with a
reason; "minor" findings are printed, not failed. The script is injected as an inline
``<script>``, which the pages' Content-Security-Policy forbids: the pages checked are opened
in a context with ``bypass_csp=True`` (``CONTEXT``), the one thing that differs from a
citizen's browser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Page

from tests.conftest import ROOT

AXE_JS = ROOT / "web_client" / "node_modules" / "axe-core" / "axe.min.js"
KNOWN_MODERATE = Path(__file__).with_name("axe_known_moderate.json")
#: WCAG 2.0 and 2.1, levels A and AA: what a public body's web pages are held to; and
#: axe's best practices (content inside landmarks, one main), issue 15's replay findings.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = ("critical", "serious")
#: Browser-context options of a page to be checked: axe arrives as an inline script.
CONTEXT: dict[str, Any] = {"bypass_csp": True}


@dataclass(frozen=True)
class Violation:
    """One axe rule broken on one page, with the elements that break it."""

    rule: str
    impact: str
    help: str
    targets: list[str]
    html: list[str]

    def __str__(self) -> str:
        shown = "; ".join(f"{t} -> {h[:160]}" for t, h in
                          zip(self.targets[:4], self.html[:4], strict=True))
        more = f" (+{len(self.targets) - 4} more)" if len(self.targets) > 4 else ""
        return f"[{self.impact}] {self.rule}: {self.help}: {shown}{more}"


def known_moderate() -> set[tuple[str, str]]:
    """(rule id, page) pairs of moderate violations accepted for now, each with its reason."""
    data = json.loads(KNOWN_MODERATE.read_text(encoding="utf-8"))
    pairs: set[tuple[str, str]] = set()
    for entry in data["known"]:
        if not entry.get("why"):
            raise ValueError(f"{KNOWN_MODERATE.name}: {entry} says no why")
        pairs.add((entry["rule"], entry["page"]))
    return pairs


async def audit(page: Page) -> list[Violation]:
    """Every WCAG 2.1 A/AA or best-practice violation axe finds on the page as it is now."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE_JS))
    result: list[dict[str, Any]] = await page.evaluate(
        """async (tags) => {
             const r = await window.axe.run(document, {
               runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
             return r.violations.map(v => ({
               rule: v.id, impact: v.impact || 'minor', help: v.help,
               targets: v.nodes.map(n => n.target.join(' ')),
               html: v.nodes.map(n => n.html)}));
           }""", TAGS)
    return [Violation(**v) for v in result]


async def check(page: Page, where: str) -> list[Violation]:
    """Fail (AssertionError naming rule, impact and elements) on what ``where`` may not
    have; return the minor findings, which are reported rather than failed."""
    found = await audit(page)
    allowed = known_moderate()
    failing = [v for v in found if v.impact in FAILING
               or (v.impact == "moderate" and (v.rule, where) not in allowed)]
    assert not failing, f"axe on {where}:\n" + "\n".join(map(str, failing))
    minor = [v for v in found if v.impact == "minor"]
    for v in minor:
        print(f"axe on {where} (minor, not failed): {v}")
    return minor
