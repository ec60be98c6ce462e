"""``hiroba rooms add|list|schedule``: a city's own rooms from the shell.

Without ``--seed-demo`` a new server has no rooms; these commands create them in the
database (SQLite in WAL mode, so also while a server runs). A running server loads its
rooms at start: restart it to open a room added meanwhile. ``schedule`` says who holds a
room's event and when (times read in the city's zone, ``time_zone``), as the console's
room settings do; a running server reads it at start. Agenda, categories and notices are
then set in the staff console.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from moderation.limits import clean_text
from moderation.roster import ORGANISER_MAX, Schedule
from rooms.errors import HirobaError, Reason
from rooms.layouts import DEFAULT_CAPACITY
from rooms.model import RoomKind
from rooms.room import RoomInfo
from server.cli.staff import with_store
from server.config.settings import Settings
from server.meetings.store import MeetingStore
from server.sockets.messages import MAX_ROOM_ID_LENGTH
from server.storage.store import SQLiteStore

AddFlags = Callable[[argparse.ArgumentParser], None]
SettingsOf = Callable[[argparse.Namespace], Settings]
#: Room ids appear in links (/?room=ID) and file names: lower-case ASCII, digits, '-'.
ROOM_ID = re.compile(rf"[a-z0-9][a-z0-9-]{{0,{MAX_ROOM_ID_LENGTH - 1}}}")
MAX_NAME_LENGTH = 80
MAX_CAPACITY = 2000


def room_info(room_id: str, kind: str, name_ja: str, name_en: str,
              capacity: int | None) -> RoomInfo:
    """A checked :class:`RoomInfo` from the command line's words."""
    if not ROOM_ID.fullmatch(room_id):
        raise HirobaError(Reason.BAD_FIELD, f"room id {room_id!r}: use 1-{MAX_ROOM_ID_LENGTH} "
                          "of a-z, 0-9 and '-', starting with a letter or digit")
    for label, name in (("--name-ja", name_ja), ("--name-en", name_en)):
        if not name.strip() or len(name) > MAX_NAME_LENGTH or not name.isprintable():
            raise HirobaError(Reason.BAD_FIELD,
                              f"{label}: 1-{MAX_NAME_LENGTH} printable characters")
    room_kind = RoomKind(kind)
    size = DEFAULT_CAPACITY[room_kind] if capacity is None else capacity
    if not 1 <= size <= MAX_CAPACITY:
        raise HirobaError(Reason.BAD_FIELD, f"--capacity: 1 to {MAX_CAPACITY}")
    return RoomInfo(room_id, room_kind, name_ja.strip(), name_en.strip(), size)


def rooms_add(args: argparse.Namespace, settings: Settings) -> int:
    info = room_info(args.id, args.kind, args.name_ja, args.name_en or args.name_ja,
                     args.capacity)

    async def add(store: SQLiteStore) -> None:
        try:
            await store.add_room(info)
        except sqlite3.IntegrityError:
            raise HirobaError(Reason.DUPLICATE, f"a room {info.id!r} exists already") from None

    with_store(settings, add)
    print(f"room {info.id!r} ({info.kind.value}, {info.capacity} people) added; "
          f"a running server opens it when restarted: /?room={info.id}")
    return 0


def rooms_list(args: argparse.Namespace, settings: Settings) -> int:
    found = with_store(settings, lambda store: store.list_rooms())
    if not found:
        print("no rooms (add one with: hiroba rooms add ID --kind KIND --name-ja NAME)")
    for r in found:
        print(f"{r.id}\t{r.kind.value}\t{r.capacity}\t{r.name_ja}\t{r.name_en}")
    return 0


def parse_time(text: str, zone: ZoneInfo, flag: str) -> int | None:
    """``2026-12-10 14:00`` (or ISO 8601, ``T`` between) as UTC seconds, read in the
    city's zone unless it names its own offset; ``""`` or ``none``: not said."""
    if text.strip().lower() in ("", "none"):
        return None
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HirobaError(Reason.BAD_FIELD, f"{flag}: {text!r} is no date and time; "
                          "write it like 2026-12-10 14:00") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    return int(at.timestamp())


def schedule_of(args: argparse.Namespace, zone: ZoneInfo, now: Schedule) -> Schedule:
    """The schedule the command line asks for: flags left out keep what is stored."""
    if args.clear:
        return Schedule()
    organiser = now.organiser
    if args.organiser is not None:
        organiser = (clean_text(args.organiser, ORGANISER_MAX, "--organiser")
                     if args.organiser.strip() else "")
    starts = now.starts_at if args.starts is None else parse_time(args.starts, zone, "--starts")
    ends = now.ends_at if args.ends is None else parse_time(args.ends, zone, "--ends")
    out = Schedule(organiser, starts, ends)
    problem = out.problem()
    if problem is not None:
        raise HirobaError(Reason.BAD_FIELD, problem.replace("starts_at", "--starts")
                          .replace("ends_at", "--ends"))
    return out


def rooms_schedule(args: argparse.Namespace, settings: Settings) -> int:
    zone = settings.zone

    async def store_it(store: SQLiteStore) -> Schedule:
        if not any(r.id == args.id for r in await store.list_rooms()):
            raise HirobaError(Reason.NO_SUCH_ROOM, f"no room {args.id!r} (see: hiroba rooms list)")
        records = MeetingStore(store)
        plan = schedule_of(args, zone, (await records.schedules()).get(args.id, Schedule()))
        await records.set_schedule(args.id, plan)
        return plan

    plan = with_store(settings, store_it)

    def shown(at: int | None) -> str:
        return "—" if at is None else datetime.fromtimestamp(at, zone).strftime("%Y-%m-%d %H:%M")

    print(f"room {args.id!r}: organiser {plan.organiser or '—'}; "
          f"{shown(plan.starts_at)} to {shown(plan.ends_at)} ({settings.time_zone}); "
          "a running server shows it when restarted (or set it in the console's room settings)")
    return 0


def add_commands(sub: argparse._SubParsersAction,  # type: ignore[type-arg]
                 add_flags: AddFlags, settings_of: SettingsOf) -> None:
    def runner(fn: Callable[[argparse.Namespace, Settings], int]) -> Callable[..., int]:
        return lambda args: fn(args, settings_of(args))

    rooms = sub.add_parser("rooms", help="the city's rooms (plaza, consultations, committees)")
    verbs = rooms.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="create a room (a running server opens it on restart)")
    add.add_argument("id", help=f"1-{MAX_ROOM_ID_LENGTH} of a-z, 0-9, '-': the link's ?room=")
    add.add_argument("--kind", required=True, choices=[k.value for k in RoomKind])
    add.add_argument("--name-ja", required=True, metavar="NAME", help="name shown in Japanese")
    add.add_argument("--name-en", default="", metavar="NAME",
                     help="name shown in English (default: the Japanese one)")
    add.add_argument("--capacity", type=int, default=None, metavar="PEOPLE",
                     help="most people at once (default by kind: "
                     + ", ".join(f"{k.value} {n}" for k, n in DEFAULT_CAPACITY.items()) + ")")
    add_flags(add)
    add.set_defaults(run=runner(rooms_add))
    lst = verbs.add_parser("list", help="list the rooms")
    add_flags(lst)
    lst.set_defaults(run=runner(rooms_list))
    plan = verbs.add_parser(
        "schedule", help="who holds a room's event and when (shown on the join page)",
        description="Times are read in the city's time zone (the time_zone setting) unless "
        "they carry their own offset. Flags left out keep what is stored; '' clears one.")
    plan.add_argument("id", help="the room's id")
    plan.add_argument("--organiser", default=None, metavar="TEXT",
                      help=f"who holds it, e.g. '市民生活委員会 / ○○市' (≤ {ORGANISER_MAX})")
    plan.add_argument("--starts", default=None, metavar="'YYYY-MM-DD HH:MM'",
                      help="when it starts, in the city's zone")
    plan.add_argument("--ends", default=None, metavar="'YYYY-MM-DD HH:MM'",
                      help="when it ends (after the start), in the city's zone")
    plan.add_argument("--clear", action="store_true", help="forget the organiser and times")
    add_flags(plan)
    plan.set_defaults(run=runner(rooms_schedule))
