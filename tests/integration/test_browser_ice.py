"""TURN credentials for browsers: every join carries them, in coturn's shared-secret form."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import replace
from pathlib import Path

import pytest

from rooms.errors import HirobaError
from server.config.settings import Settings
from server.rtc.browser_ice import load_browser_ice
from tests.conftest import running_server

TURN = ("turn:turn.example.jp:3478?transport=udp", "turns:turn.example.jp:443?transport=tcp")
SECRET = "a-long-shared-secret-for-coturn"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    secret = tmp_path / "turn.secret"
    secret.write_text(SECRET + "\n")
    return replace(settings, turn_urls=TURN, turn_secret_file=secret, turn_ttl_seconds=3600)


async def test_each_join_gets_time_limited_turn_credentials(server, clients) -> None:
    seen = []
    for name in ("さくら", "ひかる"):
        client = await clients()
        ack = await client.join(name)
        servers = ack["ice"]["iceServers"]
        assert len(servers) == 1 and servers[0]["urls"] == list(TURN)
        user = servers[0]["username"]
        expiry, pid = user.split(":")
        assert pid == ack["self"], "each person their own user name"
        assert 3590 <= int(expiry) - time.time() <= 3601
        expected = hmac.new(SECRET.encode(), user.encode(), hashlib.sha1).digest()
        assert base64.b64decode(servers[0]["credential"]) == expected, "coturn's REST form"
        seen.append(user)
    assert seen[0] != seen[1]


def test_no_urls_no_servers_and_no_secret_bare_urls(tmp_path: Path) -> None:
    assert load_browser_ice((), None, 60).servers("p_1", 0) == []
    assert load_browser_ice(("stun:stun.example.jp",), None, 60).servers("p_1", 0) == [
        {"urls": ["stun:stun.example.jp"]}]
    short = tmp_path / "short"
    short.write_text("x")
    for urls, secret in ((("http://x",), None), (TURN, short), (TURN, tmp_path / "none")):
        with pytest.raises(HirobaError):
            load_browser_ice(urls, secret, 60)


async def test_a_bad_turn_setting_stops_the_start(settings: Settings) -> None:
    with pytest.raises(HirobaError):
        async with running_server(replace(settings, turn_urls=("http://not-turn",))):
            pass
