"""The cluster's pure parts: message codecs, the motion replica, tokens, signed headers."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avatar import codec as pose_codec
from avatar.pose import Pose, TrackingState
from moderation.resume import RESUME_TTL_SECONDS, issue_resume, verify_resume
from moderation.tokens import encode
from rooms.errors import HirobaError, Reason, ValidationError
from rooms.interest import InterestConfig
from server.cluster.audio_relay import decode_packets, encode_packets
from server.cluster.http_forward import forwarded, sign_client, verify_client
from server.cluster.messages import pack_payload, unpack_payload
from server.cluster.motion_relay import (
    MotionTokens,
    apply_state,
    decode_state,
    decode_uplinks,
    encode_state,
    encode_uplinks,
)
from server.motion import codec
from server.motion.plane import MotionPlane
from tests.motion_doubles import QuietTransport

SECRET = b"s" * 32


def plane() -> MotionPlane:
    def mover(room: str, pid: str, x: float, z: float, h: float) -> tuple[float, float, float]:
        return x, z, h

    return MotionPlane(InterestConfig(), mover, capacity_of=lambda _room: 16)


def test_state_round_trip_builds_the_same_replica() -> None:
    leader = plane()
    leader.add_room("plaza", 16)
    leader.join("plaza", "p_a", 1, 1.5, -2.25, 0.5, on_stage=False)
    leader.join("plaza", "p_b", 2, 0.0, 30.0, 3.0, on_stage=True)
    record = pose_codec.encode(Pose(1, TrackingState.TRACKED, roll=12.0))
    leader.set_pose("plaza", "p_b", record, echo=True)
    tick, at, states = decode_state(encode_state(leader, ["plaza", "nowhere"], 12.5))
    assert tick == leader.tick_number and at == 12.5 and [s.room for s in states] == ["plaza"]
    edge = plane()
    held: set[str] = set()
    assert apply_state(edge, states[0], 1.0, held) == []
    room = edge.rooms["plaza"]
    rows = {pid: row for row, pid in room.pids.items()}
    assert set(rows) == {"p_a", "p_b"}
    src = leader.rooms["plaza"]
    src_rows = {pid: row for row, pid in src.pids.items()}
    for pid in rows:
        assert room.plain[rows[pid]].tobytes() == src.plain[src_rows[pid]].tobytes()
    assert room.records[rows["p_b"]] == record and room.records[rows["p_a"]] is None
    assert room.table.on_stage[rows["p_b"]] and room.table.echo[rows["p_b"]]
    assert tuple(room.table.xz[rows["p_a"]]) == (1.5, -2.25)
    assert states[0].held == frozenset()
    # Held out of a closed session (秘密会) on the leader: the state says so.
    leader.set_withheld("plaza", frozenset({"p_a"}))
    _, _, states = decode_state(encode_state(leader, ["plaza"]))
    assert states[0].held == frozenset({"p_a"})
    leader.set_withheld("plaza", frozenset())
    # Someone leaves: the replica drops them; a placeholder not yet confirmed stays.
    leader.leave("plaza", "p_a")
    edge.rooms["plaza"].add("p_new", 0, 0, 0, 0, False)
    held.add("p_new")
    _, _, states = decode_state(encode_state(leader, ["plaza"]))
    apply_state(edge, states[0], 2.0, held)
    assert set(edge.rooms["plaza"].pids.values()) == {"p_b", "p_new"}


def test_plane_switches_between_leading_and_following() -> None:
    """What a cluster node sets on its motion plane: where uplinks go, whose tick number
    the frames carry, and the tokens any node can check."""
    edge = plane()
    edge.add_room("plaza", 16)
    edge.join("plaza", "p_a", 1, 0.0, 0.0, 0.0, on_stage=False)
    relayed: list[tuple[str, str, bytes]] = []
    edge.relay_uplinks_to(lambda room, pid, raw: relayed.append((room, pid, raw)))
    up = codec.encode_uplink(2.0, 3.0, 0.0)
    edge.uplink("plaza", "p_a", up)
    assert relayed == [("plaza", "p_a", up)]
    assert tuple(edge.rooms["plaza"].table.xz[0]) == (0.0, 0.0)  # not applied here
    edge.relay_uplinks_to(None)  # now it leads: applied here, relayed no more
    edge.uplink("plaza", "p_a", up)
    assert len(relayed) == 1 and tuple(edge.rooms["plaza"].table.xz[0]) == (2.0, 3.0)
    # A follower ticks on the leader's number; on its own it counts on from there.
    asyncio.run(edge.tick(number=41))
    assert edge.tick_number == 41
    asyncio.run(edge.tick())
    assert edge.tick_number == 42
    tokens = MotionTokens(SECRET)
    edge.use_tokens(tokens.make, tokens.resolve)
    token = edge.join("plaza", "p_b", 2, 1.0, 1.0, 0.0, on_stage=False)
    assert tokens.resolve(token) == ("plaza", "p_b")
    other = tokens.make("plaza", "p_c")  # made by another node
    assert edge.attach(other, QuietTransport()) == ("plaza", "p_c")


def test_uplink_and_packet_batches_round_trip() -> None:
    ups = {("plaza", "p_a"): b"\x01\x02", ("committee", "p_b"): b""}
    assert decode_uplinks(encode_uplinks(ups)) == [("plaza", "p_a", b"\x01\x02"),
                                                    ("committee", "p_b", b"")]
    packets = [("r", "p_a", b"opus", 4_000_000_000, -20.5, True), ("r", "p_b", b"", 0, -127.0,
                                                                      False)]
    node, back = decode_packets(encode_packets("node-a", packets))
    assert node == "node-a" and back == packets


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_cluster_decoders_refuse_junk_with_a_reason(data: bytes) -> None:
    for decode in (decode_state, decode_uplinks, decode_packets):
        try:
            decode(data)
        except ValidationError as exc:
            assert exc.reason is Reason.BAD_PAYLOAD


def test_motion_tokens_any_node_can_check() -> None:
    tokens = MotionTokens(SECRET)
    token = tokens.make("park-consultation", "p_0123456789")
    assert MotionTokens(SECRET).resolve(token) == ("park-consultation", "p_0123456789")
    assert MotionTokens(b"x" * 32).resolve(token) is None
    body, mac = token.split(".")
    flipped = mac[:5] + ("A" if mac[5] != "A" else "B") + mac[6:]
    assert tokens.resolve(body + "." + flipped) is None
    assert tokens.resolve("garbage") is None and tokens.resolve("a.b.c") is None
    # Another kind of token signed with the secret itself is no motion token.
    assert tokens.resolve(issue_resume(SECRET, "park-consultation", "p_0123456789", "d_x",
                                       time.time())) is None


def test_resume_tokens() -> None:
    now = time.time()
    token = issue_resume(SECRET, "plaza", "p_1", "d_dev", now, "room")
    claim = verify_resume(SECRET, token, "plaza", "d_dev", now)
    assert (claim.pid, claim.place, claim.issued_at) == ("p_1", "room", int(now))
    # A token from before the place was written says nothing about it.
    old = encode(SECRET, {"typ": "resume", "room": "plaza", "pid": "p_1", "dev": "d_dev",
                          "exp": int(now) + RESUME_TTL_SECONDS})
    claim = verify_resume(SECRET, old, "plaza", "d_dev", now)
    assert (claim.pid, claim.place, claim.issued_at) == ("p_1", "", int(now))
    for claims in ([1, 2], "text", {"typ": "resume", "room": "plaza"},
                   {"typ": "resume", "room": "plaza", "pid": "p_1", "dev": "d_dev",
                    "exp": "soon"}):
        with pytest.raises(HirobaError) as info:
            verify_resume(SECRET, encode(SECRET, claims), "plaza", "d_dev", now)  # type: ignore[arg-type]
        assert info.value.reason is Reason.BAD_TOKEN
    for room, device, at, secret in (("other", "d_dev", now, SECRET),
                                     ("plaza", "d_x", now, SECRET),
                                     ("plaza", None, now, SECRET),
                                     ("plaza", "d_dev", now + 7 * 3600, SECRET),
                                     ("plaza", "d_dev", now, b"y" * 32)):
        with pytest.raises(HirobaError) as info:
            verify_resume(secret, token, room, device, at)
        assert info.value.reason is Reason.BAD_TOKEN
    with pytest.raises(HirobaError):
        verify_resume(SECRET, "x" * 500, "plaza", "d_dev", now)


def test_forwarded_client_header() -> None:
    now = time.time()
    header = sign_client(SECRET, "203.0.113.9", "https", "hiroba.example.jp", now)
    assert verify_client(SECRET, header, now) == ("203.0.113.9", "https", "hiroba.example.jp")
    assert verify_client(SECRET, header, now + 60) is None, "too old"
    assert verify_client(b"k" * 32, header, now) is None
    assert verify_client(SECRET, header.replace("203.0.113.9", "10.0.0.1"), now) is None
    assert verify_client(SECRET, "junk", now) is None


def test_payloads_cross_nodes_with_binary_intact() -> None:
    payload = [{"a": b"\x00\xff", "b": [1, "x", None]}, b"raw"]
    assert unpack_payload(pack_payload(payload)) == payload


def test_which_http_calls_an_edge_passes_on() -> None:
    class Req:
        def __init__(self, method: str, path: str) -> None:
            self.method, self.path = method, path

    assert forwarded(Req("GET", "/api/rooms"))  # type: ignore[arg-type]
    assert forwarded(Req("POST", "/api/login"))  # type: ignore[arg-type]
    assert forwarded(Req("POST", "/api/recordings/x/publish"))  # type: ignore[arg-type]
    assert not forwarded(Req("GET", "/api/recordings/x/files/a.opus"))  # type: ignore[arg-type]
    assert not forwarded(Req("GET", "/app/main.js"))  # type: ignore[arg-type]
    assert not forwarded(Req("GET", "/api/motion/stats"))  # type: ignore[arg-type]
