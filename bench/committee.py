"""What one committee change costs the server (issue 16): the whole committee is stored and
``committee:state`` sent after every change, so both grow with the sitting. Builds a
committee of ``--members`` seats that has held ``--votes`` named votes, then times
``Committee.state()`` + its JSON (one broadcast), ``to_record()`` + its JSON (one store
write) and what of a change runs on the event loop (``writes_for`` and the recording's
log line), and prints their sizes. Pure: no server.

With ``--gallery N`` (issue 19: thousands watching one committee): N public-gallery
visitors join (``--rate`` a second) and leave after ``--stay`` seconds, on simulated time,
through the meeting's real path (``Meeting.join``/``leave``, ``tick`` at the server's rate,
``writes_for``, the recording's ``event_line``, the broadcaster's rule and its 50 ms
coalescing): prints the loop time per join/leave, the bytes written to the store and to
the recording's log, and the ``committee:state`` bytes each socket of the room receives a
second.

    python -m bench.committee --members 40 --votes 60
    python -m bench.committee --members 15 --votes 20 --gallery 2000
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from moderation.committee import Committee, CommitteeChanged, committee_plain
from moderation.events import DomainEvent
from moderation.meeting import Meeting
from moderation.sanctions import SanctionBook
from moderation.wordfilter import WordFilter
from rooms.model import Role, RoomKind
from server.meetings import broadcast
from server.meetings.store import writes_for
from server.recording.events import event_line

#: The server's meeting ticks a second (server/meetings/service.py TICK_HZ) and the
#: broadcaster's coalescing and spacing of committee:state (server/meetings/broadcast.py;
#: no spacing before it had one).
TICK_HZ = 4.0
COALESCE = broadcast.COMMITTEE_DELAY if hasattr(broadcast, "COMMITTEE_DELAY") else 0.05
SPACING: float = getattr(broadcast, "COMMITTEE_SPACING", 0.0)


def build(members: int, votes: int, c: Committee | None = None) -> Committee:
    c = c or Committee("bench")
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


#: Socket events a second one client may send (settings.events_per_second).
FLOOD_RATE = 30.0


def _bound(params: tuple[object, ...]) -> list[object]:
    """A write's parameters as the store's thread runs them (a deferred JSON is built)."""
    return [p() if callable(p) else p for p in params]


def _triggers_state(e: DomainEvent) -> bool:
    """The broadcaster's rule: a committee event other than a gallery visit sends the
    room its whole committee:state (coalesced)."""
    return e.topic.startswith("committee.") and type(e).__name__ != "GalleryVisited"


def gallery(members: int, votes: int, visitors: int, rate: float, stay: float,
            flood: float) -> None:
    meeting = Meeting("bench", RoomKind.COMMITTEE, SanctionBook(), WordFilter([]))
    build(members, votes, meeting.committee)
    names: dict[str, tuple[str, str]] = {}
    plan: list[tuple[float, int, str]] = []  # (time, order, pid): 0 join, 1 leave, 3 cast
    for i in range(visitors):
        at = 100.0 + i / rate
        plan += [(at, 0, f"g{i}"), (at + stay, 1, f"g{i}")]
    vote = 0
    if flood:  # one member raises and lowers a hand in a show of hands, at the budget
        motion = meeting.committee.propose("議案", 99.0, by="chair")[0].motion  # type: ignore[attr-defined]
        vote = meeting.committee.open_vote(motion, "hands", 99.0,  # type: ignore[attr-defined]
                                           by="chair")[0].vote
        plan += [(100.0 + k / FLOOD_RATE, 3, "yes" if k % 2 == 0 else "none")
                 for k in range(int(flood * FLOOD_RATE))]
    end = max(t for t, _, _ in plan) + 10.0
    plan += [(100.0 + k / TICK_HZ, 2, "") for k in range(int((end - 100.0) * TICK_HZ))]
    plan.sort()
    loop = store = store_thread = logged = sent = 0.0
    ops = states = lines = records = 0
    due: float | None = None  # when the coalesced committee:state goes out
    last = float("-inf")  # when the last one went out
    state_bytes = 0
    for at, kind, pid in plan:
        if due is not None and due <= at:
            t0 = time.perf_counter()
            body = json.dumps({"room": "bench", **meeting.committee.state()},
                              ensure_ascii=False)
            loop += time.perf_counter() - t0
            last, due = due, None
            state_bytes, states = len(body.encode()), states + 1
            sent += state_bytes
        t0 = time.perf_counter()
        happened: list[DomainEvent]
        if kind == 0:
            happened = meeting.join(pid, "傍聴", Role.CITIZEN, at, device=f"d_{pid}",
                                    gallery=True)
        elif kind == 1:
            happened = meeting.leave(pid, at)
        elif kind == 3:
            happened = meeting.committee.cast("m:0", vote, pid, at)
        else:
            happened = meeting.tick(at)
        writes = writes_for(meeting, happened)
        out: list[Any] = [event_line(meeting, e, names) for e in happened]
        if due is None and any(_triggers_state(e) for e in happened):
            due = max(at + COALESCE, last + SPACING)
        loop += time.perf_counter() - t0
        ops += kind != 2
        t1 = time.perf_counter()
        for sql, params in writes:
            store += len(sql) + sum(len(str(p).encode()) for p in _bound(params))
        store_thread += time.perf_counter() - t1
        for line in out:
            if line is not None:
                logged += len(json.dumps(line[1], ensure_ascii=False).encode())
                lines += 1
                records += line[1].get("type") == "committee.record"
    seconds = end - 100.0
    print(f"gallery of {visitors} visitors ({rate:g}/s, {stay:g} s each) on a committee of "
          f"{members} seats after {votes} named votes, {seconds:.0f} s simulated"
          + (f"; one member flooding {FLOOD_RATE:g} hand changes/s for {flood:g} s:"
             if flood else ":"))
    print(f"  event loop     {loop / ops * 1000:8.3f} ms per operation "
          f"(core, writes_for, log line, committee:state when sent)")
    print(f"  store          {store / 1024:8.1f} KiB written ({store / ops:.0f} B per "
          f"operation); {store_thread * 1000:.0f} ms on the store's thread in all")
    print(f"  recording log  {logged / 1024:8.1f} KiB in {lines} lines "
          f"({records} committee.record)")
    print(f"  committee:state {states} sent ({state_bytes / 1024:.1f} KiB each): "
          f"{sent / seconds / 1024:8.2f} KiB/s to every socket of the room")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=40)
    ap.add_argument("--votes", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--gallery", type=int, default=0, help="gallery visitors (0: none)")
    ap.add_argument("--rate", type=float, default=10.0, help="gallery joins a second")
    ap.add_argument("--stay", type=float, default=60.0, help="seconds each visitor stays")
    ap.add_argument("--flood", type=float, default=0.0,
                    help="seconds one member raises and lowers a hand at the event budget")
    a = ap.parse_args()
    if a.gallery or a.flood:
        gallery(a.members, a.votes, a.gallery, a.rate, a.stay, a.flood)
        return
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
    meeting = Meeting("bench", RoomKind.COMMITTEE, SanctionBook(), WordFilter([]))
    meeting.committee = c
    change = [CommitteeChanged("bench", now := 70.0 + 60 * a.votes, change="motion")]
    names: dict[str, tuple[str, str]] = {}
    t0 = time.perf_counter()
    for _ in range(a.rounds):
        writes_for(meeting, change)
    t1 = time.perf_counter()
    for _ in range(a.rounds):
        line = event_line(meeting, change[0], names)
    t2 = time.perf_counter()
    size = len(json.dumps(line[1] if line else None, ensure_ascii=False).encode())
    print(f"  on the loop      {(t1 - t0) / a.rounds * 1000:6.2f} ms writes_for  "
          f"{(t2 - t1) / a.rounds * 1000:6.2f} ms log line of {size / 1024:.1f} KiB "
          f"(limit 64 KiB) per change, {now:.0f} s into the sitting")


if __name__ == "__main__":
    main()
