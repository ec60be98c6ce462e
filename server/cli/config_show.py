"""``hiroba config show``: the settings in effect, and where each value came from.

It reads the same inputs as ``hiroba serve`` (``--config FILE`` or ``HIROBA_CONFIG``,
``HIROBA_*`` variables, the same flags) and refuses the same mistakes, so it doubles as a
check of a configuration before a restart. Secrets are masked (``server.config.settings
.shown_value``). The text form is itself a TOML file a ``--config`` can start from: the
values as keys, the groups and sources as comments.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path

from server.config.settings import GROUPS, MASK, ResolvedSettings, Source, setting_info, shown_value

AddFlags = Callable[[argparse.ArgumentParser], None]
ResolvedOf = Callable[[argparse.Namespace], ResolvedSettings]


def shown_default(value: object) -> str:
    """A setting's value as ``--help`` prints it in running text."""
    if value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _plain(value: object) -> object:
    """A shown value as JSON has it: paths as text, tuples as lists."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _toml(value: object) -> str:
    """A TOML literal for a shown value (never ``None``: an unset setting is a comment)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    # JSON's string escapes are all valid in a TOML basic string.
    return json.dumps(str(value), ensure_ascii=False)


def _origin(resolved: ResolvedSettings, name: str) -> str:
    info = next(i for i in setting_info() if i.name == name)
    source = resolved.sources[name]
    if source is Source.FLAG:
        given_no = info.type is bool and not getattr(resolved.settings, name)
        return f"flag --no-{info.flag[2:]}" if given_no else f"flag {info.flag}"
    if source is Source.ENVIRONMENT:
        return f"environment {info.env}"
    if source is Source.FILE:
        return f"file {resolved.config_file}"
    return "default"


def as_json(resolved: ResolvedSettings) -> dict[str, object]:
    """``{"config_file", "settings": {name: {"value", "source", "group"}}}``, masked."""
    return {
        "config_file": str(resolved.config_file) if resolved.config_file else None,
        "settings": {
            info.name: {
                "value": _plain(shown_value(info, getattr(resolved.settings, info.name))),
                "source": resolved.sources[info.name].value,
                "group": info.group,
            }
            for info in setting_info()
        },
    }


def as_text(resolved: ResolvedSettings) -> str:
    """The settings as a commented TOML file, grouped as in ``hiroba serve --help``."""
    lines = [
        "# Hiroba settings in effect. Precedence: flag > environment > file > default.",
        f"# config file: {resolved.config_file or 'none'}",
        f"# secrets are shown as {MASK}",
    ]
    by_group: dict[str, list[str]] = {}
    for info in setting_info():
        value = shown_value(info, getattr(resolved.settings, info.name))
        if value is not None:
            entry = f"{info.name} = {_toml(value)}"
        else:
            entry = f"# {info.name} unset" + (
                f" ({info.default_text})" if info.default_text else ""
            )
        line = f"{entry:<44} # {_origin(resolved, info.name)}"
        by_group.setdefault(info.group or "other", []).append(line)
    for group in [*GROUPS, "other"]:
        if group in by_group:
            lines += ["", f"# {group}: {GROUPS.get(group, 'settings without a group')}"]
            lines += by_group[group]
    return "\n".join(lines) + "\n"


def add_commands(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    add_flags: AddFlags,
    resolved_of: ResolvedOf,
    formatter: type[argparse.HelpFormatter] = argparse.HelpFormatter,
) -> None:
    """Register ``hiroba config show``."""
    config = sub.add_parser("config", help="inspect the settings")
    actions = config.add_subparsers(dest="config_command", required=True)
    show = actions.add_parser(
        "show",
        formatter_class=formatter,
        help="print the settings in effect and where each came from (secrets masked)",
        usage="%(prog)s [--json] [--config FILE] [OPTION ...]",
        description="Print every setting in effect, as `hiroba serve` given the same "
        "file, environment and flags would use it, and where its value came from: flag, "
        "environment, file or default. Secrets (passwords in URLs, secret values) are "
        "masked. Bad values are refused as serve refuses them (exit status 2).",
    )
    show.add_argument("--json", action="store_true", help="print one JSON object instead")
    add_flags(show)

    def run(args: argparse.Namespace) -> int:
        resolved = resolved_of(args)
        if args.json:
            print(json.dumps(as_json(resolved), ensure_ascii=False, indent=2))
        else:
            print(as_text(resolved), end="")
        return 0

    show.set_defaults(run=run)
