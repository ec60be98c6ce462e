"""The replay page's motion-log reader (web_client/src/replay/motionLog.js, timeline.js)
against the Python writer and reader (server/recording/motion_log.py).

Python writes a motion log as the recorder does (deflated and plain chunks, keyframes,
positions at 2 Hz, an avatar leaving the stage) and tears its tail; node parses it and
prints every record and the state at chosen times; both must agree exactly, and between
records the JavaScript pose is the linear interpolation of the two around it.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from avatar import codec
from avatar.pose import N_BLENDSHAPES, Pose, TrackingState
from server.recording.motion_log import KIND_POSE, MotionLog, MotionLogWriter
from tests.conftest import ROOT

SCRIPT = ROOT / "web_client" / "test" / "support" / "replay_motion.mjs"
JAW = 24  # jawOpen's index in the blendshape order


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    assert found, "node is needed for the web client's tests (make setup)"
    return found


def pose_at(slot: int, t_ms: int) -> bytes:
    """A pose whose angles are linear in time (so interpolation is exact up to rounding)."""
    weights = [0.0] * N_BLENDSHAPES
    weights[JAW] = (t_ms % 2000) / 2000
    return codec.encode(Pose(t_ms, TrackingState.TRACKED, roll=slot * 10 + t_ms / 1000,
                             pitch=-t_ms / 2000, yaw=slot - t_ms / 500, weights=tuple(weights)))


def write_log(*, compress: bool) -> bytes:
    out = io.BytesIO()
    writer = MotionLogWriter(out, compress=compress)
    for t in range(0, 25_000, 50):
        for slot in (3, 7):
            if slot == 7 and 12_000 <= t < 15_000:
                continue  # 7 leaves the stage for 3 s, then comes back
            writer.pose(t, slot, pose_at(slot, t))
        if t == 12_000:
            writer.gone(t, 7)
        if t % 500 == 0:
            writer.positions(t, [(3, 100, -200, 0), (7, -150, -200, 1000),
                                 (40, t // 100, 300, -31415)])
        if t % 1000 == 950:
            writer.flush(t + 50)
    writer.flush(25_000)
    return out.getvalue()


@pytest.mark.parametrize("compress", [True, False])
def test_javascript_reads_what_python_writes(node: str, tmp_path: Path, compress: bool) -> None:
    data = write_log(compress=compress)
    torn = data + data[8:40]  # half a chunk after the last: a killed writer's tail
    path = tmp_path / "motion.bin"
    path.write_bytes(torn)
    times = [0, 1_000, 5_025, 9_990, 10_010, 12_020, 13_000, 15_075, 24_950, 30_000]
    out = subprocess.run([node, str(SCRIPT), str(path), json.dumps(times)],
                         capture_output=True, text=True, timeout=60, check=True)
    report = json.loads(out.stdout)
    log = MotionLog(torn)

    assert report["tornBytes"] == log.torn_bytes == 32
    assert report["chunks"] == [[c.t0_ms, c.keyframe] for c in log.chunks]
    assert sum(k for _, k in report["chunks"]) >= 3, "keyframes every 10 s"
    want = []
    for kind, t, slot, payload in log.records():
        if isinstance(payload, bytes):
            want.append([kind, t, slot, payload.hex()])
        else:
            want.append([kind, t, slot, [list(e) for e in payload]])
    assert report["records"] == want
    assert report["stage"] == [3, 7]

    for sample in report["samples"]:
        t = sample["t"]
        state = log.state_at(t)
        for slot in (3, 7, 40):
            got = sample["at"][str(slot)]
            if slot not in state.poses:
                assert got["pose"] is None, (t, slot)
            else:
                last = codec.decode(state.poses[slot])
                nxt = codec.decode(pose_at(slot, min(t - t % 50 + 50, 24_950)))
                assert got["pose"] is not None, (t, slot)
                if t == state.pose_times[slot] or t >= 24_950:
                    assert got["pose"]["roll"] == last.roll
                # Between two records: within them, and linear (the rounding of 0.01°).
                lo, hi = sorted((last.roll, nxt.roll))
                assert lo - 1e-9 <= got["pose"]["roll"] <= hi + 1e-9, (t, slot)
                expect = slot * 10 + min(t, 24_950) / 1000
                assert abs(got["pose"]["roll"] - expect) < 0.011, (t, slot)
                assert abs(got["pose"]["yaw"] - (slot - min(t, 24_950) / 500)) < 0.011
            if slot not in state.positions:
                assert got["pos"] is None, (t, slot)
            else:
                _s, x, z, h = state.positions[slot]
                if t % 500 == 0:  # at a positions record: exactly it
                    assert (got["pos"]["x"], got["pos"]["z"]) == (x / 100, z / 100)
                    assert abs(got["pos"]["h"] - h / 1e4) < 1e-9
    gone = next(s for s in report["samples"] if s["t"] == 13_000)["at"]["7"]
    assert gone["pose"] is None, "slot 7 left the stage at 12 s"
    assert gone["pos"] is not None, "but not the room: its positions go on"
    back = next(s for s in report["samples"] if s["t"] == 15_075)["at"]["7"]
    assert back["pose"] is not None, "and came back at 15 s"
    assert any(r[0] == KIND_POSE for r in report["records"])
