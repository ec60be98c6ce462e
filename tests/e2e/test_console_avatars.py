"""The console's VRM avatars panel in Chromium (issue 18): a secretary uploads a member's
VRM file with the keyboard, reads the server's report (licence in words, perfect sync,
colours), sees a hostile file refused with the limit it broke in the console's language,
approves the good one, and the page fetches it from the public URL. A screenshot of the
panel is kept in test-artifacts/."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from avatar.vrm_build import build_vrm, hostile_vrm
from tests.e2e.conftest import shot
from tests.e2e.test_console_ux import CATALOGUES, console_in

JA = CATALOGUES["ja"]


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    # The console's sources as they are, as the other console tests run it.
    return replace(settings, client_dev=True)


async def test_upload_refusal_and_approval_in_the_console(
    server: Any, browser: Browser, tmp_path: Path
) -> None:
    good, bad = tmp_path / "tanaka.vrm", tmp_path / "morphs.vrm"
    good.write_bytes(build_vrm(version="0", perfect_sync=True, title="田中委員の姿",
                               permission="licensed_person"))
    bad.write_bytes(hostile_vrm("too_many_morphs"))
    page = await console_in(browser, server)
    await page.wait_for_function("() => window.hiroba.console().avatars")
    # Every control of the form has a label (a screen reader names each one).
    unlabelled = await page.evaluate("""() => [...document.querySelectorAll(
        '#avatar-form input, #avatar-form button')].filter((e) => !(e.labels?.length
        || e.textContent.trim() || e.getAttribute('aria-label'))).map((e) => e.id)""")
    assert unlabelled == []

    # A hostile file: refused, the limit said in Japanese, nothing listed.
    await page.set_input_files("#avatar-file", str(bad))
    await page.fill("#avatar-member", "田中委員")
    await page.focus("#avatar-upload")
    await page.keyboard.press("Enter")
    await page.wait_for_function("() => window.hiroba.console().avatars.refusal")
    error = await page.text_content("#avatar-error")
    assert JA["avatars.limit.morph_targets"] in (error or ""), error
    assert JA["avatars.limit.morph_targets"] in (await page.text_content("#console-live") or "")
    assert (await page.evaluate("() => window.hiroba.console().avatars"))["avatars"] == []

    # Licensed people only: refused until the licence is confirmed.
    await page.set_input_files("#avatar-file", str(good))
    await page.fill("#avatar-member", "田中委員")
    await page.focus("#avatar-upload")
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "() => window.hiroba.console().avatars.refusal?.limit === 'licence'")
    await page.check("#avatar-licence")
    await page.focus("#avatar-upload")
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "() => window.hiroba.console().avatars.avatars.length === 1")
    row = (await page.evaluate("() => window.hiroba.console().avatars"))["avatars"][0]
    assert row["status"] == "pending" and row["for"] == "member:田中委員", row
    card = page.locator(f"#avatar-{row['sha256']}")
    text = await card.inner_text()
    assert "田中委員の姿" in text and JA["avatars.permission.licensed_person"] in text
    assert "52" in text and "#" in text, text  # perfect-sync shapes, main colours
    assert JA["avatars.uploaded"].split("「")[0] in (await page.text_content("#avatar-status")
                                                     or "")
    await shot(page, "console-avatar-upload")

    # Approve from the keyboard: announced, then public.
    approve = card.get_by_role("button", name=JA["avatars.approveOf"].replace(
        "{title}", "田中委員の姿"))
    await approve.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "() => window.hiroba.console().avatars.avatars[0]?.status === 'approved'")
    said = await page.text_content("#console-live") or ""
    assert "田中委員の姿" in said, said
    status = await page.evaluate(
        "(sha) => fetch(`/avatars/${sha}.vrm`).then((r) => r.status)", row["sha256"])
    assert status == 200
