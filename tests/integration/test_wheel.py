"""The wheel a city installs serves every page, from a venv with nothing of the checkout.

As a vendor would: build the wheel from the source tree (with the client built by
``make client``), install it into a fresh venv with its dependencies from
requirements.lock (hash-checked: the lock is the constraint file, the wheel is pinned by
its own sha256), start ``hiroba serve`` from that venv in a folder outside the checkout,
and fetch the join page, the console, the archive, a replay page, the scripts and styles
they load, and /healthz. The bug this guards against: a wheel without the client, whose
server said "ok" on /healthz and answered 404 for every page.

The source tree is copied first (tracked and new files, plus the built client) so that
the build's scratch folders never touch the checkout another test run may be using.
Selected with ``pytest -m wheel``; it takes ~10 s with uv's cache warm.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest

from avatar.telemetry import UNREACHABLE_PROXY
from tests.conftest import free_port

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "server" / "static"
LOCK = ROOT / "requirements.lock"
#: uv from the lock, next to the interpreter running the tests (``make deps``).
UV = Path(sys.executable).parent / "uv"
#: Each page and a piece of markup only that page has (web_client/*.html).
PAGES = {
    "/": "join-form",
    "/console": "login-view",
    "/archive": "archive-list",
    "/replay?id=20261201-120000-plaza": "replay-title",
}
#: Straight to the loopback server, whatever proxy the environment names.
#: The build backend at the hashed versions of requirements-build.lock, as make uses it.
BUILD_LOCKED = ("--build-constraint", str(ROOT / "requirements-build.lock"))
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _run(*cmd: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env=_clean_env(),
    )


def _clean_env(venv: Path | None = None) -> dict[str, str]:
    """The environment without this checkout's venv, import path or Hiroba settings, nor
    the dead proxy that a MediaPipe tracker made earlier in this test process sets to
    silence its telemetry (avatar/telemetry.py): uv must reach the package registry."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("HIROBA_") and k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
        and v != UNREACHABLE_PROXY
    }
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv)
    return env


def _copy_source(target: Path, *, with_client: bool) -> Path:
    """The files a checkout holds (tracked and new ones, not ignored ones), and the client."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_relative_to(CLIENT):  # copied below, or left out, whatever git says
            continue
        if source.is_file():  # a file deleted in the working tree is still "cached"
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    if with_client:
        shutil.copytree(CLIENT, target / "server" / "static")
    return target


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with OPENER.open(url, timeout=10) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


class _Assets(HTMLParser):
    """The scripts and stylesheets a page loads from its own server."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        rel = (a.get("rel") or "").split()
        if tag == "script" and a.get("src"):
            self.found.append(a["src"] or "")
        elif tag == "link" and {"stylesheet", "modulepreload"} & set(rel) and a.get("href"):
            self.found.append(a["href"] or "")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert (CLIENT / "index.html").is_file(), (
        f"{CLIENT} holds no built client: run `make client` first (a wheel without it "
        "serves no page)"
    )
    source = _copy_source(tmp_path_factory.mktemp("source"), with_client=True)
    # What an earlier build of an older client leaves in setuptools' scratch folder, which
    # it would pack too (setup.py empties it; the contents test below would see it).
    stale = source / "build" / "lib" / "server" / "static" / "assets" / "old-0000.js"
    stale.parent.mkdir(parents=True)
    stale.write_text("// an asset of an earlier build\n")
    out = tmp_path_factory.mktemp("dist")
    built = _run(UV, "build", "--wheel", "--out-dir", out, *BUILD_LOCKED, source, cwd=source)
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("hiroba-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and only its own dependencies, at the lock's versions."""
    home = tmp_path_factory.mktemp("venv")
    venv = home / "venv"
    made = _run(UV, "venv", "--quiet", "--python", sys.executable, venv, cwd=home)
    assert made.returncode == 0, made.stderr
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    request = home / "hiroba.txt"
    request.write_text(f"hiroba @ {wheel.as_uri()} --hash=sha256:{digest}\n")
    installed = _run(
        UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python",
        "--require-hashes", "--constraint", LOCK, "--requirement", request, cwd=home,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    return venv


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def served(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    city = tmp_path_factory.mktemp("city")  # the working folder: nothing of the checkout
    log = city / "hiroba.log"
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(venv / "bin" / "hiroba"), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(city / "data")],
            cwd=city, env=_clean_env(venv), stdout=out, stderr=subprocess.STDOUT,
        )
    served = Served(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(served.url + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_a_wheel_without_the_built_client_is_refused(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    source = _copy_source(tmp_path_factory.mktemp("bare"), with_client=False)
    out = tmp_path_factory.mktemp("bare-dist")
    built = _run(UV, "build", "--wheel", "--out-dir", out, *BUILD_LOCKED, source, cwd=source)
    assert built.returncode != 0
    assert "make client" in built.stderr, built.stderr[-3000:]
    assert not list(out.glob("*.whl"))


def test_the_wheel_carries_the_client_and_the_runtime_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for page in ("index.html", "console.html", "archive.html", "replay.html"):
        assert f"server/static/{page}" in names, page
    assert "moderation/ngwords/ja.txt" in names
    assert "moderation/ngwords/en.txt" in names
    assert "server/py.typed" in names
    # The committee glossary the recogniser is given and corrects towards (issue 17).
    assert "server/transcription/committee_glossary.txt" in names
    # Every file of the built client, and nothing left over from an earlier build.
    built = {
        "server/static/" + p.relative_to(CLIENT).as_posix()
        for p in CLIENT.rglob("*") if p.is_file()
    }
    shipped = {n for n in names if n.startswith("server/static/")}
    assert shipped == built


def test_the_installed_server_is_the_wheels(venv: Path, served: Served) -> None:
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import server, moderation; print(server.__file__); print(moderation.__file__)"],
        cwd=served.log.parent, env=_clean_env(venv), capture_output=True, text=True,
        check=True,
    ).stdout.split()
    for path in where:
        assert Path(path).is_relative_to(venv), path


def test_the_container_health_check_passes(venv: Path, served: Served) -> None:
    """deploy/healthcheck.py (the image's HEALTHCHECK) run by the installed interpreter."""
    result = subprocess.run(
        [str(venv / "bin" / "python"), str(ROOT / "deploy" / "healthcheck.py")],
        env={**_clean_env(venv), "HIROBA_PORT": served.url.rsplit(":", 1)[1]},
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr


def test_healthz(served: Served) -> None:
    status, kind, body = _get(served.url + "/healthz")
    assert status == 200 and kind.startswith("application/json")
    assert b'"status": "ok"' in body


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_is_served_with_its_scripts_and_styles(served: Served, path: str) -> None:
    status, kind, body = _get(served.url + path)
    assert status == 200, (path, status, body[:300])
    assert kind.startswith("text/html")
    html = body.decode("utf-8")
    assert re.search(r"""id=["']?""" + PAGES[path] + r"""["'\s>]""", html), html[:500]
    parser = _Assets()
    parser.feed(html)
    assert any(a.split("?")[0].endswith((".js", ".mjs")) for a in parser.found), parser.found
    assert any(a.split("?")[0].endswith(".css") for a in parser.found), parser.found
    for asset in parser.found:
        url = urljoin(served.url + path, asset)
        assert url.startswith(served.url + "/"), f"{path} loads {asset} from elsewhere"
        status, kind, content = _get(url)
        assert status == 200, (path, asset, status)
        wanted = "text/css" if asset.split("?")[0].endswith(".css") else "javascript"
        assert wanted in kind, (asset, kind)
        assert content.strip(), asset
