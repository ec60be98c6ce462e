"""``hiroba staff`` and ``hiroba invite`` as an operator runs them, against a live server."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import aiohttp
import socketio

from tests.cli_here import run_here
from tests.cli_here import run_here as run
from tests.integration.test_cli import start, stop

PASSWORD = "a long enough passphrase"


def add(data_dir: Path, name: str, password: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_here("staff", "add", name, "--password-stdin", "--data-dir", str(data_dir),
                    *extra, stdin=password + "\n")


async def login(url: str, name: str, password: str) -> int:
    async with aiohttp.ClientSession() as http, http.post(
        url + "/api/login", json={"account": name, "password": password}
    ) as r:
        return r.status


async def join(url: str, token: str, device: str | None = None) -> dict:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, transports=["websocket"])
    try:
        payload = {"name": "x", "room": "dx-committee", "lang": "ja", "token": token}
        if device:
            payload["device"] = device
        return await client.call("join", payload, timeout=5)  # type: ignore[no-any-return]
    finally:
        await client.disconnect()


def test_staff_accounts_and_invitations_from_the_shell(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    served = start(data_dir, "--seed-demo")  # invites to the demo committee
    try:
        weak = add(data_dir, "jimu", "short")
        assert weak.returncode == 2 and "12" in weak.stderr
        added = add(data_dir, "Jimu", PASSWORD, "--display-name", "事務局")
        assert added.returncode == 0, added.stderr
        again = add(data_dir, "jimu", PASSWORD)
        assert again.returncode == 2 and "exists" in again.stderr
        listed = run("staff", "list", "--data-dir", str(data_dir))
        assert "jimu\t事務局\tactive" in listed.stdout
        assert asyncio.run(login(served.url, "jimu", PASSWORD)) == 200

        invite = run("invite", "dx-committee", "--role", "observer", "--name", "記者",
                     "--data-dir", str(data_dir))
        assert invite.returncode == 0, invite.stderr
        token = parse_qs(urlparse(invite.stdout.strip()).query)["token"][0]
        first = asyncio.run(join(served.url, token))
        assert first["ok"] and first["place"] == "gallery"
        assert asyncio.run(join(served.url, token))["reason"] == "bad_token"
        assert asyncio.run(join(served.url, token, first["device"]))["ok"]
        staff_role = run("invite", "dx-committee", "--role", "staff", "--data-dir",
                         str(data_dir))
        assert staff_role.returncode == 2

        disabled = run("staff", "disable", "jimu", "--data-dir", str(data_dir))
        assert disabled.returncode == 0
        assert asyncio.run(login(served.url, "jimu", PASSWORD)) == 401
        assert "disabled" in run("staff", "list", "--data-dir", str(data_dir)).stdout
        assert run("staff", "enable", "jimu", "--data-dir", str(data_dir)).returncode == 0
        assert asyncio.run(login(served.url, "jimu", PASSWORD)) == 200
        missing = run("staff", "disable", "nobody", "--data-dir", str(data_dir))
        assert missing.returncode == 2
    finally:
        stop(served)


async def _socket_from(url: str, origin: str, ctx: ssl.SSLContext) -> bool:
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx))
    client = socketio.AsyncClient(http_session=http, reconnection=False)
    try:
        await client.connect(url, transports=["websocket"], headers={"Origin": origin},
                             wait_timeout=5)
        await client.disconnect()
        return True
    except socketio.exceptions.ConnectionError:
        return False
    finally:
        await http.close()


def test_pages_served_over_https_may_open_sockets(tmp_path: Path) -> None:
    """A browser on https://host sends that Origin; the socket must accept it (and still
    refuse a foreign one). engineio's aiohttp driver reports every request as http."""
    tls_dir = tmp_path / "tls"
    assert run("cert", "--out-dir", str(tls_dir), "--name", "localhost").returncode == 0
    ctx = ssl.create_default_context(cafile=str(tls_dir / "cert.pem"))
    served = start(tmp_path / "data", "--tls-cert", str(tls_dir / "cert.pem"), "--tls-key",
                   str(tls_dir / "key.pem"), scheme="https", ssl_ctx=ctx)
    try:
        assert asyncio.run(_socket_from(served.url, served.url, ctx))
        assert not asyncio.run(_socket_from(served.url, served.url.replace("https", "http"), ctx))
        assert not asyncio.run(_socket_from(served.url, "https://evil.example", ctx))
    finally:
        stop(served)
