"""What the public record keeps of a closed session (秘密会), and who hears whom during it:
the pure parts (server/recording/closed.py, server/audio/routing.withhold)."""

from __future__ import annotations

from server.audio.routing import withhold
from server.recording.closed import closed_marker, redact_record


def test_redact_keeps_the_period_and_nothing_from_inside() -> None:
    record = {
        "closed": [{"start": 100.0, "by": "jimu", "reason": "人事案件", "end": 200.0,
                    "end_by": "jimu"}],
        "motions": [{"id": 1, "title": "公開の議案", "at": 50.0, "outcome": "adopted",
                     "decided_at": 150.0},
                    {"id": 2, "title": "秘密の議案", "at": 120.0, "outcome": None,
                     "decided_at": None},
                    {"id": 3, "title": "再開後の議案", "at": 250.0, "outcome": "rejected",
                     "decided_at": 260.0}],
        "votes": [{"id": 1, "motion": 1, "opened_at": 140.0},
                  {"id": 2, "motion": 3, "opened_at": 255.0}],
        "history": [{"member": "m:A", "status": "present", "at": 60.0},
                    {"member": "m:A", "status": "left", "at": 130.0}],
        "verifications": [{"member": "m:A", "at": 110.0}],
        "recusals": [{"member": "m:A", "motion": 2, "at": 125.0}],
        "quorum_log": [{"at": 130.0, "met": False}],
        "status": [{"member": "m:A", "status": "left", "at": 130.0, "by": "jimu",
                    "reason": "体調不良"}],
    }
    out = redact_record(record)
    assert [m["title"] for m in out["motions"]] == ["公開の議案", "再開後の議案"]
    assert out["motions"][0]["outcome"] is None, "decided inside: not told"
    assert out["motions"][1]["outcome"] == "rejected"
    assert [v["id"] for v in out["votes"]] == [2]
    assert [h["at"] for h in out["history"]] == [60.0]
    assert out["verifications"] == [] and out["recusals"] == [] and out["quorum_log"] == []
    assert out["status"][0]["reason"] == "" and out["status"][0]["by"] is None
    assert out["closed"] == [{"start": 100.0, "end": 200.0, "by": "", "reason": "",
                              "end_by": None}]
    assert "人事案件" not in repr(out) and "jimu" not in repr(out)


def test_a_session_still_closed_reaches_the_end() -> None:
    record = {"closed": [{"start": 100.0, "by": "c", "reason": "r", "end": None}],
              "votes": [{"id": 1, "opened_at": 10_000.0}]}
    assert redact_record(record)["votes"] == []


def test_nothing_closed_leaves_the_record_as_it_is() -> None:
    record = {"closed": [], "motions": [{"id": 1, "at": 1.0}]}
    assert redact_record(record) is record


def test_markers() -> None:
    assert closed_marker(True, 100.0) == {"action": "paused", "type": "committee.closed_session",
                                          "closed": True, "at": 100.0}
    assert closed_marker(False, 200.0, 100.0)["since"] == 100.0


def test_withheld_listeners_hear_nobody() -> None:
    wanted = {"citizen": ["chair"], "member": ["chair"], "staff": ["chair", "member"]}
    assert withhold(wanted, frozenset({"citizen"})) == {
        "citizen": [], "member": ["chair"], "staff": ["chair", "member"]}
