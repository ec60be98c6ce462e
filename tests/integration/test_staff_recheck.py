"""A disabled staff account loses its open sockets (issue 14, finding 4).

A real server, a real staff login over HTTP, a console and a staff avatar (another room)
on real socket.io clients; the account is disabled by ``hiroba staff disable``'s code in
another process (or, where the moment matters, through the store as that command does). The
defences: the periodic recheck of every staff seat (``MeetingService.recheck_staff``,
every ``staff_recheck_seconds``, 0.5 s here) and the check every event of a staff seat
passes before it acts (``MeetingService.vouch``, wrapped around the registry).
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import replace
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from server.app import SIO_KEY
from server.config.settings import Settings
from server.console.routes import MEETINGS_KEY
from server.meetings.seats import staff_room
from server.rtc.ice import rtc_configuration
from tests.conftest import Client, Server
from tests.integration.test_cli import ROOT
from tests.meetings import CONSULTATION, MeetingClient, add_staff, login, participant

RECHECK = 0.5
#: ``hiroba staff disable NAME --data-dir DIR`` in another process: the command's own
#: function, without loading the whole command line (~6 s of imports on a busy machine).
DISABLE = """
import argparse, sys
from server.cli.staff import staff_disable
from server.config.settings import load_settings
settings = load_settings({"HIROBA_DATA_DIR": sys.argv[1]})
sys.exit(staff_disable(argparse.Namespace(name=sys.argv[2]), settings))
"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, staff_recheck_seconds=RECHECK, ice_host_addresses=("127.0.0.1",))


async def staff_pair(server: Server, made: list[Client]) -> tuple[MeetingClient, MeetingClient]:
    """One login's console in the consultation and its staff avatar in the plaza."""
    await add_staff(server)
    cookie, _ = await login(server)
    desk = await MeetingClient(server.url, cookie).connect()
    made.append(desk)
    desk.ack = await desk.act("console:join", {"room": CONSULTATION})
    avatar = await MeetingClient(server.url, cookie).connect()
    made.append(avatar)
    avatar.ack = await avatar.act("join", {"name": "x", "room": "plaza", "lang": "ja",
                                           "staff": True})
    return desk, avatar


async def reported_chat(author: MeetingClient, reporter: MeetingClient, text: str) -> None:
    """A citizen's chat line, reported by another: staff-only events (``meeting:staff``)."""
    sent = await author.act("chat:send", {"text": text})
    await reporter.act("chat:report", {"message": sent["message"]})


async def offer() -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.addTransceiver("audio", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, str(pc.localDescription.sdp)


def staff_sids(server: Server, room: str) -> set[str]:
    rooms: dict[str, Any] = server.app[SIO_KEY].manager.rooms.get("/", {})
    return set(rooms.get(staff_room(room), {}))


async def test_cli_disable_sends_idle_console_and_staff_avatar_away(
    server: Server, made: list[Client]
) -> None:
    desk, avatar = await staff_pair(server, made)
    citizen = await participant(server, made, "市民", CONSULTATION)
    neighbour = await participant(server, made, "隣人", CONSULTATION)
    await reported_chat(citizen, neighbour, "一通目")
    await desk.expect("meeting:staff")  # the console gets staff-only events now
    assert len(staff_sids(server, CONSULTATION)) == 1 and len(staff_sids(server, "plaza")) == 1
    # Both sockets now idle; the staff CLI (another process, the same SQLite file).
    started = time.monotonic()
    gone = asyncio.ensure_future(asyncio.gather(desk.left.wait(), avatar.left.wait()))
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-c", DISABLE, str(server.settings.data_dir), "jimu",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode == 0, err.decode()
    returned = time.monotonic()
    await asyncio.wait_for(gone, 6)  # at most 6 s after the CLI is done
    took = time.monotonic() - returned
    assert not desk.sio.connected and not avatar.sio.connected
    # Out of every staff room, off every roster: nothing staff-only reaches them.
    assert staff_sids(server, CONSULTATION) == set() == staff_sids(server, "plaza")
    service = server.app[MEETINGS_KEY]
    assert [s for s in service.seats if s.account == "jimu"] == []
    heard = len(desk.seen)
    await reported_chat(citizen, neighbour, "二通目")
    await asyncio.sleep(0.2)
    assert len(desk.seen) == heard
    print(f"\n`hiroba staff disable` ran {returned - started:.2f} s; both staff sockets were "
          f"gone {took:.2f} s after it returned (recheck every {RECHECK} s)")


async def test_privileged_event_after_disable_is_refused_before_it_acts(
    server: Server, made: list[Client]
) -> None:
    service = server.app[MEETINGS_KEY]
    desk, avatar = await staff_pair(server, made)
    await service.rechecker.stop()  # only the per-event check is left to notice
    pc, sdp = await offer()
    try:
        await service.staff.set_disabled("jimu", True)  # what `hiroba staff disable` runs
        ack = await avatar.call("audio:publish", {"type": "offer", "sdp": sdp})
        assert ack["ok"] is False and ack["reason"] == "session_expired", ack
    finally:
        await pc.close()
    # The event that found it took the login's other socket with it, and its own seat.
    assert await desk.ended(within=2)
    assert staff_sids(server, CONSULTATION) == set() == staff_sids(server, "plaza")
    assert [s for s in service.seats if s.account == "jimu"] == []
    assert (await avatar.call("reports:list", {}))["reason"] == "not_joined"
    assert server.app[SIO_KEY].manager.rooms["/"].get("plaza", {}).get(avatar.sio.get_sid()) \
        is None
