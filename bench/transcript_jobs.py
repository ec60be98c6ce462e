"""How fast a stopped recording is transcribed after the meeting (issue 17): a recording
made here of the bench's committee speech (``tests/transcription_media.py``: the chair's
four sentences, then a member's four), each speaker's track as the recorder writes it (the
recording's whole length: their speech, silence while the other speaks), its event log
with both floor turns; then the server's own job (:class:`TranscriptJobs`: the worker
process spawned, niced, the model loaded) is timed from queueing to done.

    .venv/bin/python -m bench.transcript_jobs [--json] [--runs 2]

Prints the recording's length, the seconds of track audio (tracks × length), the wall time
of the job (worker start and model load included on the first run, kept on the next ones)
and seconds of audio per second of wall time, and the CER of each turn.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.clients.recording_media import decode
from server.config.settings import load_settings
from server.recording.event_log import EventKind
from server.recording.ids import new_recording_id, recording_dir
from server.recording.recorder import EVENTS, Manifest, RecordingState, write_manifest
from server.recording.transcripts import TranscriptJobs
from server.storage.store import SQLiteStore
from server.transcription.store import JobState, TranscriptStore
from server.transcription.text import cer
from tests.transcription_media import RATE, test_set, write_ogg_opus

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "data" / "models"


def make_recording(root: Path) -> tuple[Manifest, list[str], float]:
    """The recording's folder: two tracks, each the recording's whole length."""
    clips = test_set()
    voices = [decode(c.path) for c in clips]
    total = sum(v.size for v in voices)
    rid = new_recording_id()
    folder = recording_dir(root, rid)
    (folder / "audio").mkdir(parents=True)
    at = 0
    turns = []
    for i, voice in enumerate(voices):
        track = np.zeros(total, np.float32)
        track[at: at + voice.size] = voice
        write_ogg_opus(track, folder / f"audio/0{i + 1}.opus")
        turns.append((f"p{i + 1}", at / RATE, (at + voice.size) / RATE))
        at += voice.size
    names = {"p1": "議長", "p2": "山田委員"}
    lines = [{"t": 0, "kind": EventKind.RECORDING.value, "action": "started"}]
    lines += [{"t": 0, "kind": EventKind.JOIN.value, "type": "meeting.present", "pid": p,
               "pid_name": n, "pid_role": "member"} for p, n in names.items()]
    for pid, start, end in turns:
        for kind, t in (("floor.given", start), ("floor.ended", end)):
            lines.append({"t": int(t * 1000), "kind": EventKind.FLOOR.value, "type": kind,
                          "pid": pid, "pid_name": names[pid], "pid_role": "member"})
    with (folder / EVENTS).open("w", encoding="utf-8") as fh:
        for seq, line in enumerate(lines):
            fh.write(json.dumps({"seq": seq, **line}, ensure_ascii=False) + "\n")
    seconds = total / RATE
    started = time.time() - seconds
    manifest = Manifest(rid, "bench", "bench", started, RecordingState.STOPPED,
                        started + seconds, int(seconds * 1000),
                        {"audio/01.opus": "p1", "audio/02.opus": "p2"})
    write_manifest(folder, manifest)
    return manifest, [c.text for c in clips], seconds


async def run(runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(load_settings({}), data_dir=Path(tmp), model_cache_dir=MODELS)
        manifest, texts, length = make_recording(settings.recordings_path)
        store = SQLiteStore(settings.database_path)
        await store.open()
        transcripts = TranscriptStore(store)
        jobs = TranscriptJobs(settings, transcripts, settings.recordings_path)
        changed = asyncio.Event()
        transcripts.on_change.append(lambda _rid: changed.set())
        await jobs.open()
        results = []
        try:
            for n in range(runs):
                began = time.perf_counter()
                cpu = os.times()
                await jobs.queue(manifest.id, again=n > 0)
                while (job := await transcripts.job(manifest.id)) is None or \
                        job.state not in (JobState.DONE, JobState.FAILED):
                    await changed.wait()  # (the store tells after every write)
                    changed.clear()
                wall = time.perf_counter() - began
                used = os.times()
                tracks = await transcripts.tracks(manifest.id)
                segments = await transcripts.segments(manifest.id)
                turn_cer = [round(cer(text, "".join(s.text for s in segments if s.turn == i)), 3)
                            for i, text in enumerate(texts)]
                audio = length * len(tracks)
                results.append({
                    "run": n + 1, "state": job.state.value, "wall_s": round(wall, 2),
                    "recognition_s": round(sum(t.seconds for t in tracks), 2),
                    "audio_s_per_s": round(audio / wall, 2),
                    "children_cpu_s": round(used.children_user - cpu.children_user
                                            + used.children_system - cpu.children_system, 2),
                    "turn_cer": turn_cer, "load_average": os.getloadavg()[0],
                })
        finally:
            await jobs.close()
            await store.close()
    return {"recording_s": round(length, 2), "tracks": 2,
            "track_audio_s": round(length * 2, 2), "runs": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.transcript_jobs", description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    out = asyncio.run(run(args.runs))
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"recording {out['recording_s']} s, {out['tracks']} tracks "
              f"({out['track_audio_s']} s of track audio)")
        for r in out["runs"]:  # type: ignore[attr-defined]
            print(f"run {r['run']}: {r['state']}, wall {r['wall_s']} s, recognition "
                  f"{r['recognition_s']} s, {r['audio_s_per_s']} s of audio per second, "
                  f"turn CER {r['turn_cer']}, load {r['load_average']:.1f}")
    failed = any(r["state"] != "done" for r in out["runs"])  # type: ignore[attr-defined]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
