"""The browser client's files: its build, or in dev mode its sources.

Built (what a city runs; ``make client``: Vite, web_client/vite.config.js, into
``server/static/``, which the wheel carries): the pages at the top and everything else in
``assets/`` under names that carry a hash of their content, each compressible file with
``.br`` and ``.gz`` siblings made at build time. Assets are served as immutable, pages as
``no-cache``; aiohttp's :class:`~aiohttp.web.FileResponse` sends a sibling when the
browser accepts its encoding, so no request costs compression CPU. The files are listed
once at start-up and nothing else is ever served: no path from a request reaches the disk.

Dev mode (``client_dev``): web_client/ as it is under ``/app/``, whitelisted files of its
npm packages under ``/vendor/``, the pages with the import map inserted; uncompressed,
revalidated on every load, so a change shows on reload without a build.
"""

from __future__ import annotations

import asyncio
from pathlib import Path, PurePosixPath
from typing import Protocol

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from multidict import CIMultiDict

from rooms.errors import HirobaError, Reason

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
#: The pages the server serves (``/``, ``/console``, ``/archive``, ``/replay``,
#: ``/gallery``).
PAGES = ("index.html", "console.html", "archive.html", "replay.html", "gallery.html")
#: The build's folder of hashed files (``build.assetsDir`` in vite.config.js).
ASSETS_DIR = "assets"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
IMPORTMAP_PLACEHOLDER = "<!-- hiroba:importmap -->"

#: npm packages the page may load in dev mode, and the folders of each it may read.
VENDOR_PACKAGES: dict[str, tuple[str, ...]] = {
    "three": ("build/three.module.js", "build/three.core.js", "examples/jsm/"),
    "socket.io-client": ("dist/socket.io.esm.min.js",),
    # Face tracking in the page: the ES module bundle and its WASM (loaded lazily).
    "@mediapipe/tasks-vision": ("vision_bundle.mjs", "wasm/"),
    # VRM avatars: the ES module bundle (it imports nothing but three).
    "@pixiv/three-vrm": ("lib/three-vrm.module.min.js",),
    # The gallery page's WASM Opus decoder and what it imports (ES module sources).
    "opus-decoder": ("index.js", "src/"),
    "@wasm-audio-decoders/common": ("index.js", "src/"),
    "simple-yenc": ("dist/esm.js",),
    "@eshaz/web-worker": ("browser.js",),
}
#: Folders of web_client/ never served under /app/.
_PRIVATE_TOP = {"node_modules", "test", "tests", "scripts"}


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


def app_file(web_root: Path, raw: str) -> Path | None:
    """The file under web_client/ a ``/app/`` path names, or None if it may not be served."""
    rel = safe_relative(raw)
    if rel is None or rel.parts[0] in _PRIVATE_TOP or rel.name.startswith(("package", "vite.")):
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


class _WholeFile(web.FileResponse):
    """A file of the client, always whole: ``Range`` and ``If-Range`` are ignored.

    The client's files are small or compressed, and a browser never needs part of one.
    ``FileResponse`` would answer a malformed or unsatisfiable ``Range`` with a ``416`` and
    an empty body, and measure it against whichever compressed sibling it picked; a server
    may always ignore ``Range`` (RFC 9110 §14.2) and send the whole file (``200``).
    """

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if hdrs.RANGE in request.headers or hdrs.IF_RANGE in request.headers:
            headers = CIMultiDict(request.headers)
            headers.popall(hdrs.RANGE, None)
            headers.popall(hdrs.IF_RANGE, None)
            request = request.clone(headers=headers)
        return await super().prepare(request)


def _file_response(path: Path, cache_control: str) -> web.FileResponse:
    headers = {"Cache-Control": cache_control, "Content-Type": CONTENT_TYPES[path.suffix],
               # A shared cache must not hand the Brotli copy to a browser without Brotli
               # (aiohttp says so only when it sends a compressed one).
               "Vary": "Accept-Encoding"}  # fmt: skip
    return _WholeFile(path, headers=headers)


def _no_such_file() -> HirobaError:
    return HirobaError(Reason.NOT_FOUND, "no such file")


class ClientFiles(Protocol):
    """What the routes of server/http/routes.py serve the browser client from."""

    #: The content of the one inline script the pages carry (the import map), whose hash
    #: the CSP allows; None: the pages have none.
    inline_script: str | None

    def present(self) -> bool:
        """Whether the pages are (still) on disk, for readiness checks. It looks at
        files: call it in an executor."""
        ...

    async def page(self, request: web.Request, name: str) -> web.StreamResponse:
        """One of :data:`PAGES`."""
        ...

    async def app(self, request: web.Request, path: str) -> web.StreamResponse:
        """A file under ``/app/``."""
        ...

    async def vendor(self, request: web.Request, package: str, path: str) -> web.StreamResponse:
        """A file of an npm package under ``/vendor/`` (dev mode only)."""
        ...


class BuiltClient:
    """The build in ``root``: only the files listed at start-up, served as they are."""

    inline_script: str | None = None

    def __init__(self, root: Path) -> None:
        self.root = root
        missing = [name for name in PAGES if not (root / name).is_file()]
        if missing:
            raise HirobaError(
                Reason.NOT_FOUND,
                f"the web client is not built ({root} has no {', '.join(missing)}): run "
                "`make client` (npm ci, then npm run build in web_client/), or serve the "
                "unbuilt sources with --client-dev for development",
            )
        # Listed once, before the server listens (a few dozen entries): requests are
        # answered from this table, never by looking a request path up on the disk.
        self.pages = {name: root / name for name in PAGES}
        self.assets = {
            path.relative_to(root).as_posix(): path
            for path in sorted((root / ASSETS_DIR).rglob("*"))
            if path.is_file() and path.suffix in CONTENT_TYPES and not path.name.startswith(".")
        }

    def present(self) -> bool:
        return all(path.is_file() for path in self.pages.values())

    async def page(self, request: web.Request, name: str) -> web.StreamResponse:
        found = self.pages.get(name)
        if found is None:  # an optional page this build does not have
            raise _no_such_file()
        return _file_response(found, REVALIDATE)

    async def app(self, request: web.Request, path: str) -> web.StreamResponse:
        found = self.assets.get(path)
        if found is None:
            raise _no_such_file()
        # Hashed names: a new build makes new names, so a copy never needs asking again.
        return _file_response(found, IMMUTABLE)

    async def vendor(self, request: web.Request, package: str, path: str) -> web.StreamResponse:
        raise _no_such_file()  # the build carries the packages' code in its own assets


class SourceClient:
    """Dev mode: web_client/'s sources and whitelisted npm files, unbuilt."""

    def __init__(self, web_root: Path, import_map: str) -> None:
        self.web_root = web_root
        missing = [name for name in PAGES if not (web_root / name).is_file()]
        if missing or not (web_root / "node_modules").is_dir():
            raise HirobaError(
                Reason.NOT_FOUND,
                f"client_dev serves the sources in {web_root}, which has no "
                f"{', '.join(missing) or 'node_modules'}: run `make setup` in a checkout",
            )
        self.inline_script: str | None = import_map

    def present(self) -> bool:
        return all((self.web_root / name).is_file() for name in PAGES)

    async def page(self, request: web.Request, name: str) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        if name not in PAGES:
            raise _no_such_file()
        try:
            html = await loop.run_in_executor(None, (self.web_root / name).read_text, "utf-8")
        except FileNotFoundError:  # an optional page not written yet
            raise _no_such_file() from None
        return web.Response(
            text=html.replace(
                IMPORTMAP_PLACEHOLDER, f'<script type="importmap">{self.inline_script}</script>', 1
            ),
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": REVALIDATE},
        )

    async def app(self, request: web.Request, path: str) -> web.StreamResponse:
        return await self._serve(app_file(self.web_root, path), REVALIDATE)

    async def vendor(self, request: web.Request, package: str, path: str) -> web.StreamResponse:
        return await self._serve(vendor_file(self.web_root, package, path), REVALIDATE)

    @staticmethod
    async def _serve(path: Path | None, cache_control: str) -> web.StreamResponse:
        if path is None or not await asyncio.get_running_loop().run_in_executor(
            None, path.is_file
        ):
            raise _no_such_file()
        return _file_response(path, cache_control)


def client_files(client_dev: bool, client_dir: Path, web_root: Path,
                 import_map: str) -> ClientFiles:
    """The build in ``client_dir``, or with ``client_dev`` the sources in ``web_root``;
    :class:`HirobaError` (at start-up) when that one is missing."""
    if client_dev:
        return SourceClient(web_root, import_map)
    return BuiltClient(client_dir)
