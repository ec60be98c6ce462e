"""``GET /readyz`` on real servers: ready, then not ready for each reason it names; and
``/healthz`` answering all along (liveness is not readiness)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.cluster import Node, RedisServer
from server.app import STORE_KEY
from server.config.settings import Settings
from tests.conftest import Server, free_port, running_server

BUILT = Path(__file__).resolve().parents[2] / "server" / "static"


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.json()


async def test_a_started_server_is_ready(server: Server) -> None:
    status, body = await get(server.url + "/readyz")
    assert status == 200, body
    assert body == {"status": "ready", "checks": {"store": "ok", "client": "ok"}, "failing": []}


async def test_a_closed_store_makes_it_unready_but_alive(server: Server) -> None:
    await server.app[STORE_KEY].close()  # type: ignore[attr-defined]
    status, body = await get(server.url + "/readyz")
    assert status == 503, body
    assert body["status"] == "unready" and body["failing"] == ["store"]
    assert body["checks"] == {"store": "the database is not open", "client": "ok"}
    status, health = await get(server.url + "/healthz")
    assert status == 200 and health["status"] == "ok"


@pytest.fixture
async def own_client_server(settings: Settings, tmp_path: Path) -> AsyncIterator[Server]:
    """A server whose built client is a folder of this test's own (links to the build's
    files), so that the test can take a page away."""
    client = tmp_path / "client"
    for path in BUILT.rglob("*"):
        if path.is_file():
            link = client / path.relative_to(BUILT)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)
    async with running_server(replace(settings, client_dir=client)) as server:
        yield server


async def test_a_missing_client_makes_it_unready(own_client_server: Server) -> None:
    url = own_client_server.url
    assert (await get(url + "/readyz"))[0] == 200
    (own_client_server.settings.client_dir / "index.html").unlink()  # a redeploy gone wrong
    status, body = await get(url + "/readyz")
    assert status == 503, body
    assert body["failing"] == ["client"]
    assert "missing" in body["checks"]["client"] and body["checks"]["store"] == "ok"
    assert (await get(url + "/healthz"))[0] == 200


async def eventually_status(url: str, wanted: int, within: float = 10.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        status, body = await get(url + "/readyz")
        if status == wanted:
            return body  # type: ignore[no-any-return]
        assert asyncio.get_running_loop().time() < deadline, (status, body)
        await asyncio.sleep(0.2)


async def test_cluster_nodes_are_unready_without_redis_or_a_leader(tmp_path: Path) -> None:
    redis = RedisServer(free_port()).start()
    nodes: list[Node] = []
    try:
        leader = Node("a", tmp_path / "data", redis.url).start()
        nodes.append(leader)
        # An edge elsewhere: no database (so no store check), a copy of the secret.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        secret = elsewhere / "secret.key"
        secret.write_bytes((tmp_path / "data" / "secret.key").read_bytes())
        edge = Node("e", elsewhere / "data", redis.url,
                    flags=("--cluster-role", "edge", "--secret-file", str(secret))).start()
        nodes.append(edge)
        status, body = await get(leader.url + "/readyz")
        assert status == 200, body
        assert body["checks"] == {"store": "ok", "client": "ok", "redis": "ok", "leader": "ok"}
        body = await eventually_status(edge.url, 200)
        assert body["checks"] == {"client": "ok", "redis": "ok", "leader": "ok"}

        # The leader dies: the edge, which never leads, knows no leader once its lease
        # has run out (1.5 s in the harness), and says so.
        leader.kill()
        body = await eventually_status(edge.url, 503)
        assert body["failing"] == ["leader"], body
        assert body["checks"]["leader"] == "no leader is known"

        # Redis stops: not ready, and the reason names Redis (not its URL).
        redis.stop()
        body = await eventually_status(edge.url, 503)
        assert "redis" in body["failing"], body
        assert body["checks"]["redis"].startswith("Redis does not answer")
        assert redis.url not in str(body)
        assert (await get(edge.url + "/healthz"))[0] == 200
    finally:
        for node in nodes:
            node.stop()
        redis.stop()
