"""How every benchmark prints its figures and says whether it measured anything.

A benchmark whose clients could not connect, or that counted nothing, must not print
zeros as if they were a result: :func:`finish` prints the figures, then each reason the
run measured nothing (or too little) on stderr, and returns the exit code (1 then).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any


def print_result(result: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    width = max((len(k) for k in result), default=0) + 2
    for key, value in result.items():
        print(f"{key:>{width}}: {value}")


def finish(result: Mapping[str, Any], as_json: bool, failures: Iterable[str]) -> int:
    """Print ``result``; print every failure on stderr; 1 if there was any, else 0."""
    print_result(result, as_json)
    found = [f for f in failures if f]
    for reason in found:
        print(f"bench: FAILED: {reason}", file=sys.stderr)
    return 1 if found else 0


def short_of(what: str, got: int | None, wanted: int) -> str:
    """A failure when fewer than ``wanted`` of ``what`` were measured (empty if enough)."""
    if got is None or got < wanted:
        return f"{got or 0} of {wanted} {what}"
    return ""


def nothing(what: str, value: float | None) -> str:
    """A failure when a figure that must be positive is zero or missing."""
    return "" if value else f"no {what} measured"
