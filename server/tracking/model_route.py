"""``GET /models/face_landmarker.task``: the verified model, for tracking in the browser.

Pages that track faces on the device load the model from here, never from a third
party. The file is the one in the model cache (``hiroba models fetch``), read and checked
against the pinned sha256 off the event loop once per change, then served from memory
with a strong ETag (its sha256), so browsers revalidate cheaply.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from rooms.errors import HirobaError, Reason
from server.http.routes import error_response
from server.tracking.model_fetch import FACE_LANDMARKER, read_verified

MODEL_ROUTE = "/models/" + FACE_LANDMARKER.filename
CACHE_CONTROL = "public, max-age=86400"


@dataclass(frozen=True, slots=True)
class _Loaded:
    key: tuple[int, int]
    body: bytes


class ModelFile:
    """The cached model file, verified, in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded: _Loaded | None = None

    def _load(self) -> bytes:
        try:
            st = self.path.stat()
        except OSError:
            raise HirobaError(Reason.MODEL_UNAVAILABLE, "the model is not installed") from None
        key = (st.st_mtime_ns, st.st_size)
        if self._loaded is None or self._loaded.key != key:
            self._loaded = _Loaded(key, read_verified(self.path))
        return self._loaded.body

    async def body(self) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(None, self._load)


MODEL_FILE_KEY = web.AppKey("model_file", ModelFile)


async def serve_model(request: web.Request) -> web.StreamResponse:
    try:
        body = await request.app[MODEL_FILE_KEY].body()
    except HirobaError as exc:
        return error_response(503, exc.reason, exc.message)
    etag = f'"{FACE_LANDMARKER.sha256}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/octet-stream", headers=headers)


def add_model_route(app: web.Application, path: Path) -> None:
    app[MODEL_FILE_KEY] = ModelFile(path)
    app.router.add_get(MODEL_ROUTE, serve_model)
