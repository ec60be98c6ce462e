"""Static files of the browser client and whitelisted npm packages, cached and gzipped.

Files are read and compressed off the event loop once per change (keyed by mtime and
size), then served from memory with an ETag.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from aiohttp import web

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webp": "image/webp",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
}
_COMPRESSIBLE = {".html", ".js", ".mjs", ".css", ".json", ".svg", ".wasm", ".webmanifest"}

#: npm packages the page may load, and the folders of each it may read.
VENDOR_PACKAGES: dict[str, tuple[str, ...]] = {
    "three": ("build/three.module.js", "build/three.core.js", "examples/jsm/"),
    "socket.io-client": ("dist/socket.io.esm.min.js",),
    # Face tracking in the page: the ES module bundle and its WASM (loaded lazily).
    "@mediapipe/tasks-vision": ("vision_bundle.mjs", "wasm/"),
}
#: Folders of web_client/ never served under /app/.
_PRIVATE_TOP = {"node_modules", "test", "tests"}


@dataclass(frozen=True, slots=True)
class CachedFile:
    key: tuple[int, int]
    body: bytes
    gzipped: bytes | None
    etag: str
    content_type: str


def safe_relative(raw: str) -> PurePosixPath | None:
    """A request path as a relative path with no traversal, hidden parts or odd bytes."""
    if not raw or len(raw) > 512 or "\\" in raw or "\x00" in raw:
        return None
    # Judge the raw segments: PurePosixPath would silently fold "a//b" and "a/./b".
    parts = raw.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    path = PurePosixPath(*parts)
    if path.suffix not in CONTENT_TYPES:
        return None
    return path


class StaticFiles:
    """Serves files below a few roots from a memory cache."""

    def __init__(self) -> None:
        self._cache: dict[Path, CachedFile] = {}

    def _load(self, path: Path) -> CachedFile | None:
        try:
            st = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        key = (st.st_mtime_ns, st.st_size)
        cached = self._cache.get(path)
        if cached is not None and cached.key == key:
            return cached
        body = path.read_bytes()
        gz = gzip.compress(body, 9, mtime=0) if path.suffix in _COMPRESSIBLE else None
        cached = CachedFile(
            key=key,
            body=body,
            gzipped=gz if gz is not None and len(gz) < len(body) else None,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            content_type=CONTENT_TYPES[path.suffix],
        )
        self._cache[path] = cached
        return cached

    async def get(self, path: Path) -> CachedFile | None:
        return await asyncio.get_running_loop().run_in_executor(None, self._load, path)

    @staticmethod
    def respond(request: web.Request, cached: CachedFile, cache_control: str) -> web.Response:
        headers = {"ETag": cached.etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
        if request.headers.get("If-None-Match") == cached.etag:
            return web.Response(status=304, headers=headers)
        body = cached.body
        if cached.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
            body = cached.gzipped
            headers["Content-Encoding"] = "gzip"
        headers["Content-Type"] = cached.content_type
        return web.Response(body=body, headers=headers)


def app_file(web_root: Path, raw: str) -> Path | None:
    """The file under web_client/ a ``/app/`` path names, or None if it may not be served."""
    rel = safe_relative(raw)
    if rel is None or rel.parts[0] in _PRIVATE_TOP or rel.name.startswith("package"):
        return None
    return web_root.joinpath(*rel.parts)


def vendor_file(web_root: Path, package: str, raw: str) -> Path | None:
    """The npm package file a ``/vendor/`` path names, if the package whitelist allows it."""
    allowed = VENDOR_PACKAGES.get(package)
    rel = safe_relative(raw)
    if allowed is None or rel is None:
        return None
    text = rel.as_posix()
    if not any(text == a or (a.endswith("/") and text.startswith(a)) for a in allowed):
        return None
    return web_root.joinpath("node_modules", package, *rel.parts)
