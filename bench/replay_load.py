"""How long the replay page takes to load a motion log, and a frame's state (issue 6).

    .venv/bin/python -m bench.replay_load [--minutes 10] [--members 12] [--citizens 50]

Writes a motion log as the recorder would (``TrackedFace`` poses at 20 Hz for every
member, positions at 2 Hz, a chunk a second) and times, in node, what the page does with
it: web_client/src/replay/motionLog.js (check and inflate every chunk) and timeline.js
(index it; then the state of every avatar at 1,000 random times). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from bench.clients.recording_media import TrackedFace
from server.recording.motion_log import MotionLogWriter

NODE_SCRIPT = Path(__file__).with_name("replay_load.mjs")


def write_log(path: Path, minutes: float, members: int, citizens: int) -> None:
    rng = np.random.default_rng(1)
    faces = [TrackedFace(rng) for _ in range(members)]
    seated = [(i, i * 100, -1000, 31416) for i in range(members)]
    with path.open("wb") as fh:
        writer = MotionLogWriter(fh)
        end = int(minutes * 60_000)
        for t in range(0, end, 50):
            for i, face in enumerate(faces):
                face.speaking = (t // 30_000) % members == i
                writer.pose(t, i, face.pose(t))
            if t % 500 == 0:
                crowd = [(100 + k, int(rng.integers(-2000, 2000)), int(rng.integers(0, 2000)), 0)
                         for k in range(citizens)]
                writer.positions(t, seated + crowd)
            if t % 1000 == 950:
                writer.flush(t + 50)
        writer.flush(end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--members", type=int, default=12)
    parser.add_argument("--citizens", type=int, default=50)
    args = parser.parse_args()
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is needed (make setup)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "motion.bin"
        write_log(path, args.minutes, args.members, args.citizens)
        out = subprocess.run([node, "--expose-gc", str(NODE_SCRIPT), str(path)],
                             capture_output=True, text=True, check=True, timeout=600)
    print(json.dumps({**vars(args), **json.loads(out.stdout)}))


if __name__ == "__main__":
    main()
