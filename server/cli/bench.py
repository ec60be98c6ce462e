"""``hiroba bench motion|audio|gallery|...``: the benchmarks of ``bench/``, from a checkout.

The benchmark's own options follow its name (``hiroba bench motion --help``). It runs as
``python -m bench NAME`` in a child process whose working directory is the checkout:
``bench/`` sits beside the packages there and is found the way every other benchmark is
(``python -m bench.page``), without this process editing its import path. The wheel does
not carry ``bench/`` (the deployment image installs the wheel), so an installed copy says
the benchmarks need a checkout. Paths in the options are read from the checkout.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[2]
BENCHES = ("audio", "captions", "gallery", "lighthouse", "minutes_load", "motion")


def _run(args: argparse.Namespace) -> int:
    if not (_ROOT / "bench" / "__main__.py").is_file():
        print(f"hiroba: bench/{args.bench}.py is part of the source checkout", file=sys.stderr)
        return 2
    child = subprocess.Popen([sys.executable, "-m", "bench", args.bench, *args.options],
                             cwd=_ROOT)
    while True:
        try:
            code = child.wait()
            break
        except KeyboardInterrupt:
            # The child had the same Ctrl-C (one process group): let it stop the server and
            # the workers it started rather than kill it half-way.
            continue
    # A child ended by a signal: the shell's convention, 128 + the signal's number.
    return code if code >= 0 else 128 - code


def add_commands(sub: Any) -> None:
    bench = sub.add_parser(
        "bench", help="load generators that print figures (bench/)",
        description="Run a benchmark of bench/ against a server on 127.0.0.1.",
    )
    bench.add_argument("bench", choices=BENCHES, help="which benchmark")
    bench.add_argument("options", nargs=argparse.REMAINDER,
                       help="the benchmark's options (see hiroba bench NAME --help)")
    bench.set_defaults(run=_run)
