"""Face-tracking figures: tracker cost, pose codec cost, and what the One Euro filter does.

Frames are made in memory from scikit-image's astronaut photograph (see
``bench/clients/face_video.py``); the real ``face_landmarker.task`` is used (fetched into the
model cache first, as ``make`` does). Prints:

- tracker milliseconds per frame (p50, p95) at 320x240 and 640x480, wall clock and CPU
  time, and frames per second per core (1 / CPU seconds per frame);
- pose record bytes (the encoder's output, measured: smallest and largest record, and a
  batch's bytes per pose) and microseconds per pose to encode and decode, one at a time
  and in batches of 500 (a motion frame);
- filter: head roll, yaw and pitch jitter (standard deviation) on a still face with
  camera-like noise and sub-pixel shake, raw and filtered; lag of the filtered roll on a
  face rolling ±15° at 0.5 Hz; peak kept and jitter of a 150 ms synthetic blink through
  the expression filter.

    .venv/bin/python -m bench.tracker [--frames 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from typing import Any

import numpy as np

from avatar import codec
from avatar.filters import OneEuroFilter, OneEuroParams, PoseFilter
from avatar.pose import BLENDSHAPE_INDEX, N_BLENDSHAPES, Pose, TrackingState
from avatar.solver import Solver
from avatar.tracker import MediaPipeTracker
from bench.clients.face_video import Shot, photo, render
from server.config.settings import Settings, load_settings
from server.tracking.api import pose_filter
from server.tracking.model_fetch import fetch_model


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def tracker_cost(settings: Settings, size: tuple[int, int], frames: int) -> dict[str, float]:
    """Per-frame wall and CPU milliseconds of the landmarker on a gently moving face."""
    src = photo()
    shots = [Shot(roll=8 * math.sin(i / 10), dx=0.05 * math.sin(i / 7)) for i in range(frames)]
    images = [render(src, s, size=size) for s in shots]
    wall: list[float] = []
    cpu: list[float] = []
    with MediaPipeTracker(fetch_model(settings).path) as tracker:
        for i, rgb in enumerate(images):
            w0, c0 = time.perf_counter(), time.process_time()
            tracker.track(rgb, i * 33)
            wall.append((time.perf_counter() - w0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    warm = 10  # the first frames include graph warm-up and full-frame face detection
    wall, cpu = wall[warm:], cpu[warm:]
    return {
        "wall_ms_p50": _pct(wall, 50),
        "wall_ms_p95": _pct(wall, 95),
        "cpu_ms_p50": _pct(cpu, 50),
        "cpu_ms_p95": _pct(cpu, 95),
        "fps_per_core": 1000.0 / statistics.fmean(cpu),
    }


def codec_cost(n_single: int = 5000, batch: int = 500, rounds: int = 50) -> dict[str, float]:
    """Bytes the encoder wrote per pose and microseconds per pose to encode and decode."""
    rng = np.random.default_rng(1)
    poses = [
        Pose(
            timestamp_ms=i * 33,
            state=TrackingState.TRACKED,
            roll=float(rng.uniform(-30, 30)),
            pitch=float(rng.uniform(-30, 30)),
            yaw=float(rng.uniform(-60, 60)),
            position=(0.01, -0.02, 0.03),
            weights=tuple(float(v) for v in rng.uniform(0, 1, N_BLENDSHAPES)),
        )
        for i in range(n_single)
    ]
    t0 = time.perf_counter()
    records = [codec.encode(p) for p in poses]
    enc = (time.perf_counter() - t0) / n_single * 1e6
    t0 = time.perf_counter()
    for r in records:
        codec.decode(r)
    dec = (time.perf_counter() - t0) / n_single * 1e6
    arrays = codec.PoseArrays.from_poses(poses[:batch])
    t0 = time.perf_counter()
    for _ in range(rounds):
        blob = codec.encode_batch(arrays)
    benc = (time.perf_counter() - t0) / (rounds * batch) * 1e6
    t0 = time.perf_counter()
    for _ in range(rounds):
        codec.decode_batch(blob)
    bdec = (time.perf_counter() - t0) / (rounds * batch) * 1e6
    # Sizes of what the encoder produced in this run (records and a batch's blob), not the
    # codec's constant: a change to the encoder shows here even if the constant stays put.
    sizes = {len(r) for r in records}
    return {
        "record_bytes_max": float(max(sizes)),
        "record_bytes_min": float(min(sizes)),
        "batch_bytes_per_pose": len(blob) / batch,
        "encode_us": enc,
        "decode_us": dec,
        "batch": float(batch),
        "batch_encode_us_per_pose": benc,
        "batch_decode_us_per_pose": bdec,
    }


def _track_rolls(settings: Settings, shots: list[Shot], noise: float, fps: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    src = photo()
    solver = Solver()
    out: list[tuple[float, ...]] = []
    with MediaPipeTracker(fetch_model(settings).path) as tracker:
        for i, shot in enumerate(shots):
            rgb = render(src, shot, size=(320, 240))
            if noise:
                grain = rng.normal(0.0, noise, rgb.shape)
                rgb = np.clip(rgb + grain, 0, 255).astype(np.uint8)
            t = round(i * 1000 / fps)
            obs = tracker.track(rgb, t)
            if obs is None:
                continue
            p = solver.solve(obs, t)
            out.append((t, p.roll, p.pitch, p.yaw, *p.weights))
    return np.asarray(out)


def _filtered(samples: np.ndarray, flt: PoseFilter) -> np.ndarray:
    rows = []
    for row in samples:
        p = flt(
            Pose(
                timestamp_ms=int(row[0]), state=TrackingState.TRACKED, roll=row[1],
                pitch=row[2], yaw=row[3], weights=tuple(float(v) for v in row[4:]),
            )
        )  # fmt: skip
        rows.append((row[0], p.roll, p.pitch, p.yaw, *p.weights))
    return np.asarray(rows)


def _phase_lag_ms(t_ms: np.ndarray, a: np.ndarray, b: np.ndarray, hz: float) -> float:
    """How far ``b`` trails ``a`` at frequency ``hz`` (least-squares sine fit)."""
    w = 2 * math.pi * hz * t_ms / 1000.0
    design = np.column_stack([np.sin(w), np.cos(w), np.ones_like(w)])
    (sa, ca, _), *_ = np.linalg.lstsq(design, a, rcond=None)
    (sb, cb, _), *_ = np.linalg.lstsq(design, b, rcond=None)
    dphi = math.atan2(ca, sa) - math.atan2(cb, sb)
    dphi = (dphi + math.pi) % (2 * math.pi) - math.pi
    return 1000.0 * dphi / (2 * math.pi * hz)


def blink_through(params: OneEuroParams, fps: int = 30, noise: float = 0.02) -> dict[str, float]:
    """A 150 ms blink (up 60 ms, down 90 ms) on a noisy 0.05 baseline, one channel."""
    rng = np.random.default_rng(3)
    t = np.arange(0, 3.0, 1 / fps)
    clean = np.full_like(t, 0.05)
    start = 1.5
    rise, fall = 0.06, 0.09
    up = (t >= start) & (t < start + rise)
    down = (t >= start + rise) & (t < start + rise + fall)
    clean[up] = 0.05 + 0.95 * (t[up] - start) / rise
    clean[down] = 1.0 - 0.95 * (t[down] - start - rise) / fall
    noisy = clean + rng.normal(0, noise, t.shape)
    flt = OneEuroFilter(1, params.min_cutoff, params.beta, params.d_cutoff)
    out = np.array([flt(np.array([v]), float(s))[0] for v, s in zip(noisy, t, strict=True)])
    still = t < 1.4
    return {
        "blink_peak_raw": float(noisy.max()),
        "blink_peak_filtered": float(out.max()),
        "weight_jitter_raw": float(noisy[still][10:].std()),
        "weight_jitter_filtered": float(out[still][10:].std()),
    }


def filter_figures(settings: Settings, fps: int = 30) -> dict[str, float]:
    """Jitter on a still face and lag on a moving one, with the configured filter."""
    # A "still" face still shakes a little: sub-pixel shifts, a tenth of a degree of
    # tremor, and low-light sensor noise. A perfectly still photo gives MediaPipe nothing
    # to jitter about and the filter nothing to show.
    rng = np.random.default_rng(5)
    shaky = [
        Shot(
            roll=float(rng.normal(0, 0.1)), dx=float(rng.normal(0, 0.5 / 320)),
            dy=float(rng.normal(0, 0.5 / 240)), scale=1 + float(rng.normal(0, 0.002)),
        )
        for _ in range(4 * fps)
    ]  # fmt: skip
    still = _track_rolls(settings, shaky, noise=8.0, fps=fps)
    f_still = _filtered(still, pose_filter(settings))
    skip = fps  # let the filter settle
    hz, amp = 0.5, 15.0
    moving_shots = [Shot(roll=amp * math.sin(2 * math.pi * hz * i / fps)) for i in range(6 * fps)]
    moving = _track_rolls(settings, moving_shots, noise=4.0, fps=fps)
    f_moving = _filtered(moving, pose_filter(settings))
    t = moving[skip:, 0]
    lag = _phase_lag_ms(t, moving[skip:, 1], f_moving[skip:, 1], hz)
    err = np.abs(f_moving[skip:, 1] - moving[skip:, 1])
    blink_i = 4 + BLENDSHAPE_INDEX["eyeBlinkLeft"]
    figures = {
        "fps": float(fps),
        "still_roll_jitter_raw_deg": float(still[skip:, 1].std()),
        "still_roll_jitter_filtered_deg": float(f_still[skip:, 1].std()),
        "still_yaw_jitter_raw_deg": float(still[skip:, 3].std()),
        "still_yaw_jitter_filtered_deg": float(f_still[skip:, 3].std()),
        "still_pitch_jitter_raw_deg": float(still[skip:, 2].std()),
        "still_pitch_jitter_filtered_deg": float(f_still[skip:, 2].std()),
        "still_blink_jitter_raw": float(still[skip:, blink_i].std()),
        "still_blink_jitter_filtered": float(f_still[skip:, blink_i].std()),
        "moving_roll_lag_ms": lag,
        "moving_roll_max_error_deg": float(err.max()),
        "moving_peak_speed_deg_s": 2 * math.pi * hz * amp,
    }
    face = OneEuroParams(
        settings.tracking_face_min_cutoff, settings.tracking_face_beta, settings.tracking_d_cutoff
    )
    figures.update(blink_through(face, fps))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200, help="frames per tracker size")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    settings = load_settings(os.environ)
    result: dict[str, Any] = {
        "tracker_320x240": tracker_cost(settings, (320, 240), args.frames),
        "tracker_640x480": tracker_cost(settings, (640, 480), args.frames),
        "codec": codec_cost(),
        "filter": filter_figures(settings),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for section, figures in result.items():
        print(section)
        for name, value in figures.items():
            print(f"  {name:34} {value:10.3f}")


if __name__ == "__main__":
    main()
