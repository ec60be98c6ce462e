"""``hiroba rooms add|list``: a city's own rooms from the shell.

Without ``--seed-demo`` a new server has no rooms; these commands create them in the
database (SQLite in WAL mode, so also while a server runs). A running server loads its
rooms at start: restart it to open a room added meanwhile. Agenda, categories and notices
are then set in the staff console.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
from collections.abc import Callable

from rooms.errors import HirobaError, Reason
from rooms.layouts import DEFAULT_CAPACITY
from rooms.model import RoomKind
from rooms.room import RoomInfo
from server.cli.staff import with_store
from server.config.settings import Settings
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
