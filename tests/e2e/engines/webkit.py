"""WebKitGTK (Debian's MiniBrowser) through WebKitWebDriver, classic W3C WebDriver over
HTTP, with aiohttp. One browser, one window, one page.

WebKitGTK here has no WebRTC (``RTCPeerConnection`` is undefined) and no WebGL in
workers: what the tests can ask of it is said where they ask."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.engines.base import ARTIFACTS, ERROR_HOOK, KEYS, Engine, EngineError, decode_png
from tests.e2e.engines.xvfb import end_process

DRIVER = "/usr/bin/WebKitWebDriver"
MINIBROWSER_PLACES = ("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
                      "/usr/lib/x86_64-linux-gnu/webkitgtk-6.0/MiniBrowser",
                      "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser")
START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 30.0
#: MiniBrowser's settings: media capture on, with WebKit's mock camera and microphone
#: (what a face-tracking test needs to get as far as the tracking worker).
ARGS = ["--enable-media-stream=true", "--enable-mock-capture-devices=true"]
#: The W3C name of an element reference in a JSON answer.
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

#: Runs the test's function (source, not eval: the page's CSP) and hands back its result,
#: or the error it threw, as JSON through execute/async's callback.
CALL = """const done = arguments[arguments.length - 1];
Promise.resolve().then(() => ({js})(...{args})).then(
  (r) => done(JSON.stringify({{ok: r === undefined ? null : r}})),
  (e) => done(JSON.stringify({{error: String(e && e.stack || e)}})));"""


def minibrowser() -> str | None:
    return next((p for p in MINIBROWSER_PLACES if Path(p).exists()), None)


def available() -> bool:
    return shutil.which(DRIVER) is not None and minibrowser() is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    """The PIDs whose parent is ``pid`` (MiniBrowser and its web processes are the
    driver's children): ended by PID if the session could not close them."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class WebKit(Engine):
    """A running WebKitWebDriver, its MiniBrowser and session; make one with :meth:`launch`."""

    name = "webkit"

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.http: aiohttp.ClientSession | None = None
        self.base = ""

    async def _start(self, display: str) -> None:
        binary = minibrowser()
        if binary is None:
            raise EngineError("no MiniBrowser")
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(DISPLAY=display, NO_AT_BRIDGE="1", GTK_A11Y="none")
        folder = ARTIFACTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "webkit.log").open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                DRIVER, f"--port={port}", env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=out, stderr=out)
        self.http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=COMMAND_TIMEOUT))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while True:
            try:
                async with self.http.get(f"http://127.0.0.1:{port}/status") as answer:
                    if answer.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                pass
            if self.proc.returncode is not None or loop.time() > deadline:
                raise EngineError("WebKitWebDriver did not start")
            await asyncio.sleep(0.1)
        self.base = f"http://127.0.0.1:{port}"
        session = await self._call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "MiniBrowser",
            "webkitgtk:browserOptions": {"binary": binary, "args": ["--automation", *ARGS]},
        }}})
        self.base += f"/session/{session['sessionId']}"

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        if self.http is None:
            raise EngineError("no driver")
        async with self.http.request(method, self.base + path,
                                     json=body if method == "POST" else None) as answer:
            reply = await answer.json(content_type=None)
        value = reply.get("value") if isinstance(reply, dict) else None
        if answer.status >= 400:
            raise EngineError(f"{method} {path}: {answer.status} {value}")
        return value

    async def fresh_page(self) -> None:
        created = await self._call("POST", "/window/new", {"type": "tab"})
        await self._call("DELETE", "/window")
        await self._call("POST", "/window", {"handle": created["handle"]})

    async def goto(self, url: str) -> None:
        await self._call("POST", "/url", {"url": url})
        # No preload scripts in classic WebDriver: the hook goes in once the page has
        # loaded, so an error thrown while the modules first ran is not caught here (the
        # tests' waits for the page's state fail instead, with what the page shows).
        await self.evaluate(ERROR_HOOK)

    async def evaluate(self, js: str, *args: Any) -> Any:
        raw = await self._call("POST", "/execute/async", {
            "script": CALL.format(js=js, args=json.dumps(list(args))), "args": []})
        result = json.loads(raw)
        if "error" in result:
            raise EngineError(f"script error: {result['error']} in {js[:120]}")
        return result["ok"]

    async def _element(self, css: str) -> str:
        found = await self._call("POST", "/element", {"using": "css selector", "value": css})
        return str(found[ELEMENT])

    async def click(self, css: str) -> None:
        await self._call("POST", f"/element/{await self._element(css)}/click", {})

    async def type_text(self, css: str, text: str) -> None:
        await self._call("POST", f"/element/{await self._element(css)}/value", {"text": text})

    async def key(self, key: str, down: bool) -> None:
        await self._call("POST", "/actions", {"actions": [{
            "type": "key", "id": "keyboard",
            "actions": [{"type": "keyDown" if down else "keyUp", "value": KEYS.get(key, key)}],
        }]})

    async def set_size(self, width: int, height: int) -> None:
        # Window rect is the outer size: measure what the window's frame takes, once.
        await self._call("POST", "/window/rect", {"width": width, "height": height})
        inner = await self.evaluate("() => [innerWidth, innerHeight]")
        if inner != [width, height]:
            await self._call("POST", "/window/rect", {
                "width": 2 * width - inner[0], "height": 2 * height - inner[1]})

    async def png(self) -> bytes:
        return decode_png(str(await self._call("GET", "/screenshot")))

    async def close(self) -> None:
        children: list[int] = []
        if self.proc is not None:
            children = _children(self.proc.pid)
        if self.http is not None:
            if "/session/" in self.base:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._call("DELETE", ""), 10)
            await self.http.close()
        if self.proc is not None:
            await end_process(self.proc)
        # MiniBrowser, if DELETE session did not end it: by the PIDs seen as the driver's.
        for pid in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, 15)
