"""Recording ids and the one way from an id to its folder (no path traversal).

An id is 22 characters of URL-safe base64 from :func:`secrets.token_urlsafe` (128 random
bits): unguessable, so a link to an unpublished recording cannot be found by trying, and
safe as a file name and in a URL. Anything else is refused before it reaches the file
system, with ``not_found`` (the same answer as for an id that does not exist, so probing
tells nothing).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from rooms.errors import HirobaError, Reason

ID_LENGTH = 22
_ID = re.compile(r"[A-Za-z0-9_-]{22}")


def new_recording_id() -> str:
    """A fresh random id (128 bits)."""
    return secrets.token_urlsafe(16)


def is_recording_id(text: object) -> bool:
    return isinstance(text, str) and _ID.fullmatch(text) is not None


def recording_dir(root: Path, recording_id: object) -> Path:
    """The folder of recording ``recording_id`` under ``root``; raises
    ``HirobaError(NOT_FOUND)`` for anything that is not a well-formed id, and for a
    folder that would resolve outside ``root`` (a symlink planted in it)."""
    if not is_recording_id(recording_id):
        raise HirobaError(Reason.NOT_FOUND, "no such recording")
    assert isinstance(recording_id, str)
    path = root / recording_id
    base = root.resolve()
    if path.exists() and not path.resolve().is_relative_to(base):
        raise HirobaError(Reason.NOT_FOUND, "no such recording")
    return path
