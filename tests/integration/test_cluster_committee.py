"""A committee meeting in cluster mode (issue 16): a real redis-server, two Hiroba nodes
sharing one data folder (A leads, B is an edge that may lead), real socket.io clients and
aiortc peers. One set of nodes for the module: the scenario is one meeting.

- A closed session (秘密会) holds a citizen whose socket is on the edge out: not one audio
  packet (counted as RTP on the wire) nor motion frame of the room reaches them while it
  lasts, a member on the edge still hears the speaker, and the citizen gets both again
  when it reopens.
- Identity-check video through the edge: a member on B publishes a camera, the chair on B
  and staff on A view it; the peers are the leader's (its log says so).
- A failover during a vote keeps it: a named vote open, one ballot cast, the leader killed
  with SIGKILL; B takes over, the members' sockets on B are joined again by themselves, the
  vote is still open with that ballot, the other member casts, the chair closes, and the
  result by name is right and in the minutes once.
"""

from __future__ import annotations

import asyncio
import struct
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription

from avatar import codec as pose_codec
from avatar.pose import Pose, TrackingState
from bench.clients.audio_peers import Listener, Tone, speak, take_rtp
from bench.clients.video_peers import SolidColour, Viewer, close_to, publish
from bench.cluster import Node
from rooms.model import Role
from server.motion import codec
from server.rtc.ice import rtc_configuration, use_host_addresses
from tests.conftest import eventually
from tests.integration.test_closed_session import drain, frames_of
from tests.integration.test_cluster import Cluster, _add_staff, joined, server_of, signal
from tests.integration.test_committee_flow import watch
from tests.meetings import COMMITTEE, MeetingClient, invitation, login

CONFIG = rtc_configuration([])
FLAGS = ("--ice-host-addresses", "127.0.0.1")
RED = (210, 40, 40)


class Meeting:
    """The nodes, the people and every peer of the scenario, closed at the end."""

    def __init__(self, cluster: Cluster, a: Node, b: Node) -> None:
        self.cluster = cluster
        self.a, self.b = a, b
        self.pcs: list[RTCPeerConnection] = []
        self.listeners: list[Listener] = []
        self.viewers: list[Viewer] = []
        self.http: list[tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]] = []

    @classmethod
    async def start(cls, cluster: Cluster) -> Meeting:
        """Node A first (it takes the lease), then B while staff are added to A's data (a
        loaded machine takes seconds for each process)."""
        a = cluster.node("a", *FLAGS)
        b, _ = await asyncio.gather(asyncio.to_thread(cluster.node, "b", *FLAGS),
                                    _add_staff(a))
        return cls(cluster, a, b)

    async def staff(self, node: Node) -> MeetingClient:
        cookie, _ = await login(SimpleNamespace(url=node.url))  # type: ignore[arg-type]
        staff = await self.cluster.client(node, cookie)
        staff.ack = await staff.act("console:join", {"room": COMMITTEE})
        return staff

    async def person(self, node: Node, staff: MeetingClient, name: str,
                     role: Role | None) -> MeetingClient:
        """Someone joining the committee room through ``node`` (invited as ``role``, or a
        citizen), admitted from the lobby by ``staff`` if they wait there."""
        client = watch(await self.cluster.client(node))
        extra = {} if role is None else {
            "token": invitation(server_of(self.a), COMMITTEE, role, name)}
        ack = await joined(client, name, room=COMMITTEE, **extra)
        if ack.get("place") == "lobby":
            await staff.act("lobby:admit", {"target": ack["self"]})
            client.ack = await client.expect("meeting:admitted", within=5)
        return client

    async def rtp_listener(self, client: MeetingClient) -> list[int]:
        """An audio listener peer of ``client``'s: the sequence number of every RTP packet
        that reaches it, as it arrives (nothing decoded)."""
        rtp: list[int] = []
        peer = RTCPeerConnection(CONFIG)
        self.pcs.append(peer)
        for _ in range(2):
            peer.addTransceiver("audio", direction="recvonly")
        await peer.setLocalDescription(await peer.createOffer())
        take_rtp(peer, lambda packet: rtp.append(struct.unpack_from("!H", packet, 2)[0]))
        answer = await client.act("audio:listen", {"sdp": peer.localDescription.sdp,
                                                   "slots": 2})
        await peer.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"],
                                                              type="answer"))
        return rtp

    async def close(self) -> None:
        for listener in self.listeners:
            await listener.close()
        for viewer in self.viewers:
            await viewer.close()
        for pc in self.pcs:
            await pc.close()


async def test_a_committee_across_two_nodes(tmp_path: Path) -> None:
    use_host_addresses(["127.0.0.1"])
    cluster = Cluster(tmp_path)
    meeting: Meeting | None = None
    try:
        meeting = await Meeting.start(cluster)
        staff = await meeting.staff(meeting.a)
        b = meeting.b
        people = {
            "委員長": await meeting.person(b, staff, "委員長", Role.CHAIR),
            "委員A": await meeting.person(b, staff, "委員A", Role.MEMBER),
            "委員B": await meeting.person(b, staff, "委員B", Role.MEMBER),
        }
        citizen = await meeting.person(b, staff, "市民", None)
        await closed_session_on_the_edge(meeting, staff, people, citizen)
        await identity_video_through_the_edge(meeting, staff, people)
        await failover_during_a_vote(meeting, people)
    finally:
        if meeting is not None:
            await meeting.close()
        await cluster.close()
        use_host_addresses([])


async def closed_session_on_the_edge(meeting: Meeting, staff: MeetingClient,
                                     people: dict[str, MeetingClient],
                                     citizen: MeetingClient) -> None:
    speaker, hearer = people["委員A"], people["委員B"]
    # 委員A holds the floor and speaks a 1 kHz tone through node B.
    await speaker.act("hand:raise")
    await staff.act("floor:give", {"limit": 600})
    await speaker.expect("meeting:floor", lambda f: f["holder"] == speaker.ack["self"])
    meeting.pcs.append(await speak(CONFIG, signal(speaker, "audio:publish"), "", "",
                                   Tone(1000)))
    # 委員B listens through node B (decoded); the citizen too, counting every RTP packet
    # that reaches its peer.
    ears = Listener(CONFIG, 3)
    meeting.listeners.append(ears)
    await ears.connect(signal(hearer, "audio:listen"), "", "")
    rtp = await meeting.rtp_listener(citizen)
    # 委員A's avatar moves (a new pose each time); the citizen's /motion is on node B.
    m_ws = await meeting.cluster.motion(meeting.b, speaker.ack)
    c_ws = await meeting.cluster.motion(meeting.b, citizen.ack)
    me = next(p for p in speaker.ack["snapshot"]["participants"]
              if p["id"] == speaker.ack["self"])
    roll = [0.0]

    async def move() -> None:
        roll[0] = (roll[0] + 7.0) % 60
        record = pose_codec.encode(Pose(1, TrackingState.TRACKED, roll=roll[0]))
        await m_ws.send_bytes(codec.encode_uplink(me["x"], me["z"], me["h"], record))

    await eventually(lambda: len(rtp) > 20, within=10, what="the citizen's packets before")
    await eventually(lambda: 1000 in ears.tones(), within=8, what="委員B hears before")
    assert await frames_of(c_ws, me["slot"], 0.6, move) > 0, "motion before"

    await staff.act("committee:closed_session", {"closed": True, "reason": "個人情報"})
    await citizen.expect("meeting:notice", lambda n: n["kind"] == "closed_session")
    # Someone joining through the edge while it is closed is held out from the start.
    late = await meeting.person(meeting.b, staff, "遅れた市民", None)
    late_rtp = await meeting.rtp_listener(late)
    await asyncio.sleep(0.3)  # packets already on the wire when it closed
    rtp.clear()
    ears.clear()
    await asyncio.sleep(1.0)
    assert late_rtp == [], f"{len(late_rtp)} audio packets reached the late joiner"
    assert rtp == [], f"{len(rtp)} audio packets reached the held-out citizen on the edge"
    assert 1000 in ears.tones(), "a member on the edge still hears"
    await drain(c_ws)
    assert await frames_of(c_ws, me["slot"], 0.6, move) == 0, "no motion frames on the edge"

    await staff.act("committee:closed_session", {"closed": False})
    await citizen.expect("meeting:notice", lambda n: n["kind"] == "closed_session_ended")
    await eventually(lambda: len(rtp) > 20 and len(late_rtp) > 20, within=8,
                     what="the citizens' packets after")
    assert await frames_of(c_ws, me["slot"], 0.6, move) > 0, "motion after"


async def identity_video_through_the_edge(meeting: Meeting, staff: MeetingClient,
                                          people: dict[str, MeetingClient]) -> None:
    """A member on the edge publishes, the chair on the edge and staff on the leader view:
    the events are the leader's (forwarded), so are the peers."""
    chair, member = people["委員長"], people["委員A"]

    def view_through(client: MeetingClient, slots: int) -> Any:
        async def exchange(sdp: str) -> str:
            ack = await client.act("identity:view", {"type": "offer", "sdp": sdp,
                                                     "slots": slots})
            return str(ack["sdp"])
        return exchange

    answers: list[str] = []

    async def camera(sdp: str) -> str:
        ack = await member.act("identity:publish", {"type": "offer", "sdp": sdp})
        answers.append(str(ack["sdp"]))
        return str(ack["sdp"])

    chair.sio.on("identity:slots", chair._recorder("identity:slots"))

    chair_view, staff_view = Viewer(CONFIG, 1), Viewer(CONFIG, 1)
    meeting.viewers += [chair_view, staff_view]
    await chair_view.connect(view_through(chair, 1))
    await staff_view.connect(view_through(staff, 1))
    meeting.pcs.append(await publish(CONFIG, camera, SolidColour(RED)))
    await eventually(lambda: close_to(chair_view.colours[0], RED), within=10,
                     what="the chair on the edge sees the member's camera")
    await eventually(lambda: close_to(staff_view.colours[0], RED), within=10,
                     what="staff on the leader see the member's camera")
    # The leader made the peer (and logged it), with its own ICE candidates; its word on
    # the slots reached the chair's socket on the edge.
    assert "identity camera on in" in meeting.a.log(), "the camera peer is the leader's"
    assert "identity camera on in" not in meeting.b.log()
    candidates = [line for line in answers[0].splitlines() if line.startswith("a=candidate")]
    assert candidates and all(" 127.0.0.1 " in line for line in candidates), candidates
    await chair.expect("identity:slots", lambda d: d["slots"][0] is not None
                       and d["slots"][0]["pid"] == member.ack["self"])
    await member.act("identity:stop", {})
    for viewer in (chair, staff):
        await viewer.act("identity:stop", {})


async def failover_during_a_vote(meeting: Meeting, people: dict[str, MeetingClient]) -> None:
    chair, a, b = people["委員長"], people["委員A"], people["委員B"]
    await chair.act("committee:rollcall", {"open": True})
    for c in people.values():
        await c.act("committee:present")
    await chair.act("committee:rollcall", {"open": False})
    for name in people:
        await chair.act("committee:verify", {"member": f"m:{name}", "method": "video"})
    motion = (await chair.act("committee:motion", {"title": "議案第1号"}))["motion"]
    vote = (await chair.act("committee:vote_open", {"motion": motion, "method": "named"}))["vote"]
    await a.act("committee:vote_cast", {"vote": vote, "choice": "yes"})

    meeting.a.kill()  # SIGKILL: the leader stops without a word
    # B takes over (lease 1.5 s), loads the meetings and joins its sockets again: A's
    # second ballot is then refused as a duplicate (the first survived), not `not_joined`
    # or `unavailable`.
    deadline = time.monotonic() + 20
    while True:
        try:
            ack = await a.call("committee:vote_cast", {"vote": vote, "choice": "no"})
        except Exception as exc:  # no answer while the leader changes
            ack = {"ok": False, "reason": type(exc).__name__}
        if ack.get("reason") == "duplicate" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    assert ack.get("reason") == "duplicate", ack
    assert all(c.sio.connected for c in people.values()), "the pages noticed nothing"
    staff = await meeting.staff(meeting.b)
    kept = staff.ack["meeting"]["committee"]
    assert kept["vote"]["id"] == vote and kept["vote"]["state"] == "open", kept["vote"]
    assert kept["vote"]["cast"] == {"m:委員A": True}, kept["vote"]
    rid = (await staff.act("recording:start", {"room": COMMITTEE}))["id"]
    await b.act("committee:vote_cast", {"vote": vote, "choice": "yes"})
    await chair.act("committee:vote_close", {"vote": vote})
    done = await a.expect("committee:state", lambda s: bool(
        s["vote"] and s["vote"]["id"] == vote and s["vote"]["results"]), within=5)
    assert done["vote"]["results"]["by_member"] == {"m:委員A": "yes", "m:委員B": "yes"}
    assert (done["vote"]["state"], done["vote"]["results"]["outcome"]) == ("closed", "passed")
    await staff.act("recording:stop", {"room": COMMITTEE})
    async with aiohttp.ClientSession(headers={"Cookie": staff.cookie or ""}) as http, http.get(
        meeting.b.url + f"/api/recordings/{rid}/minutes", params={"format": "md"}
    ) as resp:
        text = await resp.text()
        assert resp.status == 200, text
    assert text.count("議案第1号") == 1, text
    assert text.count("| 委員A | 賛成 |") == 1 and text.count("| 委員B | 賛成 |") == 1, text
