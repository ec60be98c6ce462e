"""Security headers on every answer, and the page's Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import json

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from rooms.errors import Reason
from server.http.routes import error_response


def import_map(vendor_prefix: str = "/vendor") -> str:
    """The import map that lets plain ES modules import npm packages by name."""
    return json.dumps(
        {
            "imports": {
                "three": f"{vendor_prefix}/three/build/three.module.js",
                "three/addons/": f"{vendor_prefix}/three/examples/jsm/",
                "socket.io-client": f"{vendor_prefix}/socket.io-client/dist/socket.io.esm.min.js",
                # VRM avatars (scene/vrmAvatars.js imports it lazily): one bundle, three only
                "@pixiv/three-vrm": f"{vendor_prefix}/@pixiv/three-vrm/lib/three-vrm.module.min.js",
                # The gallery page's Opus decoder where WebCodecs is missing (loaded lazily):
                # ES module sources, so each package it imports is mapped too.
                "opus-decoder": f"{vendor_prefix}/opus-decoder/index.js",
                "@wasm-audio-decoders/common": (
                    f"{vendor_prefix}/@wasm-audio-decoders/common/index.js"),
                "simple-yenc": f"{vendor_prefix}/simple-yenc/dist/esm.js",
                "@eshaz/web-worker": f"{vendor_prefix}/@eshaz/web-worker/browser.js",
            }
        },
        separators=(",", ":"),
    )


def script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def style_hash(style: str) -> str:
    """The CSP source that allows one inline ``<style>`` block by its content."""
    return script_hash(style)


def document_security_policy(inline_styles: list[str]) -> str:
    """For a standalone document served by us (the minutes as HTML): nothing runs, nothing
    is fetched, only its own inline styles apply."""
    styles = " ".join(style_hash(s) for s in inline_styles) or "'none'"
    return "; ".join(
        (
            "default-src 'none'",
            f"style-src {styles}",
            "img-src 'self' data:",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'none'",
        )
    )


def content_security_policy(inline_script: str | None = None) -> str:
    """A strict policy: only our own files, plus the pages' one inline script by hash: the
    import map in dev mode; the built client has none."""
    inline = f" {script_hash(inline_script)}" if inline_script else ""
    return "; ".join(
        (
            "default-src 'self'",
            # WebAssembly (face tracking in the page, docs/privacy.md); not 'unsafe-eval'.
            f"script-src 'self' 'wasm-unsafe-eval'{inline}",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            "connect-src 'self'",
            "media-src 'self' blob:",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        )
    )


def security_headers_middleware(csp: str, tls: bool) -> Middleware:
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(), payment=()",
    }
    hsts = {"Strict-Transport-Security": "max-age=31536000"}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Over HTTPS, Hiroba's own or a trusted proxy's (server/http/forwarded.py), browsers are
        # told to come back only that way.
        extra = hsts if tls or request.secure else {}
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(headers)
            exc.headers.update(extra)
            raise
        own_csp = response.headers.get("Content-Security-Policy")
        response.headers.update(headers)
        response.headers.update(extra)
        if own_csp is not None:
            # A handler's own policy for a document that is not the app (the minutes as
            # HTML: no scripts at all, its one inline style by hash) replaces the app's.
            response.headers["Content-Security-Policy"] = own_csp
        return response

    return middleware


def polling_body_limit_middleware(prefix: str, limit: int) -> Middleware:
    """Refuse an engine.io long-polling POST under ``prefix`` whose body is over ``limit``
    bytes before python-engineio sees it (``413 too_long``).

    python-engineio (4.15) answers such a POST by closing the session and waiting for the
    client to poll its close packet; a client that never polls holds that request, and the
    server's graceful shutdown, for ever. Refused here, nothing waits.

    A POST without ``Content-Length`` (chunked) is refused with ``411``: python-engineio
    reads exactly ``Content-Length`` bytes, so it would drop such a body and answer ``ok``.
    Browsers always send the length.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST" and request.path.startswith(prefix):
            length = request.content_length
            if length is None:
                return error_response(
                    411, Reason.BAD_PAYLOAD, "send the polling body with a Content-Length"
                )
            if length > limit:
                raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=length)
        return await handler(request)

    return middleware
