"""What both engine drivers offer the tests: one page, driven by script and by real input,
with its page errors collected and its screenshots kept under
``test-artifacts/engines/<engine>/``."""

from __future__ import annotations

import abc
import asyncio
import base64
import json
import re
from pathlib import Path
from typing import Any, Self

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "engines"
#: Every wait and every launch is bounded: a browser that hangs fails the test, not the run.
WAIT = 10.0
PHONE = (390, 844)
DESKTOP = (1280, 900)

#: Installed before the page's own scripts where the protocol allows it (BiDi preload
#: script), else right after each navigation: uncaught errors and unhandled rejections
#: are kept in ``window.__engineErrors`` for :meth:`Engine.page_errors`. console.error is
#: wrapped too, since the client reports failures it catches (a 3D view that could not
#: start, a worker that died) through it.
ERROR_HOOK = """() => {
  if (window.__engineErrors) return;
  const seen = window.__engineErrors = [];
  const text = (v) => {
    try { return v instanceof Error ? `${v.name}: ${v.message}` : String(v); }
    catch { return '?'; }
  };
  window.addEventListener('error', (e) =>
    seen.push(`error: ${e.message} at ${e.filename}:${e.lineno}`));
  window.addEventListener('unhandledrejection', (e) =>
    seen.push(`unhandledrejection: ${text(e.reason)}`));
  const original = console.error.bind(console);
  console.error = (...args) => { seen.push(`console.error: ${args.map(text).join(' ')}`);
                                 original(...args); };
  const warnings = window.__engineWarnings = [];
  const warn = console.warn.bind(console);
  console.warn = (...args) => { warnings.push(args.map(text).join(' ')); warn(...args); };
}"""

#: Keys by name, as WebDriver's key actions spell them (the spec's private-use code points).
KEYS = {"ArrowUp": "\ue013", "ArrowDown": "\ue015", "ArrowLeft": "\ue012",
        "ArrowRight": "\ue014", "Enter": "\ue007", "Escape": "\ue00c", "Tab": "\ue004"}


#: Whether the element is shown (not inside a [hidden] ancestor, laid out).
VISIBLE = ("(css) => { const e = document.querySelector(css);"
           " return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0; }")


class EngineError(RuntimeError):
    """The browser or its driver answered with an error."""


class Engine(abc.ABC):
    """One browser window of one engine. ``js`` arguments are function expressions
    (``"(a, b) => ..."``) called with JSON-able ``args``; they may return promises."""

    name: str = "engine"

    @classmethod
    async def launch(cls, display: str) -> Self:
        """Start the browser on X ``display``; ended by :meth:`close` (also when the start
        fails part way, so no process of a failed start is left behind)."""
        self = cls()
        try:
            await self._start(display)
        except BaseException:
            await self.close()
            raise
        return self

    @abc.abstractmethod
    async def _start(self, display: str) -> None:
        """Start the driver and the browser on ``display``, keeping each process's PID
        as soon as it exists (for :meth:`close`)."""

    @abc.abstractmethod
    async def fresh_page(self) -> None:
        """Replace the page with a new tab (the old one closed, unload prompts skipped):
        each test starts on a clean page of the module's browser."""

    @abc.abstractmethod
    async def goto(self, url: str) -> None:
        """Navigate and wait for the document's load; install the error hook."""

    @abc.abstractmethod
    async def evaluate(self, js: str, *args: Any) -> Any:
        """Call function ``js`` in the page with ``args``; its (awaited) JSON result."""

    @abc.abstractmethod
    async def click(self, css: str) -> None:
        """Click the centre of the first element matching ``css`` with the pointer."""

    @abc.abstractmethod
    async def type_text(self, css: str, text: str) -> None:
        """Focus ``css`` (a click) and type ``text`` key by key."""

    @abc.abstractmethod
    async def key(self, key: str, down: bool) -> None:
        """Press (``down``) or release a key named as in :data:`KEYS` or a character."""

    @abc.abstractmethod
    async def set_size(self, width: int, height: int) -> None:
        """Make the page's viewport (as near as the engine allows) ``width`` x ``height``."""

    @abc.abstractmethod
    async def png(self) -> bytes:
        """A screenshot of the viewport."""

    @abc.abstractmethod
    async def close(self) -> None:
        """End the session and every process the driver started, by PID."""

    async def fill(self, css: str, text: str) -> None:
        """Empty ``css`` (by script) then type ``text`` into it with the keyboard."""
        await self.evaluate("(css) => { const e = document.querySelector(css);"
                            " e.value = ''; e.dispatchEvent(new Event('input')); }", css)
        await self.type_text(css, text)

    async def select(self, css: str, value: str) -> None:
        """Choose ``value`` in a <select>: by script, since a native drop-down is drawn
        outside the page in both engines and WebDriver cannot reach into it uniformly."""
        await self.evaluate("(css, v) => { const e = document.querySelector(css); e.value = v;"
                            " e.dispatchEvent(new Event('input', {bubbles: true}));"
                            " e.dispatchEvent(new Event('change', {bubbles: true})); }",
                            css, value)

    async def wait(self, js: str, *args: Any, within: float = WAIT, what: str = "") -> Any:
        """Poll ``js(*args)`` until it returns a truthy value (returned), failing after
        ``within`` seconds with ``what`` (or the script) and the page errors so far."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        # A DOM node (what a selector predicate returns) serialises as {}: make it true.
        probe = f"async (...a) => {{ const v = await ({js})(...a);" \
                " return v instanceof Node ? true : v; }"
        while True:
            value = await self.evaluate(probe, *args)
            if value:
                return value
            if loop.time() > deadline:
                errors = await self.page_errors()
                raise AssertionError(
                    f"{self.name}: {what or js} not within {within} s; page errors: {errors}")
            await asyncio.sleep(0.1)

    async def visible(self, css: str) -> bool:
        return bool(await self.evaluate(f"() => ({VISIBLE})({css!r})"))

    async def wait_visible(self, css: str, within: float = WAIT) -> None:
        await self.wait(VISIBLE, css, within=within, what=f"{css} visible")

    async def page_errors(self) -> list[str]:
        return list(await self.evaluate("() => window.__engineErrors || ['no error hook']"))

    async def screenshot(self, name: str) -> Path:
        folder = ARTIFACTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (re.sub(r"[^\w.-]", "_", name) + ".png")
        data = await self.png()
        await asyncio.get_running_loop().run_in_executor(None, path.write_bytes, data)
        return path


def decode_png(b64: str) -> bytes:
    data = base64.b64decode(b64)
    if not data.startswith(b"\x89PNG"):
        raise EngineError("a screenshot that is not a PNG")
    return data


def call_source(js: str, args: tuple[Any, ...]) -> str:
    """A script body that calls function ``js`` with ``args`` (JSON) and returns its
    result: what classic WebDriver's execute endpoints run."""
    return f"return ({js})(...{json.dumps(list(args))});"
