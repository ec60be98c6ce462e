"""How the tests and benchmarks start Debian's Chromium (never a downloaded browser), and
how a benchmark's page joins a room."""

from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"

ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


async def join_page(page: Any, url: str, room: str, name: str = "計測") -> None:
    """Open ``url`` in ``page`` (a Playwright page) and join ``room`` as ``name`` from the
    join screen, as a person would; returns once the page has joined."""
    await page.goto(url)
    await page.fill("#join-name", name)
    await page.wait_for_function(
        "(r) => [...document.querySelectorAll('#join-room option')].some(o => o.value === r)",
        arg=room)
    await page.select_option("#join-room", room)
    await page.click("#join-submit")
    await page.wait_for_function("() => window.hiroba && window.hiroba.state().joined")
