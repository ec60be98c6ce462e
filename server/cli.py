"""The ``hiroba`` command line: serve, cert, invite, models, track."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import ssl
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from moderation.tokens import issue_token
from rooms.errors import HirobaError
from rooms.model import Role
from server import __version__
from server.cli_tracking import add_commands as add_tracking_commands
from server.secret import load_or_create_secret
from server.settings import Settings, env_name, load_settings, setting_fields
from server.store import SQLiteStore

log = logging.getLogger("hiroba")


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()
    group = parser.add_argument_group(
        "settings",
        "Each can also be set by an environment variable or a key in the TOML file given "
        "with --config (or HIROBA_CONFIG). Precedence: flag > environment > file > default.",
    )
    for f in setting_fields():
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if isinstance(default, tuple):
            default = ",".join(default) or "none"
        help_text = f"{f.metadata['doc']} [env {env_name(f.name)}; default: {default}]"
        group.add_argument(flag, dest=f.name, default=None, help=help_text, metavar="VALUE")
    parser.add_argument("--config", type=Path, default=None, help="TOML settings file")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {f.name: getattr(args, f.name, None) for f in setting_fields()}
    return load_settings(os.environ, overrides, args.config)


def _serve(args: argparse.Namespace) -> int:
    from server.app import create_app

    settings = _settings(args)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ssl_context = None
    if settings.tls_cert is not None and settings.tls_key is not None:
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(settings.tls_cert, settings.tls_key)
    scheme = "https" if ssl_context else "http"
    shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    print(f"Hiroba {__version__} on {scheme}://{shown_host}:{settings.port}/", flush=True)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ssl_context=ssl_context,
        print=None,
        access_log=None,
        handler_cancellation=True,
    )
    return 0


def _cert(args: argparse.Namespace) -> int:
    from server.tls import local_addresses, make_self_signed

    names = list(args.name) or local_addresses()
    out = Path(args.out_dir)
    cert, key = make_self_signed(out / "cert.pem", out / "key.pem", names, days=args.days)
    print(
        f"certificate: {cert}\nprivate key: {key}\nvalid for: localhost, 127.0.0.1, "
        f"{', '.join(names) or '(no LAN address found; pass --name)'}"
    )
    print(f"serve with:\n  .venv/bin/hiroba serve --host 0.0.0.0 --tls-cert {cert} --tls-key {key}")
    return 0


def _invite(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def room_exists() -> bool:
        store = SQLiteStore(settings.database_path)
        await store.open()
        try:
            return any(r.id == args.room for r in await store.list_rooms())
        finally:
            await store.close()

    if not asyncio.run(room_exists()):
        print(
            f"hiroba: no room {args.room!r} (start the server once to create the demo)",
            file=sys.stderr,
        )
        return 2
    secret = load_or_create_secret(settings.secret_path)
    token = issue_token(secret, args.room, Role(args.role), args.name, time.time(), args.ttl)
    scheme = "https" if settings.tls else "http"
    print(
        f"{scheme}://{args.host_name or settings.host}:{settings.port}/"
        f"?room={args.room}&token={token}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hiroba", description="Hiroba: a city's 3D plaza")
    parser.add_argument("--version", action="version", version=f"hiroba {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve",
        help="start the server",
        description="Start Hiroba. Opens the SQLite database in the data "
        "folder, seeds the demo on first start and serves the plaza.",
    )
    _add_setting_flags(serve)
    serve.set_defaults(run=_serve)

    cert = sub.add_parser("cert", help="make a self-signed certificate for LAN trials")
    cert.add_argument("--out-dir", default="data/tls", help="folder for cert.pem and key.pem")
    cert.add_argument(
        "--name",
        action="append",
        default=[],
        help="host name or IP the phone will use (repeatable; default: this host's addresses)",
    )
    cert.add_argument("--days", type=int, default=90, help="validity in days")
    cert.set_defaults(run=_cert)

    invite = sub.add_parser("invite", help="print a signed link that grants a role in a room")
    invite.add_argument("room", help="room id")
    invite.add_argument("--role", choices=[r.value for r in Role], default=Role.MEMBER.value)
    invite.add_argument("--name", default=None, help="display name fixed by the link")
    invite.add_argument("--ttl", type=int, default=7 * 24 * 3600, help="validity in seconds")
    invite.add_argument("--host-name", default=None, help="host to put in the link")
    _add_setting_flags(invite)
    invite.set_defaults(run=_invite)
    add_tracking_commands(sub, _add_setting_flags, _settings)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except HirobaError as exc:
        print(f"hiroba: {exc.message}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
