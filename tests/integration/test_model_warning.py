"""Start-up says so when the face model is missing or not the pinned file (issue 15,
defect 8): a real server on an empty model cache logs a warning naming the command that
fetches the model; one with the verified model says nothing about it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from rooms.model import Role
from server.app import TRACKING_KEY
from server.config.settings import Settings
from server.tracking.model_fetch import FACE_LANDMARKER
from tests.conftest import ROOT, Client, eventually, running_server
from tests.meetings import invitation
from tests.tracking_doubles import NoFace

LOGGER = "server.tracking.api"


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")

    def warnings(self) -> list[str]:
        return [line for line in self.lines if line.startswith("WARNING") and "face model" in line]


@pytest.fixture
def captured() -> Iterator[Captured]:
    handler = Captured()
    logger = logging.getLogger(LOGGER)
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


async def _started(settings: Settings, captured: Captured) -> tuple[list[str], int]:
    async with running_server(settings) as server:
        tracking = server.app[TRACKING_KEY]
        await eventually(lambda: tracking.model_ok is not None)
        url = server.url + "/models/" + FACE_LANDMARKER.filename
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            status = resp.status
    return captured.warnings(), status


async def test_missing_model_is_a_startup_warning(settings: Settings, captured: Captured) -> None:
    warnings, status = await _started(settings, captured)
    assert status == 503
    assert len(warnings) == 1, captured.lines
    assert "hiroba models fetch" in warnings[0] and "not there" in warnings[0]
    assert str(settings.model_dir) in warnings[0]


async def test_damaged_model_is_a_startup_warning(settings: Settings, captured: Captured) -> None:
    target = settings.model_dir / FACE_LANDMARKER.filename
    target.parent.mkdir(parents=True)
    target.write_bytes(b"\0" * FACE_LANDMARKER.size)  # right size, wrong bytes
    warnings, status = await _started(settings, captured)
    assert status == 503
    assert len(warnings) == 1 and "sha256" in warnings[0], captured.lines
    assert "hiroba models fetch" in warnings[0]


async def test_verified_model_gives_no_warning(settings: Settings, captured: Captured) -> None:
    cache = ROOT / "data" / "models"
    if not (cache / FACE_LANDMARKER.filename).is_file():
        pytest.skip("no fetched model in data/models (hiroba models fetch)")
    warnings, status = await _started(replace(settings, model_cache_dir=Path(cache)), captured)
    assert status == 200 and warnings == [], captured.lines




async def _offered(settings: Settings, **started: object) -> bool:
    """Whether a member's join ack offers tracking on the server."""
    async with running_server(settings, **started) as server:  # type: ignore[arg-type]
        tracking = server.app[TRACKING_KEY]
        await eventually(lambda: tracking.model_ok is not None)
        client = await Client(server.url).connect()
        try:
            ack = await client.join("田中委員", room="plaza", token=invitation(
                server, "plaza", Role.MEMBER, "田中委員"))
        finally:
            await client.close()
    return bool(ack["snapshot"]["self_may"]["track_on_server"])


async def test_no_model_no_offer_of_server_tracking(settings: Settings, captured: Captured) -> None:
    """Without the model the server-side pipeline cannot run: the page is not offered it
    (it would only fail, after the person agreed to send their camera)."""
    settings = replace(settings, server_tracking_max=2)
    assert await _offered(settings) is False
    # A server whose pipeline needs no model file (a test tracker) still offers it.
    assert await _offered(settings, pipeline_factory=NoFace) is True
