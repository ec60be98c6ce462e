"""Firefox ESR through WebDriver BiDi, built into Firefox (``--remote-debugging-port``):
no geckodriver (not in Debian), no selenium. One browser, one window, one page."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import websockets

from tests.e2e.engines.base import ARTIFACTS, ERROR_HOOK, KEYS, Engine, EngineError, decode_png
from tests.e2e.engines.xvfb import end_process

FIREFOX = "/usr/bin/firefox-esr"
#: Firefox starts in about 1-3 s here; a cold, loaded machine gets ten times that.
START_TIMEOUT = 30.0
#: One protocol command (a navigation waits for the page's load).
COMMAND_TIMEOUT = 30.0

#: The profile's user.js. Quiet start (no first-run pages, updates or telemetry), no proxy
#: (the test run's https_proxy must not reach 127.0.0.1), a fake microphone granted without
#: asking, loopback ICE candidates (the suite's server offers 127.0.0.1 only) under their
#: own address rather than an mDNS name, and audio allowed to play without a gesture.
PREFS: dict[str, Any] = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.enabled": False,
    "app.update.auto": False,
    "extensions.update.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.proxy.type": 0,
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.autoplay.default": 0,
}

#: Calls the test's function with JSON arguments and returns its result as JSON: BiDi's
#: own value serialisation is richer than the tests need. Built as source, not eval'd in
#: the page: the client's CSP has no 'unsafe-eval'.
CALL = """async (argsJson) => {{
  const result = await ({js})(...JSON.parse(argsJson));
  return JSON.stringify(result === undefined ? null : result);
}}"""


def available() -> bool:
    return shutil.which(FIREFOX) is not None


def clean_env(display: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("MOZ_HEADLESS", None)
    return {**env, "DISPLAY": display, "MOZ_CRASHREPORTER_DISABLE": "1", "NO_AT_BRIDGE": "1"}


class Firefox(Engine):
    """A running Firefox and its BiDi session; make one with :meth:`launch`."""

    name = "firefox"

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.profile = Path(tempfile.mkdtemp(prefix="hiroba-firefox-"))
        self.ws: Any = None
        self.context = ""
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def _start(self, display: str) -> None:
        prefs = "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n"
                        for k, v in PREFS.items())
        (self.profile / "user.js").write_text(prefs)
        folder = ARTIFACTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "firefox.log"
        with log.open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                FIREFOX, "--remote-debugging-port", "0", "--profile", str(self.profile),
                "--no-remote", "--new-instance", "about:blank",
                env=clean_env(display), stdin=asyncio.subprocess.DEVNULL,
                stdout=out, stderr=out)
        # Port 0: Firefox picks a free port and says which on stderr.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        url = ""
        while not url:
            for line in log.read_text(errors="replace").splitlines():
                if "WebDriver BiDi listening on " in line:
                    url = line.split("listening on ", 1)[1].strip()
            if self.proc.returncode is not None:
                raise EngineError(f"firefox exited ({self.proc.returncode}); see {log}")
            if loop.time() > deadline:
                raise EngineError(f"firefox did not start within {START_TIMEOUT} s; see {log}")
            await asyncio.sleep(0.1)
        self.ws = await websockets.connect(url + "/session", proxy=None, max_size=None,
                                           open_timeout=START_TIMEOUT)
        self._reader = asyncio.create_task(self._read())
        await self.send("session.new", {"capabilities": {}})
        tree = await self.send("browsingContext.getTree", {"maxDepth": 0})
        self.context = tree["contexts"][0]["context"]
        await self.send("script.addPreloadScript", {"functionDeclaration": ERROR_HOOK})

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                future = self._pending.pop(message.get("id", -1), None)
                if future is None or future.done():
                    continue  # an event: none subscribed, nothing to do
                if message.get("type") == "error":
                    future.set_exception(EngineError(
                        f"{message.get('error')}: {message.get('message')}"))
                else:
                    future.set_result(message.get("result"))
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(EngineError("the BiDi connection closed"))

    async def send(self, method: str, params: dict[str, Any]) -> Any:
        """One BiDi command; its result."""
        if self.ws is None:
            raise EngineError("no BiDi connection")
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        return await asyncio.wait_for(future, COMMAND_TIMEOUT)

    async def fresh_page(self) -> None:
        old = self.context
        created = await self.send("browsingContext.create", {"type": "tab"})
        self.context = created["context"]
        await self.send("browsingContext.close", {"context": old, "promptUnload": False})

    async def goto(self, url: str) -> None:
        # wait: "complete" never answered for the console page when navigating from the
        # plaza (Firefox 153; the page itself was complete in 0.5 s): navigate without
        # waiting, then watch the new document load.
        await self.send("browsingContext.navigate",
                        {"context": self.context, "url": url, "wait": "none"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + COMMAND_TIMEOUT
        while True:
            # A script sent while the old document goes away may never be answered:
            # each look is bounded and the next one asks the new document.
            with contextlib.suppress(EngineError, TimeoutError):
                if await asyncio.wait_for(self.evaluate(
                        "(url) => location.href === url && document.readyState === 'complete'",
                        url), 2.0):
                    return
            if loop.time() > deadline:
                raise EngineError(f"{url} did not load within {COMMAND_TIMEOUT} s")
            await asyncio.sleep(0.05)

    async def evaluate(self, js: str, *args: Any) -> Any:
        result = await self.send("script.callFunction", {
            "functionDeclaration": CALL.format(js=js),
            "arguments": [{"type": "string", "value": json.dumps(list(args))}],
            "target": {"context": self.context},
            "awaitPromise": True,
            "resultOwnership": "none",
        })
        if result.get("type") == "exception":
            details = result.get("exceptionDetails", {})
            raise EngineError(f"script error: {details.get('text')} in {js[:120]}")
        return json.loads(result["result"]["value"])

    async def _centre(self, css: str) -> tuple[int, int]:
        box = await self.evaluate(
            "(css) => { const e = document.querySelector(css); if (!e) return null;"
            " e.scrollIntoView({block: 'center', inline: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return [Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2),"
            " r.width, r.height]; }", css)
        if box is None or box[2] == 0 or box[3] == 0:
            raise EngineError(f"no visible element {css!r}")
        return int(box[0]), int(box[1])

    async def click(self, css: str) -> None:
        x, y = await self._centre(css)
        await self.send("input.performActions", {"context": self.context, "actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "x": x, "y": y, "origin": "viewport"},
                        {"type": "pointerDown", "button": 0},
                        {"type": "pointerUp", "button": 0}]}]})

    async def type_text(self, css: str, text: str) -> None:
        await self.click(css)
        steps: list[dict[str, Any]] = []
        for char in text:
            steps += [{"type": "keyDown", "value": char}, {"type": "keyUp", "value": char}]
        await self.send("input.performActions", {"context": self.context, "actions": [
            {"type": "key", "id": "keyboard", "actions": steps}]})

    async def key(self, key: str, down: bool) -> None:
        await self.send("input.performActions", {"context": self.context, "actions": [
            {"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown" if down else "keyUp", "value": KEYS.get(key, key)}]}]})

    async def set_size(self, width: int, height: int) -> None:
        await self.send("browsingContext.setViewport", {
            "context": self.context, "viewport": {"width": width, "height": height}})

    async def png(self) -> bytes:
        result = await self.send("browsingContext.captureScreenshot", {"context": self.context})
        return decode_png(result["data"])

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.send("session.end", {}), 5)
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self.proc is not None:
            await end_process(self.proc, grace=5.0)
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: shutil.rmtree(self.profile, ignore_errors=True))
