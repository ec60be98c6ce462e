"""The socket event catalogue, defined once per language: server/sockets/events.py and
web_client/src/net/events.js must hold the same names with the same values, every value
must be described in docs/protocol.md, and the page must name events only through
events.js (no quoted event names left in web_client/src).

Node imports events.js itself (no regex over its text), so a constant written in any
JavaScript form is seen as the browser sees it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from server.sockets import events
from tests.conftest import ROOT

SRC = ROOT / "web_client" / "src"
EVENTS_JS = SRC / "net" / "events.js"

#: socket.io's own events (the connection's life, not Hiroba's protocol): the client
#: listens to them on the socket and its manager, the server on ``connect``/``disconnect``.
SOCKET_IO_RESERVED = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "reconnect_attempt",
     "reconnect", "reconnect_error", "reconnect_failed", "error", "ping"}
)  # fmt: skip

#: Calls whose first argument is an event name in the page: socket.io's emit/on family,
#: the socket wrapper's ``request`` and the meeting panels' and console's ``act``.
EVENT_CALL = re.compile(
    r"\b(emit|emitWithAck|on|once|off|request|act)\s*\(\s*(['\"`])((?:\\.|(?!\2).)*)\2"
)
STRING = re.compile(r"(['\"`])((?:\\.|(?!\1)[^\\\n])*)\1")


def python_events() -> dict[str, str]:
    return {k: v for k, v in vars(events).items() if k.isupper() and isinstance(v, str)}


@pytest.fixture(scope="module")
def js_events() -> dict[str, object]:
    node = shutil.which("node")
    assert node, "node is needed for the web client's tests (make setup)"
    script = (
        f"const E = await import({json.dumps(EVENTS_JS.as_uri())});"
        "process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(E))));"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    exported: dict[str, object] = json.loads(out.stdout)
    return exported


def without_comments(js: str) -> str:
    """``js`` with its comments blanked (line numbers kept): JSDoc names events in
    backquotes, which would read as template literals."""
    out: list[str] = []
    i, n = 0, len(js)
    while i < n:
        c = js[i]
        if c in "'\"`":  # skip a string whole, so '//' inside it is not a comment
            j = i + 1
            while j < n and js[j] != c:
                j += 2 if js[j] == "\\" else 1
            out.append(js[i : j + 1])
            i = j + 1
        elif js.startswith("//", i):
            j = js.find("\n", i)
            i = n if j < 0 else j
        elif js.startswith("/*", i):
            j = js.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * js.count("\n", i, j))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def event_literals(js: str, catalogue: set[str]) -> list[tuple[int, str]]:
    """(line, literal) of every event name written as a string in ``js``: the quoted first
    argument of an event call (unless socket.io's own), and anywhere a quoted namespaced
    catalogue value such as ``'poll:vote'`` (bare ones like ``'join'`` are also record
    kinds and worker message types, so only their calls count)."""
    code = without_comments(js)
    found: list[tuple[int, str]] = []
    for m in EVENT_CALL.finditer(code):
        if m.group(3) not in SOCKET_IO_RESERVED:
            found.append((code.count("\n", 0, m.start()) + 1, m.group(3)))
    for m in STRING.finditer(code):
        value = m.group(2)
        if ":" in value and value in catalogue:
            found.append((code.count("\n", 0, m.start()) + 1, value))
    return sorted(set(found))


def test_catalogues_match_name_by_name_and_value_by_value(js_events: dict[str, object]) -> None:
    py = python_events()
    assert len(py) >= 74, "the Python catalogue lost its events"
    only_py = sorted(set(py) - set(js_events))
    only_js = sorted(set(js_events) - set(py))
    assert not only_py, f"missing from events.js: {only_py}"
    assert not only_js, f"missing from events.py: {only_js}"
    differ = {k: (py[k], js_events[k]) for k in py if py[k] != js_events[k]}
    assert not differ, f"same name, different value (python, javascript): {differ}"


def test_no_two_names_share_a_value() -> None:
    values = list(python_events().values())
    assert len(values) == len(set(values))


def test_every_event_is_described_in_the_protocol() -> None:
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    missing = [v for v in python_events().values() if f"`{v}`" not in text]
    assert not missing, f"docs/protocol.md does not describe {missing}"


def test_the_page_names_events_only_through_events_js() -> None:
    catalogue = set(python_events().values())
    files = sorted(p for p in SRC.rglob("*.js") if p != EVENTS_JS)
    assert len(files) > 40
    found = {
        f"{p.relative_to(ROOT)}:{line}": value
        for p in files
        for line, value in event_literals(p.read_text(encoding="utf-8"), catalogue)
    }
    assert not found, f"event names written as literals (use net/events.js): {found}"


def test_the_scan_sees_what_it_must() -> None:
    """The scanner itself: it finds literals in every form the page could use them, and
    leaves comments, socket.io's own events and non-event strings alone."""
    catalogue = set(python_events().values())
    js = """
    /** Sends `poll:vote`; see 'chat:send' // not code */
    // act('hand:raise')
    socket.on('connect', () => {});
    net.request("rtc:offer", {});
    this.socket.timeout(5).emitWithAck(`console:join`, {});
    act('made:up');
    if (event === 'opinion:submit') {}
    const url = 'https://example.org/a:b'; // 'floor:give'
    if (e.kind === 'join') {}
    el.on('join', f);
    """
    assert event_literals(js, catalogue) == [
        (5, "rtc:offer"), (6, "console:join"), (7, "made:up"), (8, "opinion:submit"),
        (11, "join"),
    ]  # fmt: skip
