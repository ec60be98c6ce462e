"""The page's avatar twins against the Python originals: web_client/src/state/faceSolver.js's
pose filter against avatar/filters.py with the server's settings (tracking_head_*,
tracking_face_*, tracking_d_cutoff), and state/voicePose.js against avatar/voice.py (and
avatar/idle.py's blink).

Python writes the inputs into a fixture; node runs them through the JavaScript modules
(web_client/test/support/crosslang_avatar.mjs) and both must give the same poses, so a
default changed on one side only, or a formula that drifts, fails here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from avatar.idle import IdleAnimator, IdleParams
from avatar.pose import BLENDSHAPE_INDEX, N_BLENDSHAPES, Pose, TrackingState
from avatar.voice import MIN_DBOV, VoiceAnimator, VoiceParams, audio_level_dbov
from server.config.settings import Settings
from server.tracking.api import pose_filter
from tests.conftest import ROOT

SCRIPT = ROOT / "web_client" / "test" / "support" / "crosslang_avatar.mjs"
BLINK_GAP_S = 0.75  # Python's first blink at 1 + gap s ...
BLINK_RANDOM = 0.25  # ... the page's at 1000 + 3000 * random() ms: both 1.75 s


class _FixedRng:
    """Stands in for the idle animator's generator so its first blink has a known start."""

    def uniform(self, lo: float, hi: float) -> float:
        return lo

    def gamma(self, shape: float, scale: float) -> float:
        return BLINK_GAP_S

    def random(self) -> float:
        return 1.0  # never a double blink


def pose_stream() -> list[Pose | None]:
    """Tracked poses at about 30 Hz: a still head, slow drift, a fast turn, a blink, a
    repeated timestamp and a lost face (``None``: the filter resets)."""
    rng = np.random.default_rng(11)
    out: list[Pose | None] = []
    t, yaw = 1000, 0.0
    for i in range(120):
        t += int(rng.integers(25, 45)) if i != 50 else 0  # one repeated timestamp
        yaw += 40.0 if 60 <= i < 66 else float(rng.normal(0, 0.3))
        weights = rng.uniform(0, 0.3, N_BLENDSHAPES).astype(np.float32)
        if 80 <= i < 84:
            weights[BLENDSHAPE_INDEX["eyeBlinkLeft"]] = 1.0
        if i == 90:
            out.append(None)
        out.append(Pose(
            timestamp_ms=t, state=TrackingState.TRACKED,
            roll=float(rng.normal(0, 2)), pitch=float(rng.normal(0, 2)), yaw=yaw,
            position=tuple(float(v) for v in rng.normal(0, 0.01, 3)),  # type: ignore[arg-type]
            weights=tuple(float(w) for w in weights),
        ))  # fmt: skip
    return out


def levels() -> list[tuple[int, int]]:
    """(dBov, ms): silence, speech bursts, noise around the floor, a late sample."""
    rng = np.random.default_rng(12)
    out, t = [], 0
    for i in range(200):
        t += 20
        speaking = (i // 25) % 2 == 1
        level = int(rng.integers(-35, -5)) if speaking else int(rng.integers(-127, -45))
        out.append((level, t if i != 120 else t - 60))  # one sample out of order
    return out


def pcm_frames() -> list[list[int]]:
    rng = np.random.default_rng(13)
    frames = [[], [0] * 960, [32767, -32767] * 480, [1] * 960]
    for amp in (3, 30, 300, 3000, 20000):
        frames.append([int(v) for v in rng.integers(-amp, amp + 1, 960)])
    return frames


def blink_times() -> list[int]:
    return [0, *range(1600, 2200, 5)]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node is needed for the web client's tests (make setup)"
    fixture: Path = tmp_path_factory.mktemp("avatar") / "avatar.json"

    def js_pose(p: Pose | None) -> dict[str, Any] | None:
        if p is None:
            return None
        x, y, z = p.position
        return {"t": p.timestamp_ms, "state": int(p.state), "roll": p.roll, "pitch": p.pitch,
                "yaw": p.yaw, "x": x, "y": y, "z": z, "weights": list(p.weights)}  # fmt: skip

    fixture.write_text(json.dumps({
        "poses": [js_pose(p) for p in pose_stream()], "levels": levels(), "pcm": pcm_frames(),
        "blink": {"random": BLINK_RANDOM, "times": blink_times()},
    }))  # fmt: skip
    out = subprocess.run(
        [node, str(SCRIPT), str(fixture)], capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z])([A-Z])", r"_\1", name).lower()


def test_filter_defaults_are_the_server_settings(report: dict[str, Any]) -> None:
    js, s = report["defaults"]["filter"], Settings()
    assert js == {
        "head": {"minCutoff": s.tracking_head_min_cutoff, "beta": s.tracking_head_beta},
        "face": {"minCutoff": s.tracking_face_min_cutoff, "beta": s.tracking_face_beta},
        "dCutoff": s.tracking_d_cutoff,
    }


def test_the_page_filters_poses_as_the_server_does(report: dict[str, Any]) -> None:
    server = pose_filter(Settings())
    got = report["filtered"]
    stream = pose_stream()
    assert len(got) == len(stream)
    for i, (pose, js) in enumerate(zip(stream, got, strict=True)):
        if pose is None:
            server.reset()
            assert js is None
            continue
        want = server(pose)
        assert js["t"] == want.timestamp_ms and js["state"] == "tracked"
        head = [js[k] for k in ("roll", "pitch", "yaw", "x", "y", "z")]
        assert np.allclose(head, [want.roll, want.pitch, want.yaw, *want.position],
                           rtol=1e-9, atol=1e-12), i  # fmt: skip
        assert np.allclose(js["weights"], want.weights, atol=1e-6), i  # float32 in JS


def test_voice_defaults_are_avatar_voice_params(report: dict[str, Any]) -> None:
    js = {snake(k): v for k, v in report["defaults"]["voice"].items()}
    assert js == asdict(VoiceParams())
    assert report["defaults"]["minDbov"] == MIN_DBOV
    blink = {snake(k): v for k, v in report["defaults"]["blink"].items()}
    idle = {f.name: getattr(IdleParams(), f.name) for f in fields(IdleParams)}
    assert blink == {k: idle[k] for k in ("close_ms", "hold_ms", "open_ms")}


def test_the_page_animates_a_voice_as_the_server_does(report: dict[str, Any]) -> None:
    voice = VoiceAnimator()
    got = report["voiced"]
    for (level, t), js in zip(levels(), got, strict=True):
        want = voice.update(level, t)
        assert js["t"] == t and js["state"] == "voice"
        assert (js["roll"], js["yaw"], js["x"], js["y"], js["z"]) == (0, 0, 0, 0, 0)
        assert js["pitch"] == pytest.approx(want.pitch, rel=1e-9, abs=1e-12), t
        assert np.allclose(js["weights"], want.weights, atol=1e-6), t
    assert max(js["weights"][BLENDSHAPE_INDEX["jawOpen"]] for js in got) > 0.3, "never spoke"


def test_the_page_blinks_as_the_idle_avatar_does(report: dict[str, Any]) -> None:
    idle = IdleAnimator(cast(np.random.Generator, _FixedRng()))
    want = [idle.pose_at(t).weights[BLENDSHAPE_INDEX["eyeBlinkLeft"]] for t in blink_times()]
    assert max(want) == 1.0 and want[0] == 0.0
    assert np.allclose(report["blinks"], want, atol=1e-6)


def test_levels_are_measured_alike(report: dict[str, Any]) -> None:
    want = [audio_level_dbov(np.asarray(f, dtype=np.int16)) for f in pcm_frames()]
    assert report["dbov"] == want
    assert len(set(want)) >= 6
