"""The browser's pose codec (web_client/src/net/poseCodec.js) against the Python one.

Python encodes known poses (edge cases and random ones) into a fixture now; node decodes
it with the JavaScript codec, re-encodes it and reports; both must agree exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from avatar import codec
from avatar.frame import encode_frame
from avatar.pose import N_BLENDSHAPES, Pose, TrackingState
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


def test_javascript_decodes_what_python_encodes(node: str, tmp_path: Path) -> None:
    sample = poses()
    records = [codec.encode(p) for p in sample]
    frame = encode_frame([(i * 997 % 65536, r) for i, r in enumerate(records)])
    good = records[2]
    bad = [good[:-1], good + b"\x00", bytes([0x21]) + good[1:], bytes([0x14]) + good[1:],
           good[:5] + (18001).to_bytes(2, "little", signed=True) + good[7:]]  # fmt: skip
    fixture = tmp_path / "poses.json"
    fixture.write_text(json.dumps({
        "records": [r.hex() for r in records], "frame": frame.hex(), "bad": [b.hex() for b in bad],
    }))  # fmt: skip
    out = subprocess.run(
        [node, str(SCRIPT), str(fixture)], capture_output=True, text=True, timeout=60, check=True
    )
    report = json.loads(out.stdout)

    assert [r["reencoded"] for r in report["records"]] == [r.hex() for r in records]
    assert report["frame"]["reencoded"] == frame.hex()
    assert report["refused"] == [True] * len(bad)
    for got, rec in zip(report["records"], records, strict=True):
        want = codec.decode(rec)
        js = got["pose"]
        assert js["t"] == want.timestamp_ms
        assert js["state"] == want.state.name.lower()
        assert (js["roll"], js["pitch"], js["yaw"]) == (want.roll, want.pitch, want.yaw)
        assert (js["x"], js["y"], js["z"]) == want.position
        assert np.allclose(js["weights"], want.weights, atol=1e-6)  # float32 in JS
    slots = [e["slot"] for e in report["frame"]["entries"]]
    assert slots == [i * 997 % 65536 for i in range(len(records))]
