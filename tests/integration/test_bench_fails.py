"""A benchmark that measured nothing says so and exits non-zero; it never prints zeros
as a result (a fresh install without ``websockets`` once did exactly that)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import audio, motion
from bench.report import finish, short_of

ROOT = Path(__file__).resolve().parents[2]


def _bench(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli.main", "bench", "motion", "--workers", "1",
         "--seconds", "1", "--warmup", "0.5", "--stage", "0", *options],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_motion_bench_whose_clients_cannot_join_fails() -> None:
    """Its own server, a room that does not exist: every join is refused."""
    done = _bench("--clients", "3", "--room", "no-such-room")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "bench: FAILED: 0 of 3 clients joined" in done.stderr
    assert "no_such_room" in done.stderr


def test_motion_bench_with_no_server_fails_with_a_reason() -> None:
    done = _bench("--clients", "2", "--url", "http://127.0.0.1:9")
    assert done.returncode == 1
    assert "hiroba bench motion: FAILED" in done.stderr and "refused" in done.stderr
    assert "Traceback" not in done.stderr


def test_audio_bench_that_delivered_nothing_fails() -> None:
    result = {"listeners": 4, "connected": 4, "errors": [], "speaker_packets_per_s": 50.0,
              "packets_per_listener_per_s": 0.0}
    assert audio.failures(result) == ["", "", "no packets delivered to listeners measured"]
    result |= {"connected": 1, "errors": ["ConnectionRefusedError()"]}
    assert audio.failures(result)[0].startswith("1 of 4 listeners connected")


def test_motion_failures_and_exit_code(capsys: object) -> None:
    good = {"clients": 2, "stage": 1, "connected": 3, "errors": [],
            "frames_per_client_per_s": 19.5, "server_cpu_per_s": 0.2}
    assert not any(motion.failures(good))
    assert finish(good, True, motion.failures(good)) == 0
    bad = good | {"connected": 0, "frames_per_client_per_s": 0.0}
    assert finish(bad, True, motion.failures(bad)) == 1
    assert short_of("things", None, 1) == "0 of 1 things"


def test_page_bench_that_saw_no_frame_fails() -> None:
    from bench import page

    good = {"bots": 3, "bots_joined": 3, "files": 17, "fps_median": 24.0}
    assert not any(page.failures(good))
    bad = good | {"bots_joined": 1, "fps_median": None}
    assert [f for f in page.failures(bad) if f] == ["1 of 3 bots joined",
                                                    "no frame rate measured"]


def test_churn_counter_the_server_did_not_report_fails_by_name() -> None:
    """A leak check whose counter is missing fails and says which, instead of passing."""
    from bench import churn

    before = dict.fromkeys((*churn.ZERO, *churn.BASELINE), 0) | {"rss_mb": 100.0}
    assert set(churn.verdicts(before, before, 64.0).values()) == {"PASS"}
    after = {k: v for k, v in before.items() if k not in ("obj_Seat", "motion_rows")}
    judged = churn.verdicts(before, after, 64.0)
    assert judged["obj_Seat"] == "FAIL (no obj_Seat counter in /api/debug/leaks after the run)"
    assert judged["motion_rows"].startswith("FAIL (no motion_rows counter")
    assert {k for k, v in judged.items() if v != "PASS"} == {"obj_Seat", "motion_rows"}
    judged = churn.verdicts(after, before, 64.0)
    assert judged["obj_Seat"] == "FAIL (no obj_Seat counter in /api/debug/leaks before the run)"
