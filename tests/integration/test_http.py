"""The page, its security headers, and static files as a browser fetches them."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from dataclasses import replace

import aiohttp

from tests.conftest import running_server

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy",
                    "X-Frame-Options", "Permissions-Policy")


async def test_page_has_strict_csp_and_no_inline_script(server) -> None:
    async with aiohttp.ClientSession() as http, http.get(server.url + "/") as resp:
        assert resp.status == 200
        html = await resp.text()
        csp = resp.headers["Content-Security-Policy"]
        for header in SECURITY_HEADERS:
            assert header in resp.headers
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "default-src 'self'" in csp and "object-src 'none'" in csp
    # The built page (what ships) loads its scripts from files and allows no inline one.
    assert not re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    assert "'sha256-" not in csp
    assert "style=" not in html, "no inline styles under style-src 'self'"


async def test_dev_mode_page_csp_matches_its_only_inline_script(settings, tmp_path) -> None:
    dev = replace(settings, client_dev=True)
    async with running_server(dev) as server, aiohttp.ClientSession() as http:
        async with http.get(server.url + "/") as resp:
            html = await resp.text()
            csp = resp.headers["Content-Security-Policy"]
        # The sources' npm packages by whitelist, revalidated (dev mode: no build).
        url = server.url + "/vendor/three/build/three.core.js"
        async with http.get(url) as resp:
            assert resp.status == 200 and b"REVISION" in await resp.read()
            assert resp.headers["Content-Type"].startswith("text/javascript")
            assert resp.headers["Cache-Control"] == "no-cache"
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)
    assert len(inline) == 1, "the import map is the only inline script"
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert '"three":"/vendor/three/build/three.module.js"' in inline[0]
    assert "style=" not in html, "no inline styles under style-src 'self'"


async def test_static_files_are_compressed_cached_and_confined(server) -> None:
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        async with http.get(server.url + "/", headers={"Accept-Encoding": "identity"}) as resp:
            script = re.search(r'<script type="module"[^>]* src="([^"]+)"', await resp.text())
        assert script is not None
        url = server.url + script[1]
        async with http.get(url, headers={"Accept-Encoding": "gzip"}) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Encoding"] == "gzip"
            body = gzip.decompress(await resp.read())
            etag = resp.headers["ETag"]
            assert resp.headers["Content-Type"].startswith("text/javascript")
            for header in SECURITY_HEADERS:
                assert header in resp.headers
        assert b"import" in body
        async with http.get(url, headers={"If-None-Match": etag,
                                          "Accept-Encoding": "gzip"}) as resp:
            assert resp.status == 304
        for path in ("/app/../pyproject.toml", "/app/%2e%2e/pyproject.toml",
                     "/app/node_modules/three/package.json", "/vendor/three/package.json",
                     "/vendor/three/../../../server/app.py", "/app/test/store.test.js",
                     "/app/.git/config", "/vendor/evil/x.js", "/app/package.json",
                     "/app/src/%00.js", "/app/src/main.js", "/app/index.html",
                     "/vendor/three/build/three.core.js", "/app/assets/../index.html",
                     "/app/assets/%2e%2e/index.html", script[1] + ".br"):
            async with http.get(server.url + path) as resp:
                assert resp.status == 404, path
                assert (await resp.json())["reason"] == "not_found"
                assert "Content-Security-Policy" in resp.headers


async def test_rooms_api_and_health(server) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/api/rooms") as resp:
            rooms = (await resp.json())["rooms"]
        async with http.post(server.url + "/api/rooms") as resp:
            assert resp.status == 405
            assert (await resp.json())["ok"] is False
    assert {r["kind"] for r in rooms} == {"plaza", "consultation", "committee"}
    plaza = next(r for r in rooms if r["id"] == "plaza")
    assert plaza["name"] == {"ja": "ひろば", "en": "Plaza"}
    assert plaza["participants"] == 0 and plaza["capacity"] == 600


async def test_sockets_from_foreign_origins_are_refused(server) -> None:
    async with aiohttp.ClientSession() as http:
        url = server.url + "/socket.io/?EIO=4&transport=websocket"
        async with http.get(url, headers={"Origin": "https://evil.example"}) as resp:
            assert resp.status == 400
        async with http.ws_connect(url, headers={"Origin": server.url}) as ws:
            msg = await ws.receive()
            assert msg.data.startswith("0{")


async def test_configured_origins_are_allowed_besides_the_own(settings, tmp_path) -> None:
    allowing = replace(settings, allowed_origins=("https://hiroba.city.example",))
    async with running_server(allowing) as server, aiohttp.ClientSession() as http:
        url = server.url + "/socket.io/?EIO=4&transport=polling"
        for origin, status in ((server.url, 200), ("https://hiroba.city.example", 200),
                               ("https://evil.example", 400)):
            async with http.get(url, headers={"Origin": origin}) as resp:
                assert resp.status == status, origin
