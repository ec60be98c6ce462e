"""Lighthouse (npm) on the join page, in Debian's Chromium, as a phone on a slow network.

Starts a Hiroba server on 127.0.0.1 (the built client of ``make client``, the demo rooms)
and runs Lighthouse's own mobile emulation and simulated throttling (a mid-range phone on
slow 4G) against the join page; prints the accessibility, best-practices and performance
scores (0-100), the cumulative layout shift and the paint timings. Exits 1 when Lighthouse
measured nothing (no score, or the run failed).

    .venv/bin/hiroba bench lighthouse [--path /archive] [--runs 3] [--json]

Lighthouse is not in web_client/package.json: with its ~140 dependencies it would add about
a minute to every ``npm ci`` of ``make test`` (docs/performance.md). The first run installs
the pinned version once into .cache/lighthouse-<version>/ of the checkout
(``npm install --no-save``); later runs reuse it. 12.2.3 is the newest that runs on
Node 20 and whose lock ``npm ci`` accepts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.clients.chromium import CHROMIUM
from bench.report import finish
from bench.server import ROOT, start_server

VERSION = "12.2.3"
CACHE = ROOT / ".cache" / f"lighthouse-{VERSION}"
CLI = CACHE / "node_modules" / "lighthouse" / "cli" / "index.js"
CATEGORIES = ("accessibility", "best-practices", "performance")
#: Timings printed beside the scores (Lighthouse audit ids), in milliseconds.
TIMINGS = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time")
#: Chromium as the tests start it (bench/clients/chromium.py), never a downloaded one.
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run"


def install() -> Path:
    """The Lighthouse CLI, installed into the cache folder on first use."""
    if not CLI.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"installing lighthouse@{VERSION} into {CACHE.relative_to(ROOT)} (once)",
              flush=True)
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund",
                        "--loglevel=error", "--prefix", str(CACHE), f"lighthouse@{VERSION}"],
                       check=True)
    return CLI


def run_once(cli: Path, url: str) -> dict[str, Any]:
    """One Lighthouse run; its report (Lighthouse's JSON)."""
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    proc = subprocess.run(
        ["node", str(cli), url, "--output=json", "--output-path=stdout", "--quiet",
         f"--only-categories={','.join(CATEGORIES)}", "--form-factor=mobile",
         "--throttling-method=simulate", f"--chrome-flags={CHROME_FLAGS}"],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise OSError(f"lighthouse exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def figures(report: dict[str, Any]) -> dict[str, float | None]:
    """The scores (0-100), CLS and timings of one report; None where it measured nothing."""
    out: dict[str, float | None] = {}
    for name in CATEGORIES:
        score = report.get("categories", {}).get(name, {}).get("score")
        out[name] = None if score is None else round(score * 100)
    audits = report.get("audits", {})
    out["cls"] = audits.get("cumulative-layout-shift", {}).get("numericValue")
    for name in TIMINGS:
        value = audits.get(name, {}).get("numericValue")
        out[f"{name}_ms"] = None if value is None else round(value)
    return out


def failed_audits(report: dict[str, Any]) -> list[str]:
    """Accessibility and best-practices audits that did not pass: what to fix next."""
    out: list[str] = []
    for name in ("accessibility", "best-practices"):
        for ref in report.get("categories", {}).get(name, {}).get("auditRefs", []):
            audit = report["audits"].get(ref["id"], {})
            if ref.get("weight") and audit.get("score") not in (None, 1):
                out.append(f"{name}: {ref['id']}")
    return out


def median(values: list[float | None]) -> float | None:
    real = [v for v in values if v is not None]
    return statistics.median(real) if real else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--path", default="/", help="page to audit (default: the join page)")
    parser.add_argument("--runs", type=int, default=1, help="runs; the median is printed")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    args = parser.parse_args(argv)
    if not (ROOT / "server" / "static" / "index.html").is_file():
        raise OSError("no built client in server/static: run `make client` first")
    cli = install()
    runs: list[dict[str, float | None]] = []
    failing: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hiroba-lighthouse-") as data:
        proc, url = start_server(data)
        try:
            for _ in range(max(1, args.runs)):
                report = run_once(cli, url + args.path)
                runs.append(figures(report))
                failing = failed_audits(report)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    result: dict[str, Any] = {"page": args.path, "lighthouse": VERSION, "runs": len(runs)}
    for key in runs[0]:
        value = median([r[key] for r in runs])
        result[key] = round(value, 3) if key == "cls" and value is not None else value
    result["not_passed"] = failing
    missing = [f"no {k} score" for k in CATEGORIES if result[k] is None]
    if result["cls"] is None:
        missing.append("no layout shift measured")
    return finish(result, args.json, missing)
