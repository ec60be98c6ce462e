"""Starting a Hiroba server for a benchmark: a subprocess on a free 127.0.0.1 port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: str, *flags: str) -> tuple[subprocess.Popen[bytes], str]:
    """``hiroba serve`` with its data in ``data_dir`` and the demo rooms (the benches meet
    in its plaza); returns the process and its URL once ``/healthz`` answers (20 s at most)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli.main", "serve", "--port", str(port), "--data-dir",
         data_dir, "--log-level", "warning", "--seed-demo", *flags],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")
