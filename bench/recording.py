"""Size and CPU of a recording: a simulated 10-minute committee meeting of 12 members.

    .venv/bin/python -m bench.recording [--minutes 10] [--members 12] [--citizens 50]

Prints JSON. The meeting: 12 face-tracked stage avatars at 20 Hz (bench/clients/recording_media.py's
``TrackedFace``: drifting heads, tracker noise, two thirds of the weights off zero), 50 plaza
citizens' positions (thinned by the recorder to 2 Hz), the floor passed to each member in
turn (one floor speaker at a time, the chair also talking a fifth of the time) with real
libopus packets at 20 kbit/s of a speech-like signal, and events (a caption every 3 s, a
chat message every 5 s, a floor change each turn). Simulated time runs as fast as the
recorder takes it; the CPU figure is the whole process's CPU time (feeding calls on the
main thread plus the writer thread) divided by the seconds recorded.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from bench.clients.recording_media import TrackedFace
from server.recording.event_log import EventKind
from server.recording.ids import new_recording_id
from server.recording.recorder import AUDIO, EVENTS, MOTION, Recorder

RATE = 48_000
POSE_HZ = 20


def speech_like_packets(seconds: float, bitrate: int = 20_000, seed: int = 0) -> list[bytes]:
    """Opus packets of noise shaped like speech: syllables at ~4 Hz, pauses, a formant-ish
    spectrum, so the encoder spends about the bitrate a voice would take."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    noise = rng.normal(0.0, 1.0, n)
    kernel = np.exp(-np.arange(64) / 12.0)
    voiced = np.convolve(noise, kernel, mode="same")
    t = np.arange(n) / RATE
    pitch = np.sin(2 * np.pi * 140 * t) * 0.6
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t + rng.normal(0, 0.2)), 0.0, 1.0)
    envelope *= (np.sin(2 * np.pi * 0.3 * t) > -0.6).astype(float)  # short pauses
    pcm = ((voiced * 0.2 + pitch) * envelope * 6000).astype(np.int16)
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate = RATE  # type: ignore[attr-defined]
    enc.layout = "mono"  # type: ignore[attr-defined]
    enc.format = "s16"  # type: ignore[attr-defined]
    enc.bit_rate = bitrate
    enc.options = {"frame_duration": "20", "application": "voip"}
    enc.open()
    out: list[bytes] = []
    for i in range(0, n - 960 + 1, 960):
        frame = av.AudioFrame.from_ndarray(pcm[None, i : i + 960], format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = i
        frame.time_base = Fraction(1, RATE)
        out += [bytes(p) for p in enc.encode(frame)]  # type: ignore[attr-defined]
    return out


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(minutes: float, members: int, citizens: int, compress: bool) -> dict[str, object]:
    seconds = int(minutes * 60)
    packets = speech_like_packets(30.0)
    rng = np.random.default_rng(1)
    pool_ticks = 30 * POSE_HZ  # 30 s of poses per member, replayed in a loop
    pools = []
    for _ in range(members):
        face = TrackedFace(rng)
        pool = []
        for t in range(pool_ticks):
            face.speaking = (t // 200) % 2 == 0  # talking 10 s of every 20
            pool.append(face.pose(t * 50))
        pools.append(pool)
    clock = FakeClock()
    turn_s = max(1, seconds // members)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "rec"
        rec = Recorder(
            directory,
            new_recording_id(),
            "dx-committee",
            "bench",
            clock=clock,
            compress_motion=compress,
            max_queue=10_000_000,
        )
        cpu0, wall0 = time.process_time(), time.perf_counter()
        rec.start()
        for pid in range(members):
            rec.feed_event(
                EventKind.JOIN, {"pid": f"m{pid}", "name": f"委員{pid}", "role": "member"}
            )
        for step in range(seconds * 100):  # 10 ms steps: audio every 2, poses every 5
            clock.now += 0.01
            second = step // 100
            speaker = second // turn_s % members
            if step % 100 == 0 and second % turn_s == 0:
                rec.feed_event(EventKind.FLOOR, {"holder": f"m{speaker}"})
            if step % 2 == 0:
                tick = step // 2
                rec.feed_audio(f"m{speaker}", packets[tick % len(packets)], tick * 960)
                if (second // 5) % 5 == 0 and speaker != 0:  # the chair, a fifth of the time
                    rec.feed_audio("m0", packets[(tick + 333) % len(packets)], tick * 960)
            if step % (100 // POSE_HZ) == 0:
                k = step // (100 // POSE_HZ)
                for slot in range(members):
                    rec.feed_pose(slot, pools[slot][k % pool_ticks])
                rec.feed_positions(
                    [(100 + c, (c * 37 + k) % 3000, (c * 11) % 2000, 0) for c in range(citizens)]
                )
            if step % 300 == 0:
                rec.feed_event(EventKind.CAPTION, {"text": "ただいまの議題について説明します。"})
            if step % 500 == 0:
                rec.feed_event(EventKind.CHAT, {"pid": "c1", "text": "聞こえています"})
            if step % 100 == 99:
                while rec._queue.qsize() > 5_000:  # keep the simulated clock near the writer
                    time.sleep(0.001)
        manifest = rec.stop()
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        audio = sum(p.stat().st_size for p in (directory / AUDIO).glob("*.opus"))
        motion = (directory / MOTION).stat().st_size
        events = (directory / EVENTS).stat().st_size
        stats = rec.stats()
    total = audio + motion + events
    return {
        "minutes": minutes,
        "members": members,
        "citizens": citizens,
        "motion_zlib": compress,
        "duration_s": manifest.duration_ms / 1000,
        "speakers": len(manifest.speakers),
        "audio_bytes": audio,
        "motion_bytes": motion,
        "events_bytes": events,
        "total_bytes": total,
        "motion_bytes_per_stage_avatar_s": round(motion / seconds / members, 1),
        "audio_kbit_s": round(audio * 8 / seconds / 1000, 2),
        "mb_per_hour": round(total / seconds * 3600 / 1e6, 1),
        "cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "cpu_percent_of_a_core": round(100 * cpu / seconds, 3),
        "dropped": stats.dropped,
        "rejected": stats.rejected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--members", type=int, default=12)
    parser.add_argument("--citizens", type=int, default=50)
    parser.add_argument("--no-zlib", action="store_true", help="store motion chunks raw")
    args = parser.parse_args()
    print(json.dumps(run(args.minutes, args.members, args.citizens, not args.no_zlib), indent=1))


if __name__ == "__main__":
    main()
