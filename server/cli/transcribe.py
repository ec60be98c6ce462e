"""``hiroba transcribe FILE``: offline speech recognition of one audio file."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from server.config.settings import Settings

AddFlags = Callable[[argparse.ArgumentParser], None]
SettingsOf = Callable[[argparse.Namespace], Settings]


def clock(seconds: float) -> str:
    """``MM:SS.s`` (``H:MM:SS.s`` from an hour on), as the readable output shows times."""
    tenths = round(seconds * 10)
    minutes, rest = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    text = f"{minutes:02d}:{rest // 10:02d}.{rest % 10}"
    return f"{hours}:{text}" if hours else text


def _transcribe(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        # Imported here so that other commands do not pay for faster-whisper and PyAV.
        from server.transcription.engine import (
            Transcriber,
            decode_audio,
            read_glossary,
            supported_language,
        )

        settings = settings_of(args)
        path = Path(args.file)
        language = supported_language(args.lang)
        hints = list(args.hint)
        glossary = args.glossary or settings.transcription_glossary
        if glossary is not None:
            hints += read_glossary(Path(glossary))
        # The audio first: a bad file is reported without waiting for the model to load.
        audio = decode_audio(path)
        transcriber = Transcriber.from_settings(settings)
        segments = transcriber.transcribe(audio, language=language, hints=hints)
        for s in segments:
            if args.json:
                line = {"start": s.start, "end": s.end, "text": s.text,
                        "avg_logprob": round(s.avg_logprob, 3),
                        "no_speech_prob": round(s.no_speech_prob, 3)}  # fmt: skip
                print(json.dumps(line, ensure_ascii=False), flush=True)
            else:
                print(f"[{clock(s.start)}–{clock(s.end)}] {s.text}", flush=True)
        if not segments:
            print(f"hiroba: no speech recognised in {path}", file=sys.stderr)
        return 0

    return run


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                 add_flags: AddFlags, settings_of: SettingsOf) -> None:  # fmt: skip
    """Register ``transcribe`` on the ``hiroba`` parser."""
    cmd = sub.add_parser(
        "transcribe",
        help="transcribe an audio file offline (Japanese by default)",
        description="Recognise the speech in an audio file (Ogg Opus as Hiroba records it, "
        "WAV, MP3, MP4/WebM audio) with the local Whisper model (`hiroba models fetch`; "
        "nothing is downloaded here). Prints one line per segment: `[MM:SS.s–MM:SS.s] text`, "
        "or with --json an object with start and end (seconds) and text.",
    )
    cmd.add_argument("file", help="audio file")
    cmd.add_argument("--lang", default="ja", help="spoken language (default: ja; en, zh, ko...)")
    cmd.add_argument("--json", action="store_true", help="one JSON object per segment")
    cmd.add_argument(
        "--hint", action="append", default=[], metavar="TEXT",
        help="a word or name likely to be said (agenda title, member name); repeatable",
    )  # fmt: skip
    cmd.add_argument(
        "--glossary", type=Path, default=None, metavar="FILE",
        help="terms file, one a line (default: the transcription_glossary setting)",
    )  # fmt: skip
    add_flags(cmd)
    cmd.set_defaults(run=_transcribe(settings_of))

