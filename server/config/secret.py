"""The installation's token-signing secret, created on first use and kept private."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from rooms.errors import HirobaError, Reason


def load_or_create_secret(path: Path) -> bytes:
    """Read the secret at ``path``; create it (mode 0600) if absent. Blocking: call off-loop."""
    try:
        text = path.read_text().strip()
        if len(text) >= 32:
            return text.encode()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value.encode()


def read_secret(path: Path) -> bytes:
    """Read an existing secret (a cluster edge must share the leader's, not make its own).
    Blocking: call off-loop. Raises ``bad_field`` when it is missing or too short."""
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise HirobaError(
            Reason.BAD_FIELD,
            f"an edge node needs a copy of the leader's secret file at {path} (secret_file)",
        ) from exc
    if len(text) < 32:
        raise HirobaError(Reason.BAD_FIELD, f"the secret file {path} is too short")
    return text.encode()
