"""Announced addresses (issue 14, finding 13): the start refusal of a server that others
reach without ``ice_host_addresses``, and the answer filter of ``server.rtc.ice``."""

from __future__ import annotations

import pytest

from rooms.errors import HirobaError
from server.config.settings import load_settings
from server.rtc.ice import announced_only


@pytest.mark.parametrize("env", [
    {"HIROBA_HOST": "0.0.0.0"},
    {"HIROBA_HOST": "192.0.2.2"},
    {"HIROBA_HOST": "::"},
    {"HIROBA_HOST": "hiroba.example.jp"},
    # The recommended deployment: loopback behind the city's nginx.
    {"HIROBA_HOST": "127.0.0.1", "HIROBA_TRUSTED_PROXIES": "127.0.0.1/32"},
])
def test_serving_other_machines_needs_announced_addresses(env: dict[str, str]) -> None:
    with pytest.raises(HirobaError, match="ice_host_addresses is empty") as refused:
        load_settings(env)
    assert "--ice-host-addresses" in refused.value.message
    announced = load_settings({**env, "HIROBA_ICE_HOST_ADDRESSES": "203.0.113.20"})
    assert announced.ice_host_addresses == ("203.0.113.20",)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.9", "::1", "[::1]", "localhost"])
def test_loopback_alone_is_unchanged(host: str) -> None:
    assert load_settings({"HIROBA_HOST": host}).ice_host_addresses == ()


ANSWER = "\r\n".join([
    "v=0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "c=IN IP4 192.0.2.2",
    "a=candidate:1 1 udp 2130706431 192.0.2.2 40000 typ host",
    "a=candidate:2 1 udp 2130706431 203.0.113.20 40001 typ host",
    "a=candidate:3 1 udp 2130706431 fd00::2 40002 typ host",
    "a=candidate:4 1 udp 1694498815 198.51.100.7 40003 typ srflx raddr 192.0.2.2 rport 40000",
    "a=candidate:5 1 udp 16777215 198.51.100.9 50000 typ relay raddr 203.0.113.20 rport 1",
    "a=end-of-candidates",
]) + "\r\n"


def test_answers_announce_only_the_configured_addresses() -> None:
    out = announced_only(ANSWER, ["203.0.113.20"])
    candidates = [line for line in out.splitlines() if line.startswith("a=candidate:")]
    assert "192.0.2.2" not in out and "fd00::2" not in out
    assert [c.split()[4] for c in candidates] == ["203.0.113.20", "198.51.100.7", "198.51.100.9"]
    assert "c=IN IP4 0.0.0.0" in out
    assert "raddr 0.0.0.0 rport 0" in candidates[1]  # its base was not announced
    assert "raddr 203.0.113.20 rport 1" in candidates[2]
    # Nothing configured (a loopback trial): the answer as aiortc wrote it.
    assert announced_only(ANSWER, []) == ANSWER
