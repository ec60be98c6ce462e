"""What the speaker view costs (issue 18): the same phone page (390x844, Debian's Chromium,
SwiftShader) in the consultation room with N invited members seated on the stage, one of
them given the floor, measured twice: in the room view (no close-up pass) and in the
automatic mode (the close-up drawn into its rectangle every frame). Prints the frame rate,
Chromium's CPU per frame, the page's main thread per frame, the room pass's draw calls and
triangles, and the close-up pass's own (``window.hiroba.state().render.speaker``).
Headless Chromium renders on the CPU here: the figures are a floor, not a phone's.

    .venv/bin/python -m bench.speaker_view --members 6 --seconds 8 [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from playwright.async_api import async_playwright

from bench.clients.chromium import ARGS, CHROMIUM, PHONE, join_page
from bench.page import STAFF, STAFF_PASSWORD, _figures, _sample, add_staff
from bench.server import start_server

ROOM = "park-consultation"


async def _staff(url: str) -> socketio.AsyncClient:
    async with aiohttp.ClientSession() as http, http.post(
        url + "/api/login", json={"account": STAFF, "password": STAFF_PASSWORD}
    ) as r:
        cookie = r.cookies["hiroba_session"].value
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(url, transports=["websocket"], headers={"Cookie": f"hiroba_session={cookie}"},
                      wait_timeout=30)
    ack = await sio.call("console:join", {"room": ROOM}, timeout=30)
    if not ack.get("ok"):
        raise SystemExit(f"bench: console:join refused: {ack}")
    return sio


async def _members(url: str, data_dir: str, staff: socketio.AsyncClient,
                   count: int) -> tuple[list[socketio.AsyncClient], list[str]]:
    from moderation.invitations import issue_invitation
    from rooms.model import Role
    from server.config.secret import load_or_create_secret
    from server.config.settings import Settings

    secret = load_or_create_secret(Settings(data_dir=Path(data_dir)).secret_path)
    clients, pids = [], []
    for i in range(count):
        name = f"委員{i + 1}"
        token, _ = issue_invitation(secret, ROOM, Role.MEMBER, name, time.time(), 600,
                                    issued_by="bench")
        sio = socketio.AsyncClient(reconnection=False)
        admitted: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        sio.on("meeting:admitted", lambda d, f=admitted: f.done() or f.set_result(d))
        await sio.connect(url, transports=["websocket"], wait_timeout=30)
        ack = await sio.call("join", {"name": name, "room": ROOM, "lang": "ja", "token": token},
                             timeout=30)
        if ack.get("place") == "lobby":
            await staff.call("lobby:admit", {"target": ack["self"]}, timeout=30)
            ack = await asyncio.wait_for(admitted, 30)
        clients.append(sio)
        pids.append(ack["self"])
    return clients, pids


async def measure(url: str, data_dir: str, members: int, seconds: float) -> dict[str, Any]:
    staff = await _staff(url)
    clients, pids = await _members(url, data_dir, staff, members)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            ctx = await browser.new_context(**PHONE)
            page = await ctx.new_page()
            cdp = await ctx.new_cdp_session(page)
            await join_page(page, url, ROOM)
            await page.wait_for_function(
                "(n) => window.hiroba.state().participants.length >= n", arg=members + 1)
            ack = await staff.call("floor:give", {"target": pids[0], "limit": 3600}, timeout=30)
            if not ack.get("ok"):
                raise SystemExit(f"bench: floor:give refused: {ack}")
            await page.wait_for_function("() => window.hiroba.state().speakerView.showing")
            await cdp.send("Performance.enable")
            await page.select_option("#speaker-mode", "room")
            await asyncio.sleep(3.0)
            room = await _sample(page, cdp, seconds)
            await page.select_option("#speaker-mode", "auto")
            await asyncio.sleep(3.0)
            auto = await _sample(page, cdp, seconds)
            speaker = (auto["render"] or {}).get("speaker")
            await browser.close()
    finally:
        await asyncio.gather(*(c.disconnect() for c in [*clients, staff]),
                             return_exceptions=True)
    return {
        "viewport": "390x844@2x", "room": ROOM, "members": members,
        "room_view": _figures(room), "speaker_view": _figures(auto),
        # the close-up pass alone: {calls, triangles, ms (main thread, last frame)}
        "speaker_pass": speaker,
        "speaker_pass_ms_median": statistics.median([speaker["ms"]]) if speaker else None,
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        add_staff(data)
        proc, url = start_server(data)
        try:
            result = asyncio.run(measure(url, data, args.members, args.seconds))
        finally:
            proc.terminate()
            with suppress(Exception):
                proc.wait(10)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
