"""Export helpers: CSV text and JSON-ready rows, built in memory (the server writes them).

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or
carriage return) as a formula; exported text comes from the public, so such cells are
prefixed with an apostrophe (the usual defence against CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iso_time(at: float) -> str:
    """Unix seconds as an ISO 8601 UTC timestamp, e.g. ``2026-11-27T10:00:00Z``."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def safe_cell(value: object) -> str:
    """A value as CSV cell text, defused if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 CSV (CRLF line ends) with a header row; open it as UTF-8 with BOM in Excel."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
