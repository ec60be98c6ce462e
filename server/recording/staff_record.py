"""The staff-only record of a closed session (秘密会), when ``closed_session_staff_record``
is on (docs/recording.md, "Closed sessions").

While the public recording of a committee room is paused for a closed session, the
recording service writes the closed part into a recording of its own: the same recorder,
the same files (event log, audio per speaker, motion log), but the event log unredacted
(the committee's record with its votes by name, attendance, moderation) and the folder
outside the public recordings:

    <recordings_dir>/staff/<public recording id>/<staff record id>/

Why a folder of its own rather than a row flagged "staff" among the recordings: every
public route finds a recording by ``recordings`` row and ``ids.recording_dir(root, id)``
only, so a staff record is not there to be found, whatever a route forgets to check.
``staff`` is not a recording id (22 characters), so the public folder walk (recovery,
:func:`server.recording.ids.recording_dir`) never enters it. The public recording it
belongs to is the folder it sits in; the public event log never names the staff record.

Everything here is blocking (folder reads, deletes): call it in an executor.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from rooms.errors import HirobaError, Reason
from server.recording.ids import is_recording_id, recording_dir
from server.recording.recorder import (
    MANIFEST,
    Manifest,
    RecordingState,
    folder_bytes,
    read_manifest,
    recover,
)

log = logging.getLogger(__name__)

#: The folder of staff records inside the recordings folder (not a recording id).
STAFF_DIR = "staff"
DAY = 86_400.0


def staff_root(root: Path) -> Path:
    """The staff records' folder under the recordings folder ``root``."""
    return root / STAFF_DIR


def new_staff_dir(root: Path, recording_id: str, staff_id: str) -> Path:
    """Where a new staff record of public recording ``recording_id`` goes."""
    return recording_dir(recording_dir(staff_root(root), recording_id), staff_id)


@dataclass(frozen=True)
class StaffRecord:
    """One staff record: its manifest, the public recording it belongs to, its size."""

    manifest: Manifest
    recording: str
    bytes: int

    @property
    def id(self) -> str:
        return self.manifest.id

    def to_wire(self) -> dict[str, object]:
        m = self.manifest
        return {"id": m.id, "recording": self.recording, "room": m.room, "title": m.title,
                "started": m.started, "stopped": m.stopped, "state": m.state.value,
                "duration_ms": m.duration_ms, "recovered": m.recovered, "bytes": self.bytes,
                "staff_only": True}


def _parents(root: Path) -> list[Path]:
    """The per-recording folders under the staff folder (ids only, no symlinks)."""
    base = staff_root(root)
    if not base.is_dir() or base.is_symlink():
        return []
    return [p for p in sorted(base.iterdir())
            if is_recording_id(p.name) and p.is_dir() and not p.is_symlink()]


def _folders(parent: Path) -> list[Path]:
    return [p for p in sorted(parent.iterdir())
            if is_recording_id(p.name) and p.is_dir() and not p.is_symlink()
            and (p / MANIFEST).is_file()]


def find(root: Path, staff_id: object) -> Path:
    """The folder of staff record ``staff_id``; ``not_found`` for anything else (a
    malformed id is refused before the file system is touched)."""
    if not is_recording_id(staff_id):
        raise HirobaError(Reason.NOT_FOUND, "no such staff record")
    assert isinstance(staff_id, str)
    for parent in _parents(root):
        folder = recording_dir(parent, staff_id)
        if folder.is_dir() and not folder.is_symlink() and (folder / MANIFEST).is_file():
            return folder
    raise HirobaError(Reason.NOT_FOUND, "no such staff record")


def read(folder: Path) -> StaffRecord:
    """A staff record's summary from its folder."""
    return StaffRecord(read_manifest(folder), folder.parent.name, folder_bytes(folder))


def list_records(root: Path, recording_id: str | None = None) -> list[StaffRecord]:
    """Every staff record (of one public recording), newest first; unreadable folders
    are skipped (and logged)."""
    out = []
    for parent in _parents(root):
        if recording_id is not None and parent.name != recording_id:
            continue
        for folder in _folders(parent):
            try:
                out.append(read(folder))
            except HirobaError:
                log.warning("staff record %s has no readable manifest", folder.name)
    out.sort(key=lambda r: r.manifest.started, reverse=True)
    return out


def recover_open(root: Path) -> list[Manifest]:
    """At start: close every staff record a crash left open (as :func:`recover` does for
    any recording)."""
    done = []
    for parent in _parents(root):
        for folder in _folders(parent):
            try:
                if read_manifest(folder).state is RecordingState.RECORDING:
                    done.append(recover(folder))
            except HirobaError:
                log.warning("staff record %s could not be recovered", folder.name)
    return done


def sweep(root: Path, now: float, retention_days: float,
          keep: frozenset[str] = frozenset()) -> list[str]:
    """Delete the finished staff records started more than ``retention_days`` ago (a
    staff record is never published: the unpublished recordings' retention); ``keep``:
    ids still being written. Returns the ids deleted."""
    if retention_days <= 0:
        return []
    gone = []
    for parent in _parents(root):
        for folder in _folders(parent):
            try:
                manifest = read_manifest(folder)
            except HirobaError:
                continue
            if (manifest.id in keep or manifest.state is RecordingState.RECORDING
                    or manifest.started >= now - retention_days * DAY):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(manifest.id)
        with contextlib.suppress(OSError):
            parent.rmdir()  # (only when empty)
    return gone
