"""``GET /metrics`` on a real server, its allowlist, and what the logs say about a join."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import aiohttp
import pytest

from bench.clients.motion_client import MotionWatcher
from moderation.invitations import issue_invitation
from rooms.model import Role, TrackingMode
from server.config.logs import JsonFormatter
from server.config.secret import load_or_create_secret
from server.config.settings import Settings
from server.http.routes import HUB_KEY
from tests.conftest import Server, running_server
from tests.prometheus_text import parse

MEMBER_NAME = "壇上の委員"
CITIZEN_NAME = "広場の市民"


async def scrape(url: str, **headers: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics", headers=headers) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.text()


async def metrics_text(server: Server) -> str:
    status, content_type, body = await scrape(server.url)
    assert status == 200, body
    assert content_type.startswith("text/plain") and "version=0.0.4" in content_type
    return body


def secrets_of(ack: object) -> set[str]:
    """Every token in a join ack: the motion token, the device token."""
    found: set[str] = set()
    if isinstance(ack, dict):
        for key, value in ack.items():
            if key in ("token", "device") and isinstance(value, str):
                found.add(value)
            found |= secrets_of(value)
    elif isinstance(ack, list):
        for item in ack:
            found |= secrets_of(item)
    return found


def member_token(server: Server) -> str:
    secret = load_or_create_secret(server.settings.secret_path)
    token, _ = issue_invitation(
        secret, "plaza", Role.MEMBER, MEMBER_NAME, time.time(), 600, issued_by="test"
    )
    return token


class JsonLines(logging.Handler):
    """Every record the server logs, formatted as in ``--log-format json``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def json_logs() -> Iterator[JsonLines]:
    handler = JsonLines()
    root, ours = logging.getLogger(), logging.getLogger("server")
    level = ours.level
    root.addHandler(handler)
    ours.setLevel(logging.DEBUG)  # debug lines too: they must be as clean as the rest
    yield handler
    ours.setLevel(level)
    root.removeHandler(handler)


async def test_metrics_after_two_joins(server: Server, clients, json_logs: JsonLines) -> None:
    token = member_token(server)
    member, citizen = await clients(), await clients()
    m_ack = await member.join(MEMBER_NAME, room="plaza", token=token)
    c_ack = await citizen.join(CITIZEN_NAME, room="plaza")
    watcher = await MotionWatcher.open(server.url, c_ack)
    try:
        me = next(p for p in c_ack["snapshot"]["participants"] if p["id"] == c_ack["self"])
        await watcher.send(me["x"] + 0.2, me["z"], 0.3)
        await watcher.wait_for(lambda entries: bool(entries))
        first_body = await metrics_text(server)
        first = parse(first_body)

        sent = len(watcher.frames)
        await watcher.send(me["x"] + 0.4, me["z"], 0.6)
        await watcher.wait_for(lambda entries: bool(entries), since=sent)
        received = len(watcher.frames)  # before the scrape: the server had sent these
        status, _, body = await scrape(server.url)
        assert status == 200, body
        second = parse(body)
    finally:
        await watcher.close()

    # Participants by role and tracking mode, with zeros for the rest of the grid.
    assert first.types["hiroba_participants"] == "gauge"
    assert first.total("hiroba_participants", room="plaza", role="member") == 1
    assert first.total("hiroba_participants", room="plaza", role="citizen") == 1
    assert first.total("hiroba_participants", room="plaza", role="staff") == 0
    assert first.label_values("hiroba_participants", "tracking") == {m.value for m in TrackingMode}
    assert first.value("hiroba_rooms") == len(server.app[HUB_KEY].rooms) >= 1
    assert first.value("hiroba_sockets") == 2
    assert first.value("hiroba_recording_active", room="plaza") == 0
    # Two new device identities were issued in the plaza (the staff surge view counts them).
    assert first.types["hiroba_device_identities_minted_total"] == "counter"
    assert first.total("hiroba_device_identities_minted_total", room="plaza") == 2

    # Motion counters go up between two scrapes; the tick histogram counts every tick.
    for name, kind in (("hiroba_motion_ticks_total", "counter"),
                       ("hiroba_motion_frames_sent_total", "counter"),
                       ("hiroba_motion_bytes_sent_total", "counter"),
                       ("hiroba_motion_uplinks_total", "counter"),
                       ("hiroba_motion_tick_seconds", "histogram")):  # fmt: skip
        assert first.types[name] == kind, name
        total = name + "_count" if kind == "histogram" else name
        assert second.value(total) > first.value(total), name
    # A histogram, so that nodes add up: every tick is in it (one scrape reads both at once).
    assert second.value("hiroba_motion_ticks_total") == second.value(
        "hiroba_motion_tick_seconds_count")
    assert second.value("hiroba_motion_tick_seconds_bucket", le="+Inf") == second.value(
        "hiroba_motion_tick_seconds_count")
    # Ticks of two people take well under the 100 ms budget of 10 Hz.
    assert second.value("hiroba_motion_tick_seconds_bucket", le="0.1") == second.value(
        "hiroba_motion_tick_seconds_count")
    assert second.value("hiroba_motion_tick_seconds_sum") > 0
    # Only the citizen has a motion socket; every frame it read was counted as sent, and a
    # client reading promptly on loopback is never busy, so no frame was skipped.
    assert second.value("hiroba_motion_frames_sent_total") >= received > 0
    assert second.value("hiroba_motion_frames_skipped_total") == 0
    assert second.value("hiroba_motion_uplinks_rejected_total") == 0

    # The other planes and the process are there too.
    assert second.value("hiroba_audio_listeners") == 0
    assert second.value("hiroba_audio_packets_forwarded_total") == 0
    assert second.value("hiroba_tracking_sessions") == 0
    assert second.types["hiroba_tracker_seconds"] == "histogram"
    assert second.value("hiroba_tracker_seconds_count") == 0  # nobody tracked on the server
    # The standard process figures, under the names every Prometheus dashboard knows.
    assert second.value("process_resident_memory_bytes") > 10_000_000
    assert second.value("process_open_fds") > 0
    assert second.value("process_max_fds") >= second.value("process_open_fds")
    assert second.types["process_cpu_seconds_total"] == "counter"
    assert second.value("process_cpu_seconds_total") > 0
    assert 0 < second.value("process_start_time_seconds") <= time.time()

    # Nobody can be picked out of a scrape.
    tokens = {token, c_ack["motion"]["token"], m_ack["motion"]["token"]}
    tokens |= secrets_of(m_ack) | secrets_of(c_ack)
    for text in (first_body, body):
        assert not re.search(r"p_[0-9a-f]{10}", text)
        for secret in {m_ack["self"], c_ack["self"], MEMBER_NAME, CITIZEN_NAME, *tokens}:
            assert secret not in text

    # The join was logged (display names are allowed), as JSON, without any token or
    # the clients' address.
    records = [json.loads(line) for line in json_logs.lines]
    assert any(MEMBER_NAME in r["message"] and "joined plaza" in r["message"] for r in records)
    for line in json_logs.lines:
        for secret in {*tokens, "127.0.0.1"}:
            assert secret not in line, line


async def test_forwarded_requests_are_refused(server: Server) -> None:
    status, _, body = await scrape(server.url, **{"X-Forwarded-For": "203.0.113.9"})
    assert status == 403 and "proxy" in body
    status, _, body = await scrape(server.url, Forwarded="for=203.0.113.9")
    assert status == 403


@pytest.fixture
async def fenced_server(settings: Settings) -> AsyncIterator[Server]:
    """A server whose metrics are open to 10.0.0.0/8 only, not to loopback."""
    async with running_server(replace(settings, metrics_allow=("10.0.0.0/8",))) as running:
        yield running


async def test_addresses_outside_the_allowlist_are_refused(fenced_server: Server) -> None:
    status, _, body = await scrape(fenced_server.url)
    assert status == 403
    assert "metrics_allow" in body
