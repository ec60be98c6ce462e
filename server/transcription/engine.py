"""Speech to text, offline: audio decoding (PyAV) and faster-whisper (CTranslate2, int8 on
the CPU).

No asyncio and no settings lookups at call time: a caller on the event loop runs
:meth:`Transcriber.transcribe_file` in an executor, and a worker process can build one
:class:`Transcriber` and keep it (loading the model is the expensive part: about a second).
The model is loaded from a local folder only, so faster-whisper never reaches for the
Hugging Face hub (its download path is taken only for a name that is not a folder).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from rooms.errors import HirobaError, Reason
from server.config.settings import Settings
from server.transcription.glossary_fix import Replacement, glossary_fix
from server.transcription.model import verified_folder

if TYPE_CHECKING:
    from av import AudioFrame
    from faster_whisper import WhisperModel

SAMPLE_RATE = 16_000
#: Longer audio is refused rather than held in memory (64 KB a second as float32).
MAX_SECONDS = 6 * 3600
#: Characters of hints given to the decoder: Whisper keeps at most 223 prompt tokens and
#: drops the oldest; a longer list would only lose its first terms.
MAX_HINT_CHARS = 200
MAX_GLOSSARY_BYTES = 64 * 1024
#: Greedy decoding: on the bench's committee and held-out sets it was as accurate as a
#: beam of 5 (with the hints and the correction) and faster (docs/performance.md).
BEAM_SIZE = 1

#: How the hints reach the decoder; ``none``: not at all (only the correction uses them).
HintStyle = Literal["prompt", "hotwords", "both", "none"]
Audio = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Segment:
    """One recognised stretch of speech; times in seconds from the audio's start."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """What one file gave: its segments, its length and the time spent recognising it."""

    segments: tuple[Segment, ...]
    duration: float
    language: str
    seconds: float

    @property
    def text(self) -> str:
        """The segments' text run together (Japanese needs no spaces between them)."""
        return "".join(s.text for s in self.segments)


def decode_audio(path: Path, max_seconds: float = MAX_SECONDS) -> Audio:
    """The first audio stream of ``path`` as 16 kHz mono float32 in [-1, 1].

    Reads whatever FFmpeg reads (Ogg Opus as Hiroba records it, WAV, MP3, MP4/WebM audio);
    ``BAD_PAYLOAD`` for a file that is empty, not audio or damaged, ``TOO_LONG`` past
    ``max_seconds``."""
    import av

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise HirobaError(Reason.NOT_FOUND, f"cannot read {path}: {exc.strerror}") from None
    if not path.is_file():
        raise HirobaError(Reason.BAD_PAYLOAD, f"{path} is not a file")
    if size == 0:
        raise HirobaError(Reason.BAD_PAYLOAD, f"{path} is empty (0 bytes)")
    limit = int(max_seconds * SAMPLE_RATE)
    chunks: list[Audio] = []
    total = 0
    try:
        with av.open(str(path), "r") as container:
            streams = container.streams.audio
            if not streams:
                raise HirobaError(Reason.BAD_PAYLOAD, f"{path} has no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in _with_flush(container.decode(streams[0])):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    chunks.append(samples)
                    total += samples.size
                    if total > limit:
                        raise HirobaError(
                            Reason.TOO_LONG, f"{path} is longer than {max_seconds:g} s"
                        )
    except HirobaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, EOFError) as exc:
        raise HirobaError(
            Reason.BAD_PAYLOAD, f"{path} is not readable audio ({exc.__class__.__name__}: {exc})"
        ) from None
    if total == 0:
        raise HirobaError(Reason.BAD_PAYLOAD, f"{path} holds no audio samples")
    return np.concatenate(chunks)


def _with_flush(frames: Iterable[AudioFrame]) -> Iterable[AudioFrame | None]:
    # The resampler holds back a few samples until it is given None at the end.
    yield from frames
    yield None


def hint_terms(hints: Iterable[str]) -> tuple[str, ...]:
    """The hints without blanks and repeats, in order, cut to :data:`MAX_HINT_CHARS`
    characters in all (whole terms only)."""
    seen: dict[str, None] = {}
    used = 0
    for raw in hints:
        term = " ".join(raw.split())
        if not term or term in seen:
            continue
        if used + len(term) + 1 > MAX_HINT_CHARS:
            break
        seen[term] = None
        used += len(term) + 1
    return tuple(seen)


def read_glossary(path: Path) -> tuple[str, ...]:
    """A glossary file's terms: UTF-8, one a line, blank lines and ``#`` comments skipped."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_GLOSSARY_BYTES + 1)
    except OSError as exc:
        raise HirobaError(Reason.BAD_FIELD, f"glossary {path}: {exc.strerror}") from None
    if len(data) > MAX_GLOSSARY_BYTES:
        raise HirobaError(Reason.TOO_LONG, f"glossary {path} is over {MAX_GLOSSARY_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HirobaError(Reason.BAD_FIELD, f"glossary {path} is not UTF-8") from None
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(line for line in lines if line)


@cache
def committee_glossary() -> tuple[str, ...]:
    """The committee glossary shipped with Hiroba (``committee_glossary.txt``: 採決,
    可決, 定足数, 挙手 ...): merged after the room's hints and the city's glossary."""
    text = (
        resources.files(__package__)
        .joinpath("committee_glossary.txt")
        .read_text(encoding="utf-8")
    )
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(line for line in lines if line)


def supported_language(language: str) -> str:
    """``language`` if Whisper knows it (``ja``, ``en``, ``zh``, ``ko``, ...)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if language not in _LANGUAGE_CODES:
        raise HirobaError(Reason.BAD_FIELD, f"unknown language {language!r} (e.g. ja, en, zh, ko)")
    return language


class Transcriber:
    """A loaded Whisper model. Not thread-safe: one per thread or process."""

    def __init__(self, model_dir: Path, *, threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        if not model_dir.is_dir():  # a name that is not a folder would be downloaded
            raise HirobaError(Reason.MODEL_UNAVAILABLE, f"{model_dir} is not a model folder; "
                              "run `hiroba models fetch`")  # fmt: skip
        started = time.perf_counter()
        try:
            self._model: WhisperModel = WhisperModel(
                str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads,
                num_workers=1, local_files_only=True,
            )  # fmt: skip
        except (RuntimeError, ValueError, OSError) as exc:
            raise HirobaError(
                Reason.MODEL_UNAVAILABLE,
                f"the speech model in {model_dir} does not load ({exc}); run `hiroba models fetch`",
            ) from None
        self.model_dir = model_dir
        #: Seconds the model took to load (reported by the bench).
        self.load_seconds = time.perf_counter() - started
        # OpenJTalk's dictionary loads on first use (a second or two): here, with the model,
        # rather than in the first caption of a meeting.
        glossary_fix(committee_glossary())
        #: What the glossary correction changed in the last :meth:`transcribe` (the bench
        #: counts them on text that holds no term: each one there is a false correction).
        self.corrections: list[Replacement] = []

    @classmethod
    def from_settings(cls, settings: Settings) -> Transcriber:
        """The configured model (or the pinned cached one, verified first)."""
        return cls(verified_folder(settings), threads=settings.transcription_threads)

    def transcribe(
        self,
        audio: Audio,
        *,
        language: str = "ja",
        hints: Sequence[str] = (),
        hint_style: HintStyle = "prompt",
        vad: bool = True,
        glossary: bool = True,
        correct: bool = True,
        beam_size: int = BEAM_SIZE,
    ) -> tuple[Segment, ...]:
        """Recognise 16 kHz mono float32 ``audio``.

        ``hints`` (agenda titles, member names, the city's glossary terms) go to the decoder
        as the initial prompt, as hotwords, or both; for Japanese, ``glossary`` adds the
        shipped committee glossary after them, and ``correct`` then rewrites what sounds
        like one of all those terms as the term (:mod:`.glossary_fix`; the figures are in
        docs/performance.md). ``vad`` skips silence first (Silero VAD, shipped inside
        faster-whisper), which matters for per-speaker tracks that are mostly silence and
        keeps Whisper from inventing text in it. ``beam_size`` 1 is greedy decoding."""
        every = (*hints, *committee_glossary()) if glossary and language == "ja" else hints
        terms = hint_terms(every)
        joined = "、".join(terms) + "。" if terms else None
        segments, _info = self._model.transcribe(
            audio,
            language=supported_language(language),
            beam_size=beam_size,
            initial_prompt=joined if hint_style in ("prompt", "both") else None,
            hotwords=joined if hint_style in ("hotwords", "both") else None,
            vad_filter=vad,
            # Each segment decoded on its own: a misrecognised sentence cannot seed the
            # next one, and the hints stay in front of every window.
            condition_on_previous_text=False,
        )
        # Whisper's last timestamp can run past the audio (it rounds to its 30 s window's
        # grid): times are clamped to the audio, so that they can be aligned to turns.
        duration = round(audio.size / SAMPLE_RATE, 2)
        result = tuple(
            Segment(
                start=min(round(float(s.start), 2), duration),
                end=min(round(float(s.end), 2), duration),
                text=s.text.strip(),
                avg_logprob=float(s.avg_logprob),
                no_speech_prob=float(s.no_speech_prob),
            )
            for s in segments
            if s.text.strip()
        )
        self.corrections = []
        if not (correct and language == "ja" and every):
            return result
        # Every term, not only the ones the prompt had room for (it stops at 200 chars).
        fixer = glossary_fix(tuple(dict.fromkeys(" ".join(t.split()) for t in every)))
        fixed = []
        for s in result:
            found = fixer.replacements(s.text)
            self.corrections += found
            fixed.append(replace(s, text=fixer.apply(s.text, found)) if found else s)
        return tuple(fixed)

    def transcribe_file(
        self,
        path: Path,
        *,
        language: str = "ja",
        hints: Sequence[str] = (),
        hint_style: HintStyle = "prompt",
        vad: bool = True,
        glossary: bool = True,
        correct: bool = True,
        beam_size: int = BEAM_SIZE,
    ) -> Transcript:
        """Decode and recognise one audio file (the options as :meth:`transcribe`'s)."""
        supported_language(language)
        audio = decode_audio(path)
        started = time.perf_counter()
        segments = self.transcribe(
            audio, language=language, hints=hints, hint_style=hint_style, vad=vad,
            glossary=glossary, correct=correct, beam_size=beam_size,
        )  # fmt: skip
        return Transcript(
            segments=segments,
            duration=audio.size / SAMPLE_RATE,
            language=language,
            seconds=time.perf_counter() - started,
        )
