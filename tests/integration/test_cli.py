"""The `hiroba` command as an operator runs it: serve (HTTP and HTTPS), cert, invite."""

from __future__ import annotations

import asyncio
import json
import os
import re
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

from server.config.settings import GROUPS, setting_info
from tests.conftest import free_port

HIROBA = [sys.executable, "-m", "server.cli.main"]
ROOT = Path(__file__).resolve().parents[2]
INFOS = {info.name: info for info in setting_info()}


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


def help_options(text: str) -> list[tuple[str, str, str]]:
    """(section, option spec, help text) of every option --help lists."""
    found: list[list[str]] = []
    section = ""
    for line in text.splitlines():
        if re.fullmatch(r"[a-z][\w ]*:", line):
            section = line[:-1]
        elif m := re.match(r"  (-\S.*?)(?:\s{2,}(.*))?$", line):
            found.append([section, m.group(1), m.group(2) or ""])
        elif line.startswith("    ") and found:
            found[-1][2] += " " + line.strip()
    return [(a, b, c) for a, b, c in found]


def test_help_lists_every_setting_once_in_its_group() -> None:
    # Wide, so that argparse does not wrap an option's help over lines.
    result = run("serve", "--help", env={"COLUMNS": "500"})
    assert result.returncode == 0, result.stderr
    options = help_options(result.stdout)
    sections = {section for section, _, _ in options}
    assert sections == {"options", "configuration", *GROUPS}, sections
    for info in setting_info():
        listed = [(sec, spec, text) for sec, spec, text in options
                  if re.findall(r"--[\w-]+", spec)[0] == info.flag]
        assert len(listed) == 1, (info.name, listed)
        ((section, spec, text),) = listed
        assert section == info.group, info.name
        if info.type is bool:
            assert spec == f"{info.flag}, --no-{info.flag[2:]}", spec
        else:
            assert spec == f"{info.flag} {info.metavar}", spec
        assert f"env {info.env})" in text and "(default: " in text, text
    assert ("configuration", "--config FILE") in [(a, b) for a, b, _ in options]


def show(*args: str, env: dict[str, str] | None = None) -> dict:
    result = run("config", "show", "--json", *args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["settings"]  # type: ignore[no-any-return]


def test_booleans_take_flag_and_no_flag() -> None:
    flags = [info.flag for info in setting_info() if info.type is bool]
    assert "--seed-demo" in flags and "--debug-endpoints" in flags
    on = show(*flags)
    off = show(*["--no-" + flag[2:] for flag in flags])
    for info in setting_info():
        if info.type is bool:
            assert on[info.name] == {"value": True, "source": "flag", "group": info.group}
            assert off[info.name] == {"value": False, "source": "flag", "group": info.group}


def test_config_show_says_where_each_value_came_from(tmp_path: Path) -> None:
    cfg = tmp_path / "hiroba.toml"
    cfg.write_text('port = 9001\nhost = "10.1.1.1"\ntick_hz = 5\nlog_format = "json"\n')
    password = "s3cret-pw-0417"
    env = {"HIROBA_CONFIG": str(cfg), "HIROBA_PORT": "9002", "HIROBA_MOTION_HZ": "30",
           "HIROBA_REDIS_URL": f"redis://hiroba:{password}@127.0.0.1:6390/0"}
    # Any other secret setting gets a marker that must not come out either.
    markers = {info.name: f"sekrit-{info.name}" for info in setting_info()
               if info.secret and info.name != "redis_url"}
    env.update({INFOS[name].env: marker for name, marker in markers.items()})
    flags = ("--host", "127.0.0.9", "--no-seed-demo")
    text = run("config", "show", *flags, env=env)
    as_json = run("config", "show", "--json", *flags, env=env)
    for result in (text, as_json):
        assert result.returncode == 0, result.stderr
        for secret in (password, *markers.values()):
            assert secret not in result.stdout + result.stderr
    got = json.loads(as_json.stdout)
    assert got["config_file"] == str(cfg)
    settings = got["settings"]
    expected = {
        "host": ("127.0.0.9", "flag"), "seed_demo": (False, "flag"),
        "port": (9002, "environment"), "motion_hz": (30.0, "environment"),
        "tick_hz": (5.0, "file"), "log_format": ("json", "file"),
        "log_level": ("info", "default"), "data_dir": ("data", "default"),
        "redis_url": ("redis://***@127.0.0.1:6390/0", "environment"),
    }
    for name, (value, source) in expected.items():
        assert (settings[name]["value"], settings[name]["source"]) == (value, source), name
    assert {s["source"] for n, s in settings.items() if n not in expected} == {"default"}
    lines = text.stdout.splitlines()
    for pattern in (r'host = "127\.0\.0\.9" +# flag --host',
                    r"seed_demo = false +# flag --no-seed-demo",
                    r"port = 9002 +# environment HIROBA_PORT",
                    rf"tick_hz = 5\.0 +# file {re.escape(str(cfg))}",
                    r'log_level = "info" +# default',
                    r"# tls_cert unset +# default"):
        assert any(re.fullmatch(pattern, line) for line in lines), pattern


def test_config_show_is_a_config_file(tmp_path: Path) -> None:
    first = run("config", "show", "--port", "9005", "--ice-servers", "stun:127.0.0.1:3478",
                "--no-seed-demo", "--audio-radius", "7.5")
    assert first.returncode == 0, first.stderr
    cfg = tmp_path / "shown.toml"
    cfg.write_text(first.stdout)
    before = show("--port", "9005", "--ice-servers", "stun:127.0.0.1:3478",
                  "--no-seed-demo", "--audio-radius", "7.5")
    after = show("--config", str(cfg))
    for name, entry in before.items():
        assert after[name]["value"] == entry["value"], name
        assert after[name]["source"] == ("default" if entry["value"] is None else "file"), name


def test_config_show_refuses_what_serve_refuses() -> None:
    result = run("config", "show", "--log-format", "xml")
    assert result.returncode == 2
    assert "log_format" in result.stderr and "xml" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_is_a_clear_error(data_dir: Path) -> None:
    result = run("serve", "--data-dir", str(data_dir), env={"HIROBA_PORT": "eighty"})
    assert result.returncode == 2
    assert "port" in result.stderr and "eighty" in result.stderr


def test_serve_seeds_once_and_survives_restart(data_dir: Path) -> None:
    import json
    import urllib.request

    for _ in range(2):
        served = start(data_dir, "--seed-demo")
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


def test_serve_seeds_no_demo_unless_asked(data_dir: Path) -> None:
    import json
    import urllib.request

    served = start(data_dir)  # as a city runs it: no --seed-demo
    try:
        with urllib.request.urlopen(served.url + "/api/rooms", timeout=5) as resp:
            rooms = json.load(resp)["rooms"]
    finally:
        out = stop(served)
    assert rooms == [], out


def test_cert_then_https_serve_and_invite(tmp_path: Path, data_dir: Path) -> None:
    tls_dir = tmp_path / "tls"
    result = run("cert", "--out-dir", str(tls_dir), "--name", "hiroba.local")
    assert result.returncode == 0, result.stderr
    cert, key = tls_dir / "cert.pem", tls_dir / "key.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    ctx = ssl.create_default_context(cafile=str(cert))
    served = start(data_dir, "--seed-demo", "--tls-cert", str(cert), "--tls-key", str(key),
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
    served = start(data_dir, "--seed-demo")

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
    out = served.proc.stdout.read() if served.proc.stdout else ""
    assert served.proc.returncode == 0, out  # SIGTERM is the ordinary way to stop it
