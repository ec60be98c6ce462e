"""A vote open when the server restarts is still open afterwards, with the ballots cast,
the attendance and the identity checks (within the absence grace): the committee is part
of the meeting's records, stored at every change (issue 16, part A)."""

from __future__ import annotations

from typing import Any

from rooms.model import Role
from server.config.settings import Settings
from tests.conftest import running_server
from tests.integration.test_committee_flow import member
from tests.meetings import COMMITTEE, add_staff, console, invitation


async def test_a_restart_during_a_vote_keeps_it(settings: Settings, no_blocking: None) -> None:
    made: list[Any] = []
    # The same invitations before and after the restart (signed with the data's secret).
    signer: Any = _Signer(settings)
    tokens = {n: invitation(signer, COMMITTEE, r, n)
              for n, r in (("委員長", Role.CHAIR), ("委員A", Role.MEMBER), ("委員B", Role.MEMBER))}
    devices: dict[str, str] = {}
    try:
        async with running_server(settings) as server:
            await add_staff(server)
            staff = await console(server, made)
            people = {n: await member(server, made, staff, n, token=t) for n, t in tokens.items()}
            devices = {n: c.ack["device"] for n, c in people.items()}
            chair, a = people["委員長"], people["委員A"]
            await chair.act("committee:rollcall", {"open": True})
            for c in people.values():
                await c.act("committee:present")
            await chair.act("committee:rollcall", {"open": False})
            for n in tokens:
                await chair.act("committee:verify", {"member": f"m:{n}", "method": "video"})
            motion = (await chair.act("committee:motion", {"title": "議案第1号"}))["motion"]
            vote = (await chair.act("committee:vote_open",
                                    {"motion": motion, "method": "named"}))["vote"]
            await a.act("committee:vote_cast", {"vote": vote, "choice": "yes"})
            for c in made:
                await c.close()
            made.clear()

        async with running_server(settings) as server:
            staff = await console(server, made)
            kept = staff.ack["meeting"]["committee"]
            assert kept["vote"]["id"] == vote and kept["vote"]["state"] == "open"
            assert kept["vote"]["cast"] == {"m:委員A": True}
            assert {m["member"]: m["status"] for m in kept["members"]} == {
                "m:委員長": "present", "m:委員A": "present", "m:委員B": "present"}
            people = {n: await member(server, made, staff, n, token=t, device=devices[n])
                      for n, t in tokens.items()}
            # Back within the grace: still verified, so the quorum holds and B may vote.
            await people["委員B"].act("committee:vote_cast", {"vote": vote, "choice": "no"})
            again = await people["委員A"].call("committee:vote_cast",
                                              {"vote": vote, "choice": "no"})
            assert again["reason"] == "duplicate", "A's ballot survived the restart"
            await people["委員長"].act("committee:vote_close", {"vote": vote})
            s = await people["委員A"].expect(
                "committee:state", lambda s: bool(s["vote"] and s["vote"]["results"]))
            assert s["vote"]["results"]["by_member"] == {"m:委員A": "yes", "m:委員B": "no"}
            assert s["vote"]["state"] == "tie"
    finally:
        for c in made:
            await c.close()


class _Signer:
    """Just enough of a Server for ``invitation()`` before any server runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
