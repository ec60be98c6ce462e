"""The `hiroba` command as an operator runs it: serve (HTTP and HTTPS), cert, invite."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
import socketio

from tests.conftest import free_port

HIROBA = [sys.executable, "-m", "server.cli"]
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HIROBA, *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})},
    )


class Served:
    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc, self.url = proc, url


def start(data_dir: Path, *extra: str, scheme: str = "http",
          ssl_ctx: ssl.SSLContext | None = None) -> Served:
    port = free_port()
    proc = subprocess.Popen(
        [*HIROBA, "serve", "--port", str(port), "--data-dir", str(data_dir), *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    import urllib.request

    # Straight to the loopback server: a MediaPipe tracker made earlier in this process
    # points https_proxy at a dead address (avatar/telemetry.py), which urllib would use.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ssl_ctx))
    while time.monotonic() < deadline:
        try:
            opener.open(url + "/healthz", timeout=1)
            return Served(proc, url)
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read() if proc.stdout else "died") from None
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


def stop(served: Served) -> str:
    served.proc.send_signal(signal.SIGINT)
    try:
        out, _ = served.proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        out, _ = served.proc.communicate()
    return out


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def test_help_documents_every_setting() -> None:
    out = run("serve", "--help").stdout
    for name in ("HIROBA_HOST", "HIROBA_PORT", "HIROBA_DATA_DIR", "HIROBA_TLS_CERT",
                 "HIROBA_TLS_KEY", "HIROBA_TICK_HZ", "--config"):
        assert name in out


def test_bad_setting_is_a_clear_error(data_dir: Path) -> None:
    result = run("serve", "--data-dir", str(data_dir), env={"HIROBA_PORT": "eighty"})
    assert result.returncode == 2
    assert "port" in result.stderr and "eighty" in result.stderr


def test_serve_seeds_once_and_survives_restart(data_dir: Path) -> None:
    import json
    import urllib.request

    for _ in range(2):
        served = start(data_dir)
        try:
            with urllib.request.urlopen(served.url + "/api/rooms", timeout=5) as resp:
                rooms = json.load(resp)["rooms"]
            with urllib.request.urlopen(served.url + "/healthz", timeout=5) as resp:
                health = json.load(resp)
        finally:
            out = stop(served)
        assert [r["id"] for r in rooms] == ["plaza", "park-consultation", "dx-committee"], out
        assert health == {"status": "ok", "version": "0.1.0", "rooms": 3, "participants": 0}
    assert (data_dir / "hiroba.sqlite3").exists()
    assert oct((data_dir / "secret.key").stat().st_mode & 0o777) == "0o600"


def test_cert_then_https_serve_and_invite(tmp_path: Path, data_dir: Path) -> None:
    tls_dir = tmp_path / "tls"
    result = run("cert", "--out-dir", str(tls_dir), "--name", "hiroba.local")
    assert result.returncode == 0, result.stderr
    cert, key = tls_dir / "cert.pem", tls_dir / "key.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    ctx = ssl.create_default_context(cafile=str(cert))
    served = start(data_dir, "--tls-cert", str(cert), "--tls-key", str(key),
                   scheme="https", ssl_ctx=ctx)
    try:
        invite = run("invite", "dx-committee", "--role", "chair", "--name", "委員長",
                     "--data-dir", str(data_dir))
        assert invite.returncode == 0, invite.stderr
        link = urlparse(invite.stdout.strip())
        token = parse_qs(link.query)["token"][0]
        assert parse_qs(link.query)["room"] == ["dx-committee"]
        ack = asyncio.run(_join_over_tls(served.url, token, ctx))
        me = next(p for p in ack["snapshot"]["participants"] if p["id"] == ack["self"])
        assert (me["role"], me["name"]) == ("chair", "委員長")
        assert me["seat"] is not None
        missing = run("invite", "nowhere", "--data-dir", str(data_dir))
        assert missing.returncode == 2 and "nowhere" in missing.stderr
    finally:
        stop(served)


async def _join_over_tls(url: str, token: str, ctx: ssl.SSLContext) -> dict:
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx))
    client = socketio.AsyncClient(http_session=http, reconnection=False)
    try:
        async with http.get(url + "/") as resp:
            assert resp.status == 200
            assert "Strict-Transport-Security" in resp.headers
        await client.connect(url, transports=["websocket"], wait_timeout=5)
        return await client.call(  # type: ignore[no-any-return]
            "join", {"name": "x", "room": "dx-committee", "lang": "ja", "token": token},
            timeout=5,
        )
    finally:
        await client.disconnect()
        await http.close()


def test_shutdown_closes_sockets_promptly(data_dir: Path) -> None:
    served = start(data_dir)

    async def scenario() -> float:
        client = socketio.AsyncClient(reconnection=False)
        gone = asyncio.Event()
        client.on("disconnect", lambda *a: gone.set())
        await client.connect(served.url, transports=["websocket"], wait_timeout=5)
        ack = await client.call("join", {"name": "last", "room": "plaza", "lang": "ja"}, timeout=5)
        assert ack["ok"]
        t0 = time.monotonic()
        served.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(gone.wait(), 5)
        return time.monotonic() - t0

    try:
        took = asyncio.run(scenario())
        served.proc.wait(timeout=10)
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
    assert took < 5
    assert served.proc.returncode is not None
