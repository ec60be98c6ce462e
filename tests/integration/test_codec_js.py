"""The browser's pose and motion codecs (web_client/src/net/poseCodec.js, motionCodec.js)
against the Python ones.

Python encodes known poses (edge cases and random ones) and a motion frame as the plane
assembles it into a fixture now; node decodes them with the JavaScript codecs, re-encodes
the records, encodes uplinks and reports; both must agree exactly (the compact pose to its
quantisation).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from avatar import codec
from avatar.pose import N_BLENDSHAPES, Pose, TrackingState
from server.motion import codec as motion
from tests.conftest import ROOT

SCRIPT = ROOT / "web_client" / "test" / "support" / "crosslang.mjs"


def poses() -> list[Pose]:
    rng = np.random.default_rng(3)
    out = [
        Pose(timestamp_ms=0),
        Pose(timestamp_ms=2**32 - 1, state=TrackingState.LOST, roll=180.0, pitch=-90.0,
             yaw=-179.99, position=(-32.767, 0.0, 32.767), weights=(1.0,) * N_BLENDSHAPES),
        Pose(timestamp_ms=123_456_789, state=TrackingState.VOICE, roll=-12.34, pitch=45.67,
             yaw=0.01, position=(0.012, -0.034, 0.056)),
    ]  # fmt: skip
    for _ in range(40):
        out.append(
            Pose(
                timestamp_ms=int(rng.integers(0, 2**32)),
                state=TrackingState(int(rng.integers(0, 4))),
                roll=float(rng.uniform(-180, 180)),
                pitch=float(rng.uniform(-90, 90)),
                yaw=float(rng.uniform(-180, 180)),
                position=tuple(float(v) for v in rng.uniform(-0.3, 0.3, 3)),  # type: ignore[arg-type]
                weights=tuple(float(v) for v in rng.uniform(0, 1, N_BLENDSHAPES)),
            )
        )
    return out


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    assert found, "node is needed for the web client's tests (make setup)"
    return found


def motion_frame(tick: int, records: list[bytes], plain: int) -> tuple[bytes, list[int]]:
    """A frame as the plane assembles it: posed entries (one per record), then plain ones."""
    rng = np.random.default_rng(5)
    slots = [int(s) for s in rng.choice(65536, len(records) + plain, replace=False)]
    entries = np.array(
        [motion.plain_entry(s, *rng.uniform(-320, 320, 2), rng.uniform(-4, 4)) for s in slots],
        dtype=motion.PLAIN_ENTRY,
    )
    posed = [entries[i].tobytes() + motion.compact_pose(r) for i, r in enumerate(records)]
    head = motion.frame_header(tick, len(records), plain)
    return b"".join((head, *posed, entries[len(records) :].tobytes())), slots


def test_javascript_decodes_what_python_encodes(node: str, tmp_path: Path) -> None:
    sample = poses()
    records = [codec.encode(p) for p in sample]
    frame, _ = motion_frame(2**32 - 3, records, 25)
    good = records[2]
    bad = [good[:-1], good + b"\x00", bytes([0x21]) + good[1:], bytes([0x14]) + good[1:],
           good[:5] + (18001).to_bytes(2, "little", signed=True) + good[7:]]  # fmt: skip
    bad_frames = [frame[:9], frame[:-1], frame + b"\x00", b"\x02" + frame[1:]]
    rng = np.random.default_rng(9)
    uplinks = [(float(x), float(z), float(h), records[i].hex() if i % 2 else None)
               for i, (x, z, h) in enumerate(rng.uniform(-50, 50, (20, 3)))]  # fmt: skip
    uplinks.append((400.0, -400.0, 7.0, None))  # clamped to the wire's range, h wrapped
    fixture = tmp_path / "poses.json"
    fixture.write_text(json.dumps({
        "records": [r.hex() for r in records], "frame": frame.hex(), "bad": [b.hex() for b in bad],
        "bad_frames": [b.hex() for b in bad_frames], "uplinks": uplinks,
    }))  # fmt: skip
    out = subprocess.run(
        [node, str(SCRIPT), str(fixture)], capture_output=True, text=True, timeout=60, check=True
    )
    report = json.loads(out.stdout)

    assert [r["reencoded"] for r in report["records"]] == [r.hex() for r in records]
    assert report["refused"] == [True] * len(bad)
    assert report["badFrames"] == [True] * len(bad_frames)
    for got, rec in zip(report["records"], records, strict=True):
        want = codec.decode(rec)
        js = got["pose"]
        assert js["t"] == want.timestamp_ms
        assert js["state"] == want.state.name.lower()
        assert (js["roll"], js["pitch"], js["yaw"]) == (want.roll, want.pitch, want.yaw)
        assert (js["x"], js["y"], js["z"]) == want.position
        assert np.allclose(js["weights"], want.weights, atol=1e-6)  # float32 in JS

    # The motion frame: every entry as Python's decoder reads it.
    tick, want_entries = motion.decode_frame(frame)
    assert report["frame"]["tick"] == tick == 2**32 - 3
    got_entries = report["frame"]["entries"]
    assert len(got_entries) == len(want_entries) == len(records) + 25
    for got, want in zip(got_entries, want_entries, strict=True):
        assert (got["slot"], got["x"], got["z"], got["h"]) == (want.slot, want.x, want.z, want.h)
        if want.pose is None:
            assert got["pose"] is None
            continue
        js, cp = got["pose"], want.pose
        assert js["t"] == tick * 50
        assert js["state"] == TrackingState(cp.state).name.lower()
        assert (js["roll"], js["pitch"], js["yaw"]) == (cp.roll, cp.pitch, cp.yaw)
        assert [round(v * 1000) for v in (js["x"], js["y"], js["z"])] == list(cp.position_mm)
        assert np.allclose(js["weights"], cp.weights, atol=1e-6)

    # Uplinks made in JavaScript are the bytes Python makes, and decode on the server.
    for (x, z, h, rec), js_hex in zip(uplinks, report["uplinks"], strict=True):
        pose = bytes.fromhex(rec) if rec else None
        assert js_hex == motion.encode_uplink(x, z, h, pose).hex(), (x, z, h)
        up = motion.decode_uplink(bytes.fromhex(js_hex))
        assert up.pose == pose
        assert abs(up.x - max(-327.67, min(327.67, x))) <= 0.005
