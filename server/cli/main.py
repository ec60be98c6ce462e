"""The ``hiroba`` command line: serve, config, cert, invite, staff, models, track, minutes,
transcribe."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

from rooms.errors import HirobaError
from server import __version__
from server.cli.bench import add_commands as add_bench_commands
from server.cli.config_show import add_commands as add_config_commands
from server.cli.config_show import shown_default
from server.cli.minutes import add_commands as add_minutes_commands
from server.cli.rooms import add_commands as add_rooms_commands
from server.cli.staff import add_commands as add_staff_commands
from server.cli.tracking import add_commands as add_tracking_commands
from server.cli.transcribe import add_commands as add_transcribe_commands
from server.config.logs import configure_logging
from server.config.settings import (
    GROUPS,
    ResolvedSettings,
    Settings,
    resolve_settings,
    setting_info,
)

log = logging.getLogger("hiroba")


class ManualFormatter(argparse.HelpFormatter):
    """Wraps paragraphs as usual but keeps text laid out in lines (the examples) as it is."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One option per setting, in the setting's group, named after it, with its metavar,
    default and environment variable; booleans as ``--x/--no-x``. Every option defaults to
    ``None`` (not given), so that :func:`resolve_settings` knows which ones were."""
    parser.add_argument_group(
        "configuration",
        "Every option below can also be set by its environment variable or by its name as "
        "a key in a TOML file. Precedence: flag > environment > file > default. "
        "`hiroba config show` prints what is in effect and where each value came from.",
    ).add_argument(
        "--config", type=Path, default=None, metavar="FILE",
        help="TOML settings file, e.g. port = 8443 (env HIROBA_CONFIG; default: none)",
    )  # fmt: skip
    groups = {name: parser.add_argument_group(name, text) for name, text in GROUPS.items()}
    for info in setting_info():
        group = groups.get(info.group or "")
        if group is None:  # a setting nobody grouped: still offered (a test refuses it)
            group = groups["other"] = parser.add_argument_group("other")
        default = info.default_text or shown_default(info.default)
        text = f"{info.doc} (default: {default}; env {info.env})"
        help_text = text.replace("%", "%%")
        if info.type is bool:
            group.add_argument(
                info.flag, dest=info.name, default=None, help=help_text,
                action=argparse.BooleanOptionalAction,
            )  # fmt: skip
        else:
            group.add_argument(
                info.flag, dest=info.name, default=None, help=help_text, metavar=info.metavar
            )


def _resolved(args: argparse.Namespace) -> ResolvedSettings:
    overrides = {info.name: getattr(args, info.name, None) for info in setting_info()}
    return resolve_settings(os.environ, overrides, args.config)


def _settings(args: argparse.Namespace) -> Settings:
    return _resolved(args).settings


def _serve(args: argparse.Namespace) -> int:
    from server.app import create_app
    from server.config.versions import require_supported
    from server.http.connections import raise_file_limit, serve

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
    app = create_app(settings)  # refuses a missing client build: say nothing of serving first
    print(f"Hiroba {__version__} on {scheme}://{shown_host}:{settings.port}/", flush=True)
    # Each connection is a descriptor: the soft limit (often 1,024) up to the hard one.
    raise_file_limit()
    # Not web.run_app: every connection passes the guard first (a header-read timeout, a
    # per-address cap before TLS; server/http/connections.py).
    asyncio.run(serve(app, settings.host, settings.port, ssl_context))
    return 0


def _cert(args: argparse.Namespace) -> int:
    from server.config.tls import local_addresses, make_self_signed

    names = list(args.name) or local_addresses()
    out = Path(args.out_dir)
    cert, key = make_self_signed(out / "cert.pem", out / "key.pem", names, days=args.days)
    print(
        f"certificate: {cert}\nprivate key: {key}\nvalid for: localhost, 127.0.0.1, "
        f"{', '.join(names) or '(no LAN address found; pass --name)'}"
    )
    print(f"serve with:\n  .venv/bin/hiroba serve --host 0.0.0.0 --tls-cert {cert} --tls-key {key}")
    return 0


SERVE_EXAMPLES = """\
examples:
  hiroba serve --host 0.0.0.0 --tls-cert data/tls/cert.pem --tls-key data/tls/key.pem
  HIROBA_REDIS_URL=redis://127.0.0.1:6379/0 hiroba serve --port 8081 --no-seed-demo
  hiroba serve --config /etc/hiroba/hiroba.toml --log-format json
  hiroba config show --config /etc/hiroba/hiroba.toml   # what is in effect, and why

Every setting, with its meaning in full: docs/operations.md ("Settings").
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hiroba", description="Hiroba: a city's 3D plaza")
    parser.add_argument("--version", action="version", version=f"hiroba {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve",
        help="start the server",
        usage="%(prog)s [--config FILE] [OPTION ...]",
        description="Start Hiroba: open the SQLite database in the data folder and serve "
        "the plaza, the staff console and the archive.",
        epilog=SERVE_EXAMPLES,
        formatter_class=ManualFormatter,
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
    add_rooms_commands(sub, _add_setting_flags, _settings)
    add_tracking_commands(sub, _add_setting_flags, _settings)
    add_transcribe_commands(sub, _add_setting_flags, _settings)
    add_minutes_commands(sub, _add_setting_flags, _settings)
    add_config_commands(sub, _add_setting_flags, _resolved, ManualFormatter)
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
