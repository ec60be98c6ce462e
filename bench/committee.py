"""What one committee change costs the server (issue 16): the whole committee is stored and
``committee:state`` sent after every change, so both grow with the sitting. Builds a
committee of ``--members`` seats that has held ``--votes`` named votes, then times
``Committee.state()`` + its JSON (one broadcast) and ``to_record()`` + its JSON (one store
write), and prints their sizes. Pure: no server.

    python -m bench.committee --members 40 --votes 60
"""

from __future__ import annotations

import argparse
import json
import time

from moderation.committee import Committee, committee_plain


def build(members: int, votes: int) -> Committee:
    c = Committee("bench")
    c.set_roster([("m:chair", "委員長", "chair"),
                  *((f"m:{i}", f"委員{i:02d}", "member") for i in range(members - 1))], 0.0)
    for i, m in enumerate(list(c.members)):
        c.arrive(m, f"p_{i:010x}", 1.0)
    c.open_rollcall(True, 2.0, by="staff")
    for m in c.members:
        c.answer(m, 3.0)
        c.verify(m, "video", None, 4.0, by="staff")
    c.open_rollcall(False, 5.0, by="staff")
    now = 10.0
    for _ in range(votes):
        motion = c.propose("議案", now, by="chair")[0].motion  # type: ignore[attr-defined]
        vote = c.open_vote(motion, "named", now, by="chair")[0].vote  # type: ignore[attr-defined]
        for i, m in enumerate(c.members):
            if m != "m:chair":
                c.cast(m, vote, "yes" if i % 3 else "no", now)
        c.close_vote(vote, now + 1, by="chair")
        now += 60
    return c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=40)
    ap.add_argument("--votes", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=200)
    a = ap.parse_args()
    c = build(a.members, a.votes)
    t0 = time.perf_counter()
    for _ in range(a.rounds):
        state = json.dumps(c.state(), ensure_ascii=False)
    t1 = time.perf_counter()
    for _ in range(a.rounds):
        record = json.dumps(committee_plain(c.to_record()), ensure_ascii=False,
                            separators=(",", ":"))
    t2 = time.perf_counter()
    print(f"committee of {a.members} seats after {a.votes} named votes:")
    print(f"  committee:state  {len(state.encode()) / 1024:8.1f} KiB  "
          f"{(t1 - t0) / a.rounds * 1000:6.2f} ms per change (state + JSON)")
    print(f"  stored record    {len(record.encode()) / 1024:8.1f} KiB  "
          f"{(t2 - t1) / a.rounds * 1000:6.2f} ms per change (record + JSON)")


if __name__ == "__main__":
    main()
