"""``hiroba minutes RECORDING``: the minutes (議事録) of a recording as Markdown or HTML.

RECORDING is a recording id, looked up under the recordings folder (only through
:func:`server.recording.ids.recording_dir`: a bare word that is not an id is refused; a
closed session's staff-only record is found by its id too), or
the path of a recording folder, spelt with a ``/`` (``./folder`` in the current folder).
The index row, when the database has one, gives the title. Reads files only (and the
index); works while the server runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rooms.errors import HirobaError, Reason
from server.config.settings import Settings
from server.recording.approval import MinutesApprovals, approved_html
from server.recording.ids import is_recording_id, recording_dir
from server.recording.index import RecordingIndex, RecordingRow
from server.recording.minutes import build_minutes, render_html, render_markdown
from server.recording.staff_record import find as find_staff_record
from server.storage.store import SQLiteStore
from server.transcription.segments import Segment
from server.transcription.store import TranscriptStore

AddFlags = Callable[[argparse.ArgumentParser], None]
SettingsOf = Callable[[argparse.Namespace], Settings]


def _folder(recording: str, settings: Settings) -> Path:
    """The folder RECORDING names: an id under the recordings folder, or a path."""
    if is_recording_id(recording):
        folder = recording_dir(settings.recordings_path, recording)
        if not (folder / "recording.json").is_file():
            # A closed session's staff-only record (秘密会; the operator reads it here
            # and staff in the console, the public nowhere).
            try:
                return find_staff_record(settings.recordings_path, recording)
            except HirobaError:
                pass
        return folder
    if "/" in recording:  # a path is spelt as one (./folder), so a bare word is an id
        return Path(recording)
    # Neither an id nor a path: refused as an unknown id is (tells nothing more).
    raise HirobaError(Reason.NOT_FOUND, f"no such recording: {recording!r}")


def _row(settings: Settings, recording_id: str) -> RecordingRow | None:
    """The index row of the recording, when the database exists and has one."""
    if not settings.database_path.is_file():
        return None

    async def get() -> RecordingRow | None:
        store = SQLiteStore(settings.database_path)
        await store.open()
        try:
            return await RecordingIndex(store, settings.recordings_path).get(recording_id)
        except HirobaError:
            return None
        finally:
            await store.close()

    return asyncio.run(get())


def _approved(settings: Settings, recording_id: str) -> str | None:
    """The text of the recording's published approved minutes (会議録署名), if any."""
    if not settings.database_path.is_file():
        return None

    async def get() -> str | None:
        store = SQLiteStore(settings.database_path)
        await store.open()
        try:
            found = await MinutesApprovals(store).published(recording_id)
            return None if found is None else found.text
        finally:
            await store.close()

    return asyncio.run(get())


def _transcript(settings: Settings, recording_id: str) -> list[Segment] | None:
    """The recording's transcript segments (the 発言 section), when it has a job."""
    if not settings.database_path.is_file():
        return None

    async def get() -> list[Segment] | None:
        store = SQLiteStore(settings.database_path)
        await store.open()
        try:
            transcripts = TranscriptStore(store)
            if await transcripts.job(recording_id) is None:
                return None
            return await transcripts.segments(recording_id)
        finally:
            await store.close()

    return asyncio.run(get())


def _write(text: str, args: argparse.Namespace, recording_id: str) -> None:
    if args.output is None:
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"minutes of {recording_id} written to {args.output}", file=sys.stderr)


def minutes(args: argparse.Namespace, settings: Settings) -> int:
    """Write the minutes to ``--output`` or standard output."""
    if args.approved:
        # The signed text as it was published, never the generated minutes.
        if not is_recording_id(args.recording):
            raise HirobaError(Reason.NOT_FOUND, f"no such recording: {args.recording!r}")
        text = _approved(settings, args.recording)
        if text is None:
            raise HirobaError(Reason.NOT_FOUND, "no approved minutes were published for "
                              f"{args.recording!r}")
        row = _row(settings, args.recording)
        if args.format == "html":
            text = approved_html(text, row.title if row else args.recording)[0]
        _write(text, args, args.recording)
        return 0
    folder = _folder(args.recording, settings)
    if not (folder / "recording.json").is_file():
        raise HirobaError(Reason.NOT_FOUND, f"no recording in {args.recording!r}")
    row = _row(settings, folder.name) if is_recording_id(folder.name) else None
    try:
        tz = settings.zone if args.tz is None else ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HirobaError(Reason.BAD_FIELD, f"unknown time zone {args.tz!r}") from exc
    # (Only an indexed recording has a transcript: never a closed session's staff record.)
    transcript = _transcript(settings, folder.name) if row is not None else None
    m = build_minutes(folder, row, include_moderation=args.staff, tz=tz,
                      transcript=transcript)
    text = (render_html if args.format == "html" else render_markdown)(m, lang=args.lang)
    _write(text, args, m.recording_id)
    return 0


def add_commands(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    add_flags: AddFlags, settings_of: SettingsOf,
) -> None:
    p = sub.add_parser(
        "minutes", help="write the minutes (議事録) of a recording",
        description="The minutes of a recorded meeting: date and times, attendance by "
        "role, agenda, speaker timeline and speaking times, captions, poll results, "
        "opinions and questions; with --staff also names of citizens, hidden items and "
        "moderation actions (not for publication).")
    p.add_argument("recording", help="recording id, or the path of a recording folder (with a /)")
    p.add_argument("--format", choices=("md", "html"), default="md")
    p.add_argument("--staff", action="store_true",
                   help="the staff edition: adds moderation actions and names")
    p.add_argument("--approved", action="store_true",
                   help="the approved version (会議録署名) as published, instead of the "
                   "generated minutes (RECORDING must be an id)")
    p.add_argument("--lang", choices=("ja", "en"), default="ja", help="headings' language")
    p.add_argument("--tz", default=None,
                   help="time zone of the times shown, e.g. Europe/Berlin (default: the "
                   "time_zone setting, Asia/Tokyo unless set)")
    p.add_argument("--output", "-o", default=None, help="file to write (default: stdout)")
    add_flags(p)
    p.set_defaults(run=lambda args: minutes(args, settings_of(args)))
