"""The show-of-hands / standing gestures of a committee vote (web_client/src/state/gestures.js)
under node: which pids raise a hand or stand for a `committee:state`, the eased animation
weight, and the once-per-change count announcement. The cases are node tests
(web_client/test/gestures.test.js, also run by `make js-test`); this runs them within pytest
so that a change to the gesture rules fails the Python suite as well.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from tests.conftest import ROOT

TESTS = ROOT / "web_client" / "test" / "gestures.test.js"


def test_gesture_rules_under_node() -> None:
    node = shutil.which("node")
    assert node, "node is needed for the web client's tests (make setup)"
    out = subprocess.run([node, "--test", str(TESTS)], capture_output=True, text=True,
                         timeout=60, cwd=ROOT / "web_client")  # fmt: skip
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    passed = re.search(r"^# pass (\d+)$", out.stdout, re.M)
    assert passed and int(passed.group(1)) > 0 and "# fail 0" in out.stdout, out.stdout[-2000:]
