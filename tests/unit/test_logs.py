"""The JSON log format: one parseable object per line, extra fields kept."""

from __future__ import annotations

import io
import json
import logging

import pytest

from rooms.errors import HirobaError
from server.config.logs import (
    JsonFormatter,
    RedactAddresses,
    ThrottleLibraryErrors,
    configure_logging,
    formatter,
    redact_addresses,
)
from server.config.settings import load_settings


def _capture(fmt: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(fmt)
    logger = logging.getLogger("tests.unit.logs")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_json_lines() -> None:
    logger, stream = _capture(JsonFormatter())
    logger.info("%s joined %s as %s", "田中\n委員", "plaza", "member", extra={"room": "plaza"})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("handler failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # the newline in the name and the traceback stay inside one line
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "田中\n委員 joined plaza as member"
    assert first["level"] == "INFO" and first["logger"] == "tests.unit.logs"
    assert first["room"] == "plaza"
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR" and "RuntimeError: boom" in second["exception"]


def test_unserialisable_extra_becomes_text() -> None:
    logger, stream = _capture(JsonFormatter())
    logger.warning("odd", extra={"what": object()})
    assert json.loads(stream.getvalue())["what"].startswith("<object object")


def test_text_is_the_default_shape() -> None:
    logger, stream = _capture(formatter("text"))
    logger.info("serving %d rooms", 3)
    assert stream.getvalue().rstrip().endswith("INFO tests.unit.logs: serving 3 rooms")


def test_addresses_are_redacted() -> None:
    assert redact_addresses("Error handling request from 203.0.113.9") == (
        "Error handling request from [address]"
    )
    pair = "Check CandidatePair(('192.168.1.5', 47890) -> ('2001:db8::1', 5000))"
    redacted = "Check CandidatePair(('[address]', 47890) -> ('[address]', 5000))"
    assert redact_addresses(pair) == redacted
    assert redact_addresses("from ::ffff:10.0.0.1.") == "from [address]."
    # Times, versions and ratios are not addresses.
    assert redact_addresses("at 15:51:42, aiohttp 3.14.5, ratio 1.5") == (
        "at 15:51:42, aiohttp 3.14.5, ratio 1.5"
    )


def test_other_libraries_lines_lose_addresses_ours_keep_them() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactAddresses())
    theirs, ours = logging.getLogger("aiohttp.server.test"), logging.getLogger("server.test")
    for logger in (theirs, ours):
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)
    theirs.error("Error handling request from %s", "198.51.100.7")
    ours.info("ICE host candidates limited to %s", "192.168.1.20")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "Error handling request from [address]"
    assert second["message"] == "ICE host candidates limited to 192.168.1.20"


def test_log_format_setting() -> None:
    assert load_settings({}).log_format == "text"
    assert load_settings({"HIROBA_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(HirobaError, match="log_format"):
        load_settings({"HIROBA_LOG_FORMAT": "xml"})


def test_library_errors_are_throttled_per_logger() -> None:
    now = [0.0]
    throttle = ThrottleLibraryErrors(burst=3, window=60.0, clock=lambda: now[0])

    def record(name: str, level: int = logging.ERROR, msg: str = "Unknown receive error"
               ) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, msg, None, None)

    passed = [throttle.filter(record("engineio.server")) for _ in range(10)]
    assert passed == [True] * 3 + [False] * 7
    # Other loggers have their own allowance; warnings, and our own loggers, always pass.
    assert throttle.filter(record("aiohttp.server"))
    assert throttle.filter(record("engineio.server", logging.WARNING))
    assert all(throttle.filter(record("server.app")) for _ in range(20))
    # The next window says how many were held back, on its first record.
    now[0] = 61.0
    first = record("engineio.server")
    assert throttle.filter(first)
    assert first.getMessage() == ("7 more errors of this logger were not logged in the "
                                  "last 60 s; Unknown receive error")
    second = record("engineio.server")
    assert throttle.filter(second) and second.getMessage() == "Unknown receive error"


def test_ice_checks_are_not_logged_at_info() -> None:
    """aioice logs each connectivity check at info: an offer listing many candidates wrote
    tens of kilobytes. Below debug only its warnings are kept."""
    aioice = logging.getLogger("aioice")
    root = logging.getLogger()
    before = (aioice.level, root.level, list(root.handlers))
    try:
        configure_logging("info", "text")
        assert aioice.level == logging.WARNING
        aioice.setLevel(logging.NOTSET)
        configure_logging("debug", "text")
        assert aioice.level == logging.NOTSET
    finally:
        for handler in root.handlers[len(before[2]):]:
            root.removeHandler(handler)
        aioice.setLevel(before[0])
        root.setLevel(before[1])
