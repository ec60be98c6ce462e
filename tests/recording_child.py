"""A process that records in real time until it is killed (the SIGKILL crash test).

``python -m tests.recording_child DIR``: prints one JSON line with the recorder's start
(monotonic seconds, comparable across processes on Linux) and then feeds, forever, in real
time: speaker ``p1`` talking throughout (50 packets a second, RTP timestamps), speaker
``p2`` talking one second in two (its pauses are RTP jumps, as with a browser's DTX),
three stage avatars' poses at 20 Hz, positions (thinned by the recorder to 2 Hz) and a
chat event every 100 ms numbered from 0.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from bench.clients.recording_media import TrackedFace, opus_packets
from server.recording.event_log import EventKind
from server.recording.ids import new_recording_id
from server.recording.recorder import Recorder


def main(directory: Path) -> None:
    packets = opus_packets(2.0)
    rng = np.random.default_rng(3)
    faces = [TrackedFace(rng) for _ in range(3)]
    rec = Recorder(directory, new_recording_id(), "dx-committee", "crash test")
    rec.start()
    t0 = rec._t0
    print(json.dumps({"t0": t0, "id": rec.manifest.id}), flush=True)
    audio_n = pose_n = event_n = 0
    rtp1, rtp2 = 1000, 4_000_000_000  # p2 wraps around 2**32 during the test
    while True:
        now = time.monotonic() - t0
        while audio_n * 0.02 <= now:
            rec.feed_audio("p1", packets[audio_n % len(packets)], rtp1 + audio_n * 960)
            if (audio_n // 50) % 2 == 1:  # p2 talks in odd seconds only
                rec.feed_audio("p2", packets[(audio_n + 7) % len(packets)], rtp2 + audio_n * 960)
            audio_n += 1
        while pose_n * 0.05 <= now:
            for slot, face in enumerate(faces):
                rec.feed_pose(slot, face.pose(pose_n * 50))
            rec.feed_positions([(10 + i, i, i, 0) for i in range(5)])
            pose_n += 1
        while event_n * 0.1 <= now:
            rec.feed_event(EventKind.CHAT, {"n": event_n, "text": "テスト"})
            event_n += 1
        time.sleep(0.005)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
