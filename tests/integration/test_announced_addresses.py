"""The server announces only its configured addresses (issue 14, finding 13).

A real server whose ``ice_host_addresses`` is 127.0.0.1 on a machine with other
interfaces: the answers to a real aiortc peer's ``audio:publish`` and ``audio:listen``
name no other address. And ``hiroba serve`` refuses to start when browsers of other
machines would reach it (a non-loopback bind, or a trusted proxy) and no address is set.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection

from server.cli.main import main
from server.config.settings import Settings
from server.rtc import ice
from server.rtc.ice import rtc_configuration
from tests.conftest import Client, free_port


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ice_host_addresses=("127.0.0.1",))


def candidate_addresses(sdp: str) -> set[str]:
    return {line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")}


async def test_answers_name_only_the_announced_address(clients: object) -> None:
    others = set(ice._ORIGINAL(True, True)) - {"127.0.0.1"}  # this machine's interfaces
    client: Client = await clients()  # type: ignore[operator]
    await client.join("市民")
    pc = RTCPeerConnection(rtc_configuration([]))
    try:
        pc.addTransceiver("audio", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        up = await client.call("audio:publish", {"type": "offer",
                                                 "sdp": pc.localDescription.sdp})
        assert up["ok"], up
        down_pc = RTCPeerConnection(rtc_configuration([]))
        try:
            down_pc.addTransceiver("audio", direction="recvonly")
            await down_pc.setLocalDescription(await down_pc.createOffer())
            down = await client.call("audio:listen", {"sdp": down_pc.localDescription.sdp,
                                                      "slots": 1})
            assert down["ok"], down
        finally:
            await down_pc.close()
    finally:
        await pc.close()
    for answer in (up["sdp"], down["sdp"]):
        assert candidate_addresses(answer) == {"127.0.0.1"}, answer
        assert not [a for a in others if a in answer], (others, answer)


@pytest.mark.parametrize("flags", [
    ["--host", "0.0.0.0"],
    ["--host", "127.0.0.1", "--trusted-proxies", "127.0.0.1/32"],
])
def test_serve_refuses_to_announce_every_interface(
    flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["serve", *flags, "--port", str(free_port()), "--data-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "ice_host_addresses is empty" in err and "--ice-host-addresses" in err, err
    assert not (tmp_path / "hiroba.sqlite3").exists()  # refused before anything started
