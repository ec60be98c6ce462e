"""``hiroba staff add|list|disable|enable`` and ``hiroba invite``: accounts and invitations
from the shell. They work on the database directly, also while the server runs (SQLite
in WAL mode; the server reads accounts and sessions at every login and request)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar
from urllib.parse import urlencode

from moderation import accounts, audit
from moderation.invitations import INVITABLE_ROLES, issue_invitation
from moderation.policy import Action
from rooms.model import Role
from server.config.secret import load_or_create_secret
from server.config.settings import Settings
from server.meetings.store import MeetingStore, audit_write
from server.staff.passwords import STAFF_HASHER
from server.staff.store import StaffStore
from server.storage.store import SQLiteStore

AddFlags = Callable[[argparse.ArgumentParser], None]
SettingsOf = Callable[[argparse.Namespace], Settings]
T = TypeVar("T")
#: How the audit log names what the operator does from the command line.
OPERATOR = "operator"


def with_store(settings: Settings, fn: Callable[[SQLiteStore], Awaitable[T]]) -> T:
    """Run ``fn`` on the database, opened for this command alone (WAL: also while a
    server runs)."""
    async def run() -> T:
        store = SQLiteStore(settings.database_path)
        await store.open()
        try:
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (12 characters or more): ")
    if getpass.getpass("Password again: ") != first:
        raise SystemExit("hiroba: the passwords differ; nothing was changed")
    return first


def staff_add(args: argparse.Namespace, settings: Settings) -> int:
    name = accounts.normalise_account_name(args.name)
    password = _read_password(args)
    account = accounts.new_account(name, password, time.time(),
                                   display_name=args.display_name or "", hasher=STAFF_HASHER,
                                   kind=args.role)
    with_store(settings, lambda store: StaffStore(store).add_account(account))
    if account.kind == accounts.SIGNER_KIND:
        print(f"signing account {account.name!r} added (会議録署名: it may only approve the "
              "minutes naming it); log in at /console")
    else:
        print(f"staff account {account.name!r} added; log in at /console")
    return 0


def staff_list(args: argparse.Namespace, settings: Settings) -> int:
    found = with_store(settings, lambda store: StaffStore(store).accounts())
    if not found:
        print("no staff accounts (add one with: hiroba staff add NAME)")
    for a in found:
        created = datetime.fromtimestamp(a.created_at, settings.zone).strftime("%Y-%m-%d")
        state = "disabled" if a.disabled else "active"
        print(f"{a.name}\t{a.display_name}\t{state}\tcreated {created}\t{a.kind}")
    return 0


def staff_set_disabled(args: argparse.Namespace, settings: Settings, disabled: bool) -> int:
    name = accounts.normalise_account_name(args.name)
    changed = with_store(settings, lambda store: StaffStore(store).set_disabled(name, disabled))
    if not changed:
        print(f"hiroba: no staff account {name!r}", file=sys.stderr)
        return 2
    print(f"staff account {name!r} {'disabled; its sessions ended' if disabled else 'enabled'}")
    return 0


def staff_disable(args: argparse.Namespace, settings: Settings) -> int:
    return staff_set_disabled(args, settings, True)


def staff_enable(args: argparse.Namespace, settings: Settings) -> int:
    return staff_set_disabled(args, settings, False)


def invite(args: argparse.Namespace, settings: Settings) -> int:
    """Print a single-use invitation link, record it, and log it in the audit log."""

    async def make(store: SQLiteStore) -> str | None:
        if not any(r.id == args.room for r in await store.list_rooms()):
            return None
        now = time.time()
        secret = load_or_create_secret(settings.secret_path)
        token, invitation = issue_invitation(secret, args.room, Role(args.role), args.name,
                                             now, args.ttl, issued_by=OPERATOR)
        await StaffStore(store).add_invitation(invitation)
        entry = audit.entry(args.room, now, actor=OPERATOR, actor_name="command line",
                            actor_role=Role.STAFF, action=Action.INVITE,
                            details={"role": args.role, "name": args.name or ""})
        await MeetingStore(store).apply([audit_write(entry)])
        return token

    token = with_store(settings, make)
    if token is None:
        print(f"hiroba: no room {args.room!r} (start the server once to create the demo)",
              file=sys.stderr)
        return 2
    query = urlencode({"room": args.room, "token": token})
    print(f"{link_base(settings, args.host_name)}/?{query}")
    return 0


def link_base(settings: Settings, host_name: str | None = None) -> str:
    """Where people open this server, for a printed link: ``public_base_url`` when set
    (the address behind a proxy), else this server's own scheme, host and port (a
    wildcard listening address names no machine: ``localhost`` then), ``host_name``
    standing in for the host."""
    if settings.public_base_url and host_name is None:
        return settings.public_base_url.rstrip("/")
    scheme = "https" if settings.tls else "http"
    host = host_name or settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"{scheme}://{host}:{settings.port}"


def add_commands(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    add_flags: AddFlags, settings_of: SettingsOf,
) -> None:
    def runner(fn: Callable[[argparse.Namespace, Settings], int]) -> Callable[..., int]:
        return lambda args: fn(args, settings_of(args))

    inv = sub.add_parser(
        "invite", help="print a single-use invitation link to a room",
        description="Make a signed, expiring, single-use invitation: the first device to "
        "open it owns it; any other device is refused.")
    inv.add_argument("room", help="room id")
    inv.add_argument("--role", choices=sorted(r.value for r in INVITABLE_ROLES),
                     default=Role.MEMBER.value)
    inv.add_argument("--name", default=None, help="display name fixed by the invitation")
    inv.add_argument("--ttl", type=int, default=7 * 24 * 3600,
                     help="validity in seconds (60 to 30 days)")
    inv.add_argument("--host-name", default=None,
                     help="host to put in the link (instead of public_base_url or host)")
    add_flags(inv)
    inv.set_defaults(run=runner(invite))

    staff = sub.add_parser("staff", help="staff accounts for the console")
    verbs = staff.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="add an account (asks for its password twice)")
    add.add_argument("name", help="1-32 of a-z, 0-9, '.', '_', '-'")
    add.add_argument("--display-name", default=None, help="name shown in meetings")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    add.add_argument("--role", choices=accounts.ACCOUNT_KINDS, default=accounts.STAFF_KIND,
                     help="staff (the secretariat) or signer (会議録署名: the chair or a "
                     "signing member, who may only approve the minutes naming them)")
    add_flags(add)
    add.set_defaults(run=runner(staff_add))
    lst = verbs.add_parser("list", help="list the accounts")
    add_flags(lst)
    lst.set_defaults(run=runner(staff_list))
    for verb, fn in (("disable", staff_disable), ("enable", staff_enable)):
        p = verbs.add_parser(verb, help=f"{verb} an account"
                             + (" and end its sessions" if verb == "disable" else ""))
        p.add_argument("name")
        add_flags(p)
        p.set_defaults(run=runner(fn))

