"""The built web client as the server serves it (``make client``, server/http/static_files.py):
hashed assets cached for good, pages revalidated, precompressed siblings chosen by the
browser's Accept-Encoding, no inline script under the CSP, and no start without a build."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from rooms.errors import HirobaError
from tests.conftest import ROOT, running_server

PAGES = {"/": "index.html", "/console": "console.html", "/archive": "archive.html",
         "/replay": "replay.html", "/gallery": "gallery.html"}  # fmt: skip
#: Vite's names: the source's name, a dash, 8 characters of the content hash.
HASHED = re.compile(r"^/app/assets/[\w.-]+-[A-Za-z0-9_-]{8}\.(js|css|json|wasm)$")
IDENTITY = {"Accept-Encoding": "identity"}


async def fetch(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession(auto_decompress=False) as http, http.get(
        url, headers=headers
    ) as resp:
        return resp.status, dict(resp.headers), await resp.read()


def referenced(html: str) -> list[str]:
    """What a page loads by URL: module scripts, preloads and style sheets."""
    return re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="(/[^"]+)"', html)


async def test_built_pages_load_only_hashed_assets_cached_for_good(server) -> None:
    seen: set[str] = set()
    for route, name in PAGES.items():
        status, headers, body = await fetch(server.url + route, IDENTITY)
        assert status == 200, route
        assert headers["Cache-Control"] == "no-cache", route
        assert body == (server.settings.client_dir / name).read_bytes(), route
        urls = referenced(body.decode())
        assert any(u.endswith(".js") for u in urls) and any(u.endswith(".css") for u in urls)
        assert not [u for u in urls if not HASHED.match(u)], route
        seen.update(urls)
    for url in sorted(seen):
        status, headers, _ = await fetch(server.url + url, IDENTITY)
        assert status == 200, url
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable", url
    # Every file of the build but the pages carries its hash: nothing immutable can change.
    files = sorted((server.settings.client_dir / "assets").iterdir())
    assert files, "make client"
    for path in files:
        name = "/app/assets/" + path.name.removesuffix(".br").removesuffix(".gz")
        assert HASHED.match(name), path.name


async def test_a_precompressed_sibling_is_sent_as_the_browser_accepts(server) -> None:
    built = server.settings.client_dir
    _, _, html = await fetch(server.url + "/", IDENTITY)
    script = next(u for u in referenced(html.decode()) if u.endswith(".js"))
    original = (built / script.removeprefix("/app/")).read_bytes()
    for accept, encoding in (("gzip, deflate, br", "br"), ("gzip", "gzip"),
                             ("identity", None), ("", None)):  # fmt: skip
        status, headers, body = await fetch(server.url + script, {"Accept-Encoding": accept})
        assert status == 200 and headers.get("Content-Encoding") == encoding, accept
        assert "Accept-Encoding" in headers.get("Vary", ""), accept
        # The very bytes compressed at build time, not compressed again on request.
        suffix = {"br": ".br", "gzip": ".gz", None: ""}[encoding]
        assert body == (built / (script.removeprefix("/app/") + suffix)).read_bytes(), accept
        assert int(headers["Content-Length"]) == len(body)
        if encoding == "gzip":
            assert gzip.decompress(body) == original
        if encoding is None:
            assert body == original
    # The pages and the catalogues have their siblings too.
    for name in ("index.html", *(p.name for p in (built / "assets").glob("ja-*.json"))):
        path = next(built.rglob(name))
        assert path.with_name(name + ".br").is_file() and path.with_name(name + ".gz").is_file()


async def test_a_range_on_a_client_file_gets_the_whole_file(server) -> None:
    """Malformed, unsatisfiable or partial: the client's files are always sent whole
    (aiohttp alone answered a bad Range with a 416 and an empty body)."""
    built = server.settings.client_dir
    _, _, html = await fetch(server.url + "/", IDENTITY)
    script = next(u for u in referenced(html.decode()) if u.endswith(".js"))
    for route, path in (("/", built / "index.html"),
                        (script, built / script.removeprefix("/app/"))):
        for wanted in ("bytes=999999999-", "bytes=x-y", "bytes=0-9", "items=1-2"):
            for extra in ({}, {"If-Range": '"nothing"'}):
                headers = {**IDENTITY, "Range": wanted, **extra}
                status, answer, body = await fetch(server.url + route, headers)
                assert (status, body) == (200, path.read_bytes()), (route, wanted, extra)
                assert "Content-Range" not in answer
        # Compressed (the HTTP fuzz test's case: bytes=-5 of index.html.gz was sent as gzip).
        status, answer, body = await fetch(server.url + route,
                                           {"Accept-Encoding": "gzip", "Range": "bytes=-5"})
        assert status == 200 and answer["Content-Encoding"] == "gzip", route
        assert gzip.decompress(body) == path.read_bytes(), route


async def test_the_built_pages_need_no_inline_script(server) -> None:
    for route in PAGES:
        _, headers, body = await fetch(server.url + route, IDENTITY)
        html = body.decode()
        csp = headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        script_src = directives["script-src"].split()
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        assert not [s for s in script_src if s.startswith("'sha256-")], "no inline script"
        assert script_src == ["'self'", "'wasm-unsafe-eval'"], route
        assert not re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html), route
        assert not re.findall(r"\son[a-z]+=", html), f"{route}: an inline event handler"
        assert "importmap" not in html and "/vendor/" not in html, route


def fake_build(root: Path) -> Path:
    """A build of one-line pages (every page) and one asset with both siblings."""
    (root / "assets").mkdir(parents=True)
    for name in PAGES.values():
        (root / name).write_text('<!doctype html><script type="module" '
                                 'src="/app/assets/app-AbCd1234.js"></script>')
    (root / "assets" / "app-AbCd1234.js").write_text("export const built = 1;\n")
    (root / "assets" / "app-AbCd1234.js.gz").write_bytes(gzip.compress(b"x" * 10))
    return root


async def test_only_files_of_the_build_listed_at_start_are_served(settings, tmp_path) -> None:
    built = fake_build(tmp_path / "static")
    async with running_server(replace(settings, client_dir=built)) as server:
        url = server.url
        (built / "assets" / "later-AbCd1234.js").write_text("export const later = 1;\n")
        (built / "secret.json").write_text("{}")
        status, headers, _ = await fetch(url + "/app/assets/app-AbCd1234.js", IDENTITY)
        assert status == 200 and "immutable" in headers["Cache-Control"]
        for path in ("/app/assets/later-AbCd1234.js", "/app/secret.json", "/app/index.html",
                     "/app/assets/app-AbCd1234.js.gz", "/app/assets/../index.html",
                     "/app/assets/%2e%2e/secret.json", "/app/assets//app-AbCd1234.js",
                     "/vendor/three/build/three.module.js"):
            status, _, body = await fetch(url + path, IDENTITY)
            assert status == 404 and b"not_found" in body, path


@pytest.mark.parametrize("missing", ["everything", "replay.html"])
async def test_a_missing_build_refuses_to_start(settings, tmp_path, missing) -> None:
    built = tmp_path / "static"
    if missing != "everything":
        fake_build(built)
        (built / missing).unlink()
    with pytest.raises(HirobaError) as refused:
        async with running_server(replace(settings, client_dir=built)):
            pass
    message = refused.value.message
    assert "not built" in message and "make client" in message and "--client-dev" in message
    assert (missing if missing != "everything" else "index.html") in message


def test_hiroba_serve_says_why_it_will_not_start_without_a_build(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server.cli.main", "serve", "--port", "0", "--data-dir",
         str(tmp_path / "data"), "--client-dir", str(tmp_path / "nothing")],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done
    assert "the web client is not built" in done.stderr and "make client" in done.stderr
