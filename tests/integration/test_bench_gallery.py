"""``hiroba bench gallery`` run small (issue 19): its JSON carries the figures the issue asks
for, and a run whose viewers cannot connect exits non-zero instead of printing zeros."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bench(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli.main", "bench", "gallery", "--warmup", "0.5",
         "--baseline-seconds", "0.5", "--workers", "1", "--json", *options],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_gallery_bench_measures_viewers_latency_and_cpu() -> None:
    done = _bench("--viewers", "20", "--sample", "3", "--seconds", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["connected"] == 20 and result["failed_to_connect"] == 0
    assert result["speaker_error"] is None
    # One frame per 60 ms period, three 20 ms Opus packets in each.
    assert result["frames_per_viewer_per_s"] > 5
    assert result["audio_packets_per_viewer_per_s"] > 10
    assert result["bytes_per_viewer_per_s"] > 1000
    assert result["server_cpu_per_s"] > 0
    assert result["server_cpu_ms_per_s_per_viewer"] is not None
    latency = result["latency_ms"]
    assert latency["samples"] > 0 and 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert result["av_skew_ms"]["samples"] > 0
    for key in ("audio_late", "audio_lost", "viewers_fell_behind", "frames_skipped_server"):
        assert isinstance(result[key], int | float), key
    assert result["nodes_detail"][0]["viewers"] == 20


def test_gallery_bench_whose_viewers_cannot_connect_fails() -> None:
    """A room that does not exist: the plane turns every viewer away."""
    done = _bench("--viewers", "4", "--sample", "1", "--seconds", "1", "--room", "no-such-room")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "bench: FAILED: 0 of 4 viewers connected" in done.stderr
    assert "closed 4404" in done.stderr  # the plane's "no such room"
    assert json.loads(done.stdout)["failed_to_connect"] == 4
