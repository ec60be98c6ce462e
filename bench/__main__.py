"""``python -m bench NAME [OPTIONS]``: what ``hiroba bench NAME`` runs, in the checkout.

``hiroba`` starts this as a child process with the checkout as its working directory, so
``bench`` is importable the way ``python -m bench.page`` finds it, and the wheel, which a
city installs, never carries ``bench/``. A benchmark whose server cannot be reached or
started says so in one line and exits 1, instead of a traceback.
"""

from __future__ import annotations

import importlib
import sys


def main(argv: list[str]) -> int:
    """Run ``bench.NAME``'s ``main`` with the rest of ``argv``; its exit code."""
    name, options = argv[0], argv[1:]
    module = importlib.import_module(f"bench.{name}")
    # Usage lines name the command a person typed, not this file.
    sys.argv[0] = f"hiroba bench {name}"
    try:
        code: int = module.main(options)
    except OSError as exc:  # the server to measure could not be reached or started
        print(f"hiroba bench {name}: FAILED: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m bench NAME [OPTIONS] (hiroba bench --help lists the names)")
    sys.exit(main(sys.argv[1:]))
