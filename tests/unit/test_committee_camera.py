"""Voting on camera (the committee rule ``camera_during_vote``) and the chair's request for
a member's camera, in the pure core (moderation/committee.py, quorum.py): a ballot without
a live camera is refused ``camera_required`` when the vote requires it, every ballot keeps
whether it was cast on camera, requests are recorded, and both survive the stored form."""

from __future__ import annotations

import pytest

from moderation.committee import Committee, committee_summary
from moderation.quorum import QuorumRule
from rooms.errors import HirobaError, Reason

CHAIR = "m:委員長"


def committee(camera: bool) -> Committee:
    """A chair and three members, connected, present and verified; the rule as given."""
    c = Committee("c", QuorumRule(camera_during_vote=camera))
    c.set_roster([(CHAIR, "委員長", "chair"),
                  *((f"m:{i}", f"委員{i}", "member") for i in range(3))], 0.0)
    for i, m in enumerate(c.members):
        c.arrive(m, f"p_{i:010x}", 1.0)
    c.open_rollcall(True, 2.0, by="staff")
    for m in c.members:
        c.answer(m, 3.0)
        c.verify(m, "video", None, 4.0, by="chair")
    c.open_rollcall(False, 5.0, by="staff")
    c.propose("議案", 6.0, by="chair")
    return c


def test_the_rule_parses_and_defaults_off() -> None:
    assert QuorumRule().camera_during_vote is False
    assert QuorumRule.parse({"camera_during_vote": True}).camera_during_vote is True
    assert QuorumRule.parse({"fraction": "2/3"}).camera_during_vote is False
    with pytest.raises(HirobaError) as exc:
        QuorumRule.parse({"camera_during_vote": "yes"})
    assert exc.value.reason is Reason.BAD_FIELD


@pytest.mark.parametrize(("method", "choice"), [
    ("named", "yes"), ("named", "abstain"), ("hands", "yes"), ("standing", "yes"),
    ("assent", "object"),
])
def test_required_camera_refuses_a_ballot_without_it(method: str, choice: str) -> None:
    c = committee(camera=True)
    c.open_vote(1, method, 7.0, by="chair")
    with pytest.raises(HirobaError) as exc:
        c.cast("m:0", 1, choice, 8.0, camera=False)
    assert exc.value.reason is Reason.CAMERA_REQUIRED
    assert c.votes[1].choices == () and c.votes[1].camera == ()  # nothing was kept
    c.cast("m:0", 1, choice, 8.5, camera=True)
    assert dict(c.votes[1].choices) == {"m:0": choice}
    assert dict(c.votes[1].camera) == {"m:0": True}


@pytest.mark.parametrize("method", ["hands", "standing", "assent"])
def test_none_needs_no_camera(method: str) -> None:
    """Lowering a hand, sitting down, withdrawing an objection: what casting nothing
    counts as anyway, so a member whose camera failed is never held to a choice."""
    c = committee(camera=True)
    c.open_vote(1, method, 7.0, by="chair")
    c.cast("m:0", 1, "object" if method == "assent" else "yes", 8.0, camera=True)
    c.cast("m:0", 1, "none", 9.0, camera=False)
    assert dict(c.votes[1].choices) == {"m:0": "none"}
    assert dict(c.votes[1].camera) == {"m:0": False}


def test_without_the_rule_a_ballot_is_taken_and_its_camera_kept() -> None:
    c = committee(camera=False)
    c.open_vote(1, "named", 7.0, by="chair")
    c.cast("m:0", 1, "yes", 8.0, camera=False)
    c.cast("m:1", 1, "no", 8.1, camera=True)
    c.cast("m:2", 1, "yes", 8.2)
    c.close_vote(1, 9.0, by="chair")
    v = c.votes[1]
    assert not v.camera_required
    assert dict(v.camera) == {"m:0": False, "m:1": True, "m:2": False}
    view = c.vote_view(v)
    assert view["camera_required"] is False
    assert view["camera"] == {"m:0": False, "m:1": True, "m:2": False}
    by_name = committee_summary(c.to_record())["motions"][0]["votes"][0]["by_name"]  # type: ignore[index]
    assert {r["member"]: r["camera"] for r in by_name} == {
        "m:0": False, "m:1": True, "m:2": False}


def test_the_rule_at_opening_governs_the_vote() -> None:
    c = committee(camera=False)
    c.open_vote(1, "named", 7.0, by="chair")
    c.set_rule(QuorumRule(camera_during_vote=True), 7.5)
    c.cast("m:0", 1, "yes", 8.0, camera=False)  # opened without the rule
    assert c.state()["rule"]["camera_during_vote"] is True  # type: ignore[index]
    c.close_vote(1, 9.0, by="chair")
    c.propose("次の議案", 9.5, by="chair")
    c.open_vote(2, "named", 10.0, by="chair")
    assert c.votes[2].camera_required
    with pytest.raises(HirobaError) as exc:
        c.cast("m:0", 2, "yes", 11.0, camera=False)
    assert exc.value.reason is Reason.CAMERA_REQUIRED


def test_other_refusals_come_before_the_camera() -> None:
    c = committee(camera=True)
    c.open_vote(1, "named", 7.0, by="chair")
    with pytest.raises(HirobaError) as exc:
        c.cast(CHAIR, 1, "yes", 8.0, camera=False)
    assert exc.value.reason is Reason.FORBIDDEN
    c.cast("m:0", 1, "yes", 8.0, camera=True)
    with pytest.raises(HirobaError) as exc:
        c.cast("m:0", 1, "no", 8.5, camera=False)
    assert exc.value.reason is Reason.DUPLICATE


def test_a_camera_request_is_recorded_for_a_connected_member_only() -> None:
    c = committee(camera=True)
    events = c.ask_camera("m:1", 7.0, by="chair")
    assert [e.change for e in events] == ["camera_asked"]  # type: ignore[attr-defined]
    with pytest.raises(HirobaError) as exc:
        c.ask_camera("m:nobody", 7.1, by="chair")
    assert exc.value.reason is Reason.NOT_MEMBER
    c.depart("p_0000000002", 7.2)  # m:1's only connection
    with pytest.raises(HirobaError) as exc:
        c.ask_camera("m:1", 7.3, by="chair")
    assert exc.value.reason is Reason.WRONG_STATE
    attendance = {a["member"]: a for a in committee_summary(c.to_record())["attendance"]}  # type: ignore[union-attr]
    assert attendance["m:1"]["camera_requests"] == [{"by": "chair", "at": 7.0}]
    assert attendance["m:0"]["camera_requests"] == []


def test_camera_flags_and_requests_survive_the_stored_form() -> None:
    from server.meetings.store import committee_record
    from server.storage.records import from_json, to_json

    c = committee(camera=True)
    c.ask_camera("m:0", 6.5, by="chair")
    c.open_vote(1, "hands", 7.0, by="chair")
    c.cast("m:0", 1, "yes", 8.0, camera=True)
    record = c.to_record()
    back = committee_record(to_json(record))
    assert back == record
    assert back.votes[0].camera_required and dict(back.votes[0].camera) == {"m:0": True}
    assert back.camera_requests[0].member == "m:0"
    rule = QuorumRule(camera_during_vote=True)
    assert from_json(QuorumRule, to_json(rule)) == rule
    assert from_json(QuorumRule, '{"fraction":"1/2"}').camera_during_vote is False


async def test_a_camera_is_live_while_its_rtp_is_fresh() -> None:
    """IdentityPlane.camera_live: the camera's peer open and a packet within 2 s."""
    from aiortc import RTCPeerConnection

    from server.identity.plane import IdentityPlane, _Camera
    from server.rtc.ice import rtc_configuration

    now = [100.0]
    plane = IdentityPlane(config_of=lambda: rtc_configuration([]), clock=lambda: now[0])
    peer = _Camera("p_cam", "room", RTCPeerConnection(rtc_configuration([])))
    try:
        assert not plane.camera_live("p_cam")  # no peer
        plane._cameras["p_cam"] = peer
        assert not plane.camera_live("p_cam")  # open, but nothing sent yet
        plane._forward(peer, 1234, 1, 1, 90_000, b"\x10")
        assert plane.camera_live("p_cam")
        now[0] += 1.9
        assert plane.camera_live("p_cam")
        now[0] += 0.2
        assert not plane.camera_live("p_cam"), "stale: the camera stopped sending"
        plane._forward(peer, 1234, 1, 2, 93_000, b"\x10")
        assert plane.camera_live("p_cam")
        peer.closed = True
        assert not plane.camera_live("p_cam")
    finally:
        await peer.pc.close()
