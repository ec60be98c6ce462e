"""Transcription figures: accuracy and speed of offline Japanese recognition.

The test set is synthesised committee speech (``tests/transcription_media.py``: every
sentence of a committee's opening, a vote and a motion, in two voices, in a small room with
noise, encoded as Ogg Opus as Hiroba records it; cached under ``.cache/``). The model is the
configured one (the pinned Whisper base from the default cache unless
``HIROBA_TRANSCRIPTION_MODEL_DIR`` says otherwise), fetched first as ``make`` does.

Prints, for each way of giving the domain hints (none; initial prompt; hotwords; both):
the character error rate over the whole set (NFKC, without punctuation, numbers in digits;
edits summed over reference characters) and the time spent recognising as a fraction of
the audio's length (decoding included), wall clock and CPU. Then the model's load time and
the process's peak resident memory. Exits non-zero when it measured nothing.

    .venv/bin/python -m bench.transcription [--threads 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from typing import Any

from server.config.settings import load_settings
from server.transcription.engine import HintStyle, Transcriber, decode_audio
from server.transcription.model import fetch_whisper_model
from server.transcription.text import edit_distance, normalise
from tests.transcription_media import HINTS, test_set

MODES: tuple[tuple[str, HintStyle | None], ...] = (
    ("no hints", None), ("prompt", "prompt"), ("hotwords", "hotwords"), ("both", "both"),
)  # fmt: skip


def run(threads: int) -> dict[str, Any]:
    settings = load_settings(os.environ)
    folder = fetch_whisper_model(settings).path
    clips = test_set()
    started = time.perf_counter()
    transcriber = Transcriber(folder, threads=threads)
    load = time.perf_counter() - started
    audio_seconds = sum(c.seconds for c in clips)
    results: dict[str, Any] = {}
    for name, style in MODES:
        edits = chars = 0
        wall = cpu = 0.0
        texts = []
        for clip in clips:
            w0, c0 = time.perf_counter(), time.process_time()
            audio = decode_audio(clip.path)
            segments = transcriber.transcribe(
                audio, hints=HINTS if style else (), hint_style=style or "prompt"
            )
            wall += time.perf_counter() - w0
            cpu += time.process_time() - c0
            text = "".join(s.text for s in segments)
            ref = normalise(clip.text)
            edits += edit_distance(ref, normalise(text))
            chars += len(ref)
            texts.append(text)
        results[name] = {
            "cer": round(edits / chars, 4),
            "rtf_wall": round(wall / audio_seconds, 3),
            "rtf_cpu": round(cpu / audio_seconds, 3),
            "texts": texts,
        }
    return {
        "model": str(transcriber.model_dir),
        "threads": threads,
        "clips": len(clips),
        "audio_seconds": round(audio_seconds, 1),
        "reference_chars": sum(len(normalise(c.text)) for c in clips),
        "load_seconds": round(load, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "modes": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="recogniser threads")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = run(args.threads)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        print(f"model {figures['model']}, {figures['threads']} threads, {figures['clips']} clips, "
              f"{figures['audio_seconds']} s of audio, {figures['reference_chars']} characters")
        print(f"{'hints':10} {'CER':>6} {'RTF wall':>9} {'RTF CPU':>8}")
        for name, row in figures["modes"].items():
            print(f"{name:10} {row['cer']:6.3f} {row['rtf_wall']:9.3f} {row['rtf_cpu']:8.3f}")
        print(f"model load {figures['load_seconds']} s, peak RSS {figures['peak_rss_mb']} MB")
        for name, row in figures["modes"].items():
            for text in row["texts"]:
                print(f"  [{name}] {text}")
    measured = figures["audio_seconds"] > 0 and all(
        any(t.strip() for t in row["texts"]) for row in figures["modes"].values()
    )
    return 0 if measured else 1


if __name__ == "__main__":
    sys.exit(main())
