"""``hiroba bench motion|audio ...``: the load generators of ``bench/``, from a checkout.

The benchmark's own options follow its name (``hiroba bench motion --help``); the module
is imported only when asked for, so the rest of the command line stays quick.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[2]
BENCHES = {"motion": "bench.motion", "audio": "bench.audio"}


def _run(args: argparse.Namespace) -> int:
    # The benchmarks live in the checkout, beside the packages, not in an installed wheel.
    if (_ROOT / "bench").is_dir() and str(_ROOT) not in sys.path:
        sys.path.insert(0, str(_ROOT))
    try:
        module = importlib.import_module(BENCHES[args.bench])
    except ModuleNotFoundError:
        print(f"hiroba: bench/{args.bench}.py is part of the source checkout", file=sys.stderr)
        return 2
    try:
        code: int = module.main(args.options)
    except OSError as exc:  # the server to measure could not be reached or started
        print(f"hiroba bench {args.bench}: FAILED: {exc}", file=sys.stderr)
        return 1
    return code


def add_commands(sub: Any) -> None:
    bench = sub.add_parser(
        "bench", help="load generators that print figures (bench/)",
        description="Run a benchmark of bench/ against a server on 127.0.0.1.",
    )
    bench.add_argument("bench", choices=sorted(BENCHES), help="which benchmark")
    bench.add_argument("options", nargs=argparse.REMAINDER,
                       help="the benchmark's options (see hiroba bench NAME --help)")
    bench.set_defaults(run=_run)
