"""The ``hiroba`` command line: serve, cert, invite, staff, models, track, minutes."""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from rooms.errors import HirobaError
from server import __version__
from server.cli_bench import add_commands as add_bench_commands
from server.cli_minutes import add_commands as add_minutes_commands
from server.cli_staff import add_commands as add_staff_commands
from server.cli_tracking import add_commands as add_tracking_commands
from server.logs import configure_logging
from server.settings import Settings, env_name, load_settings, setting_fields

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
    from server.versions import require_supported

    settings = _settings(args)
    # Before anything else: on an untested aiortc/aioice everyone would be silently unheard.
    require_supported()
    configure_logging(settings.log_level, settings.log_format)
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

    add_staff_commands(sub, _add_setting_flags, _settings)
    add_tracking_commands(sub, _add_setting_flags, _settings)
    add_minutes_commands(sub, _add_setting_flags, _settings)
    add_bench_commands(sub)
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
