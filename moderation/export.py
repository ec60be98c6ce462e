"""Export helpers: CSV text and JSON-ready rows, built in memory (the server writes them).

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or
carriage return) as a formula; exported text comes from the public, so such cells are
prefixed with an apostrophe (the usual defence against CSV injection). Japanese input
methods type the full-width forms (``＝``, ``＋``, ``－``, ``＠``), and spreadsheets with
East Asian input settings turn those into the ASCII ones when a cell is confirmed, so the
check runs on the NFKC fold of the text (which also maps the ideographic space), after
any leading spaces.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, tzinfo

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iso_time(at: float, tz: tzinfo = UTC) -> str:
    """Unix seconds as an ISO 8601 timestamp in ``tz`` with its offset, to the second:
    ``2026-11-27T19:00:00+09:00`` in Asia/Tokyo, ``2026-11-27T10:00:00Z`` in UTC. The
    offset is the one in force at that moment (summer time included)."""
    text = datetime.fromtimestamp(at, tz).isoformat(timespec="seconds")
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def safe_cell(value: object) -> str:
    """A value as CSV cell text, defused if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str) and _reads_as_formula(text):
        return "'" + text
    return text


def _reads_as_formula(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` as a formula: the ASCII starts, and
    their full-width and other compatibility forms once folded (NFKC), also after
    leading spaces (some programs trim them before they look)."""
    if text.startswith(_FORMULA_START):
        return True
    folded = unicodedata.normalize("NFKC", text)
    return folded.startswith(_FORMULA_START) or folded.lstrip(" ").startswith(_FORMULA_START)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 CSV (CRLF line ends) with a header row; open it as UTF-8 with BOM in Excel."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
