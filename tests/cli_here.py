"""``hiroba ARGS`` run in this process, for tests that call the CLI many times.

The same ``main()`` the console script calls, with stdin, stdout and stderr swapped for
strings: a fresh interpreter per call spends seconds importing the server (aiortc, av,
numpy), which made two CLI tests cost a minute and a half of the suite.
``tests/integration/test_cli.py`` still runs the installed executable itself.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

from server.cli.main import main


def run_here(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """What ``subprocess.run(["hiroba", *args], capture_output=True, text=True)`` gives."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        sys.stdin = saved
    return subprocess.CompletedProcess(["hiroba", *args], code, out.getvalue(), err.getvalue())
