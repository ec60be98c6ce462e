"""Archive search figures (issue 17): how long a query and a recording's rebuild take on an
archive the size of a city's few years of committees.

Builds an SQLite file with the project's migrations holding ``--recordings`` published
recordings of ``--segments`` transcript segments each (Japanese committee sentences with
a running number, so most words occur in many recordings and some in one), plus their
minutes, then measures, each ``--runs`` times on a warm cache:

- a query of three or more characters (FTS5 trigram ``MATCH``), one found everywhere and
  one found once;
- a query of two characters (the ``LIKE`` scan of the same table), found everywhere (it
  stops after 50 hits) and found nowhere (it reads every row);
- rebuilding one recording's rows (what a staff edit or a publication costs).

Prints p50 and the largest, in milliseconds, and the file's size. Nothing else runs.

    .venv/bin/python -m bench.archive_search [--recordings 200] [--segments 1500] [--json]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from server.storage.migrations import MIGRATIONS
from server.transcription.search import replace_rows_sql, search_sql, terms

SENTENCES = (
    "本日の委員会を開会します。", "予算の執行状況について伺います。",
    "お答えします。令和六年度の執行率は八割です。", "異議なしと認めます。",
    "採決を行います。賛成の方は挙手願います。", "定足数に達していることを確認しました。",
    "次に議案第{n}号について審査します。", "質疑を終結します。",
)


@dataclass(frozen=True)
class Piece:
    id: int
    start: float
    text: str
    removed: bool = False


def build(path: Path, recordings: int, segments: int) -> sqlite3.Connection:
    c = sqlite3.connect(path)
    for m in MIGRATIONS:
        c.executescript(m)
    sid = 0
    with c:
        for r in range(recordings):
            rid = f"rec{r:05d}"
            c.execute("INSERT INTO recordings (id, room_id, title, started, state, published)"
                      " VALUES (?, 'committee', ?, ?, 'stopped', 1)",
                      (rid, f"第{r}回予算審査委員会", 1.7e9 + r * 86400))
            rows = []
            for i in range(segments):
                sid += 1
                text = SENTENCES[i % len(SENTENCES)].format(n=r * 1000 + i)
                rows.append(Piece(sid, i * 4.0, text))
            replace_rows_sql(c, rid, rows, "\n".join(f"- 議題 {i}" for i in range(50)))
    return c


def timed(fn: object, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recordings", type=int, default=200)
    ap.add_argument("--segments", type=int, default=1500)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        t0 = time.perf_counter()
        c = build(path, a.recordings, a.segments)
        built_s = time.perf_counter() - t0
        rows = a.recordings * a.segments
        one = [Piece(10**9 + i, i * 4.0, SENTENCES[i % len(SENTENCES)].format(n=i))
               for i in range(a.segments)]

        def rebuild() -> None:
            with c:
                replace_rows_sql(c, "rec00000", one, "")

        figures = {
            "rows": rows, "build_s": round(built_s, 1),
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "match_common_ms": timed(lambda: search_sql(c, terms("執行状況"),
                                                        published_only=True), a.runs),
            "match_rare_ms": timed(lambda: search_sql(c, terms("議案第150007号"),
                                                      published_only=True), a.runs),
            "like_two_chars_ms": timed(lambda: search_sql(c, terms("予算"),
                                                          published_only=True), a.runs),
            "like_absent_two_chars_ms": timed(lambda: search_sql(c, terms("鯨類"),
                                                                 published_only=True), a.runs),
            "rebuild_one_ms": timed(rebuild, max(3, a.runs // 4)),
        }
    out = {k: (v if not isinstance(v, list) else
               {"p50": round(statistics.median(v), 1), "max": round(max(v), 1)})
           for k, v in figures.items()}
    print(json.dumps(out, ensure_ascii=False) if a.json else
          "\n".join(f"{k}: {v}" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
