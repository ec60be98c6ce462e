"""``hiroba rooms add|list``: a server started without the demo gets the city's rooms."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

from tests.cli_here import run_here
from tests.integration.test_cli import start, stop

ROOT = Path(__file__).resolve().parents[2]


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_here(*args, "--data-dir", str(data))


def test_add_list_and_refusals(tmp_path: Path) -> None:
    assert _cli(tmp_path, "rooms", "list").stdout.startswith("no rooms")
    added = _cli(tmp_path, "rooms", "add", "budget-2027", "--kind", "committee",
                 "--name-ja", "予算委員会", "--name-en", "Budget committee")
    assert added.returncode == 0, added.stderr
    listed = _cli(tmp_path, "rooms", "list").stdout.splitlines()
    assert listed == ["budget-2027\tcommittee\t200\t予算委員会\tBudget committee"]
    again = _cli(tmp_path, "rooms", "add", "budget-2027", "--kind", "plaza", "--name-ja", "x")
    assert again.returncode == 2 and "exists already" in again.stderr
    for bad_id in ("Budget", "../x", "a_b", "a" * 65, "予算", "a b"):
        done = _cli(tmp_path, "rooms", "add", bad_id, "--kind", "plaza", "--name-ja", "x")
        assert done.returncode == 2 and "room id" in done.stderr, bad_id
    cap = _cli(tmp_path, "rooms", "add", "big", "--kind", "plaza", "--name-ja", "x",
               "--capacity", "0")
    assert cap.returncode == 2 and "--capacity" in cap.stderr
    assert len(_cli(tmp_path, "rooms", "list").stdout.splitlines()) == 1


def test_a_server_without_the_demo_opens_the_added_room(tmp_path: Path) -> None:
    assert _cli(tmp_path, "rooms", "add", "town-hall", "--kind", "consultation",
                "--name-ja", "市民説明会").returncode == 0
    served = start(tmp_path)
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        rooms = json.load(opener.open(served.url + "/api/rooms", timeout=10))["rooms"]
    finally:
        stop(served)
    assert [(r["id"], r["kind"], r["name"]["en"]) for r in rooms] == [
        ("town-hall", "consultation", "市民説明会")]
