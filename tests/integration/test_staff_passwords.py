"""Staff passwords on a real server: accounts made by ``hiroba staff add`` are argon2id; an
account of an older installation (scrypt) logs in and leaves with an argon2id hash."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import aiohttp

from moderation.accounts import ScryptHasher, new_account
from server.console.routes import MEETINGS_KEY
from tests.conftest import ROOT, Server

PASSWORD = "a long enough passphrase"


async def login(server: Server, name: str, password: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.post(
        server.url + "/api/login", json={"account": name, "password": password}
    ) as resp:
        return resp.status, await resp.json()


async def stored_hash(server: Server, name: str) -> str:
    account = await server.app[MEETINGS_KEY].staff.account(name)
    assert account is not None
    return account.password_hash


async def test_new_accounts_get_argon2id(server: Server) -> None:
    added = await asyncio.get_running_loop().run_in_executor(None, lambda: subprocess.run(
        [sys.executable, "-m", "server.cli.main", "staff", "add", "jimu", "--password-stdin",
         "--data-dir", str(server.settings.data_dir)],
        cwd=ROOT, input=PASSWORD + "\n", capture_output=True, text=True, timeout=60))
    assert added.returncode == 0, added.stderr
    first = await stored_hash(server, "jimu")
    assert first.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), first
    assert (await login(server, "jimu", PASSWORD))[0] == 200
    assert await stored_hash(server, "jimu") == first  # already current: left alone


async def test_an_scrypt_account_is_rehashed_to_argon2id_at_login(server: Server) -> None:
    # As an installation from before argon2id stored it.
    await server.app[MEETINGS_KEY].staff.add_account(
        new_account("kakari", PASSWORD, time.time(), hasher=ScryptHasher()))
    old = await stored_hash(server, "kakari")
    assert old.startswith("scrypt$16384$8$1$")

    status, body = await login(server, "kakari", "not the password!")
    assert (status, body["reason"]) == (401, "bad_credentials")
    assert await stored_hash(server, "kakari") == old, "a failed login changes nothing"

    status, body = await login(server, "kakari", PASSWORD)
    assert status == 200, body
    new = await stored_hash(server, "kakari")
    assert new.startswith("$argon2id$"), new

    # The new hash works, and is not replaced again; the wrong password is still refused.
    assert (await login(server, "kakari", PASSWORD))[0] == 200
    assert await stored_hash(server, "kakari") == new
    status, body = await login(server, "kakari", "not the password!")
    assert (status, body["reason"]) == (401, "bad_credentials")
