"""Log output: the usual text lines, or one JSON object per line for log collectors.

What is logged is decided at each call site (docs/privacy.md, "Logs"): lifecycle events,
room ids and display names, never tokens, addresses or what people wrote. This module
only shapes the lines.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Loggers of this project: their calls are audited (docs/privacy.md) and left as they are.
OWN_LOGGERS = ("server", "rooms", "moderation", "avatar", "hiroba")
#: Runs of characters an IPv4 or IPv6 address is made of (checked with ipaddress after).
_ADDRESS_LIKE = re.compile(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*")
REDACTED = "[address]"

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, then any ``extra=`` fields, and ``exception`` with a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        # json.dumps escapes newlines, so a traceback still makes one line; display names
        # stay readable (ensure_ascii=False); anything unserialisable becomes its str().
        return json.dumps(out, ensure_ascii=False, default=str)


def redact_addresses(text: str) -> str:
    """``text`` with every IPv4 and IPv6 address replaced by ``[address]``."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        # A sentence may end right after an address ("from 10.0.0.1.").
        for candidate in (token, token.rstrip(".:")):
            try:
                ipaddress.ip_address(candidate)
            except ValueError:
                continue
            return REDACTED + token[len(candidate) :]
        return token

    return _ADDRESS_LIKE.sub(one, text)


class RedactAddresses(logging.Filter):
    """Takes IP addresses out of other libraries' log lines.

    aiohttp logs "Error handling request from <peer>" for every malformed request (common
    from scanners) and aioice logs each ICE connectivity check with both ends' addresses
    at info: neither belongs in a city's logs. Our own loggers are left alone.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] not in OWN_LOGGERS:
            message = record.getMessage()
            clean = redact_addresses(message)
            if clean != message:
                record.msg, record.args = clean, None
        return True


class ThrottleLibraryErrors(logging.Filter):
    """At most ``burst`` error records per ``window`` seconds from each other library's
    logger; the rest are counted and reported in one line when the window ends.

    python-engineio and aiohttp log every frame or request they cannot read with a full
    traceback, at the rate a peer can send them: one hostile client could fill the disk or
    drown the lines that matter. The first ones of each window still show what happened.
    """

    def __init__(self, burst: int = 10, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst, self.window, self.clock = burst, window, clock
        #: logger name -> (window start, records let through, records held back)
        self._seen: dict[str, tuple[float, int, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR or record.name.split(".", 1)[0] in OWN_LOGGERS:
            return True
        now = self.clock()
        start, passed, held = self._seen.get(record.name, (now, 0, 0))
        if now - start >= self.window:
            if held:
                # Told with the first record of the next window from that logger.
                record.msg = f"{held} more errors of this logger were not logged " \
                             f"in the last {self.window:.0f} s; " + str(record.msg)
            start, passed, held = now, 0, 0
        if passed < self.burst:
            self._seen[record.name] = (start, passed + 1, held)
            return True
        self._seen[record.name] = (start, passed, held + 1)
        return False


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for the ``log_format`` setting (``text`` or ``json``)."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, log_format: str) -> None:
    """Send the root logger's records to stderr at ``level``, in ``log_format``."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    handler.addFilter(ThrottleLibraryErrors())
    handler.addFilter(RedactAddresses())
    logging.basicConfig(level=level.upper(), handlers=[handler])
    if logging.getLevelNamesMapping().get(level.upper(), logging.INFO) > logging.DEBUG:
        # aioice logs every connectivity check of every candidate pair at info (an offer
        # listing many candidates wrote ~32 KB); its warnings still show.
        logging.getLogger("aioice").setLevel(logging.WARNING)
