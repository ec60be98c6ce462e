"""Keeps the ``mediapipe`` wheel from reporting usage to Google (see ``docs/privacy.md``).

The native library in the ``mediapipe`` 1.2.x wheel builds, for every task it creates, a
usage logger that POSTs protobuf records (task name, running mode, latencies, Python
version, OS) to a Google logging endpoint with a statically linked libcurl: at start,
about once a minute, and when the task is closed. Neither the Python API nor the C API
has a switch for it. That libcurl does honour the standard proxy variables, though, and
has no proxy configured in code, so pointing ``https_proxy`` at a loopback address that
cannot accept connections (port 0) makes every attempt fail on this machine, before any
DNS lookup or packet leaves it. Nothing of MediaPipe is patched.

The variables are process-wide and libcurl reads them on every attempt from its own
thread, so they are set once, before the first task exists, and left in place.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, MutableMapping

log = logging.getLogger(__name__)

#: A proxy that always refuses: no socket can listen on port 0.
UNREACHABLE_PROXY = "http://127.0.0.1:0"

_PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
# libcurl bypasses the proxy for hosts matched here; "*" would disable the guard.
_NO_PROXY_VARS = ("no_proxy", "NO_PROXY")


def guard_changes(
    environ: Mapping[str, str], proxy: str = UNREACHABLE_PROXY
) -> dict[str, str | None]:
    """The variables to set (value) or remove (None) so MediaPipe's libcurl goes nowhere."""
    changes: dict[str, str | None] = {}
    for name in _PROXY_VARS:
        if environ.get(name) != proxy:
            changes[name] = proxy
    for name in _NO_PROXY_VARS:
        if name in environ:
            changes[name] = None
    return changes


def block_mediapipe_telemetry(
    proxy: str = UNREACHABLE_PROXY, environ: MutableMapping[str, str] | None = None
) -> bool:
    """Apply :func:`guard_changes` to ``environ`` (the process environment by default).

    Returns True if anything changed. Call it before the first MediaPipe task is created;
    :class:`avatar.tracker.MediaPipeTracker` does.
    """
    env = os.environ if environ is None else environ
    changes = guard_changes(env, proxy)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    if changes:
        log.info("mediapipe usage reporting routed to %s (blocked)", proxy)
    return bool(changes)
