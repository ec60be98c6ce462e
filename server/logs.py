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


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for the ``log_format`` setting (``text`` or ``json``)."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, log_format: str) -> None:
    """Send the root logger's records to stderr at ``level``, in ``log_format``."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RedactAddresses())
    logging.basicConfig(level=level.upper(), handlers=[handler])
