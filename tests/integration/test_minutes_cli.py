"""``hiroba minutes`` as an operator runs it, on a folder the Recorder wrote: by id under
the data dir's recordings folder or by path, Markdown or HTML, public or staff, and
anything that is neither an id nor a path refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.minutes_meeting import HOSTILE, RECORDING_ID, record_meeting

ROOT = Path(__file__).resolve().parents[2]


def hiroba(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli.main", *args], cwd=ROOT, capture_output=True,
        # The machine's own zone must not matter: the minutes follow the time_zone setting.
        text=True, timeout=60, env={**os.environ, "TZ": "UTC"},
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("data")
    record_meeting(data / "recordings" / RECORDING_ID)
    return data


def test_minutes_by_id_as_markdown(data_dir: Path) -> None:
    done = hiroba("minutes", RECORDING_ID, "--format", "md", "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("# 議事録: 第3回DX推進委員会")
    assert "- 開催日: 2026-11-27" in text
    assert "- 開始: 10:00:00  終了: 10:01:00  (JST, UTC+09:00)" in text  # the default zone
    assert "| 10:00:12 | 10:00:30 | 田中委員 | 委員 | 18秒 | 5秒 | 発言権 |" in text
    assert "| 賛成 | 1 |" in text and "| 反対 | 1 |" in text
    assert "運営上の措置" not in text and "alert" not in text, "public: no moderation, no citizens"


def test_minutes_follow_the_time_zone_setting(data_dir: Path) -> None:
    done = hiroba("minutes", RECORDING_ID, "--data-dir", str(data_dir),
                  "--time-zone", "Asia/Kolkata")
    assert done.returncode == 0, done.stderr
    assert "- 開始: 06:30:00  終了: 06:31:00  (IST, UTC+05:30)" in done.stdout
    assert "| 06:30:12 | 06:30:30 | 田中委員 | 委員 |" in done.stdout
    # --tz, for this document only, wins over the setting.
    done = hiroba("minutes", RECORDING_ID, "--data-dir", str(data_dir),
                  "--time-zone", "Asia/Kolkata", "--tz", "UTC")
    assert "- 開始: 01:00:00  終了: 01:01:00  (UTC)" in done.stdout


def test_staff_html_in_english_to_a_file(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "minutes.html"
    folder = data_dir / "recordings" / RECORDING_ID
    done = hiroba("minutes", str(folder), "--format", "html", "--staff", "--lang", "en",
                  "--tz", "Asia/Tokyo", "--output", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text("utf-8")
    assert "<h2>Moderation actions (staff only)</h2>" in page
    assert "<td>sanction.mute</td>" in page and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|x" in page and HOSTILE not in page
    assert "<td>10:00:12</td><td>10:00:30</td><td>田中委員</td>" in page


@pytest.mark.parametrize("recording", ["..", "nope", "MinutesTestRecording0/", "%2e%2e",
                                       "MinutesTestRecording02"])
def test_not_a_recording_is_refused(data_dir: Path, recording: str) -> None:
    done = hiroba("minutes", recording, "--data-dir", str(data_dir))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("hiroba: no ")
