"""``GET /readyz``: whether this node should be given traffic now.

``/healthz`` answers as long as the process serves HTTP (liveness: restart it when it
stops answering). ``/readyz`` answers ``200`` only when everything a visitor needs is
there, and ``503`` otherwise, naming each failing check, so that a load balancer or an
orchestrator sends people elsewhere instead of to a node that would fail them:

- ``store``: the database is open and answers (not on an edge, which has none);
- ``client``: the browser client's pages are on disk (the build, or the sources in dev
  mode): a redeploy that removed them leaves a server that serves no page;
- ``redis`` and ``leader`` (cluster mode): Redis answers, and a leader is known, without
  which every meeting event is answered ``unavailable``.

Each check is a coroutine returning ``None`` (fine) or why not, in a few words that name
no secret (never the Redis URL, which may carry a password). The checks run together,
each bounded in time, so that one stuck dependency neither hides the others nor holds
the probe.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from server.cluster.node import ClusterNode
from server.http.static_files import ClientFiles
from server.storage.store import SQLiteStore

READYZ_PATH = "/readyz"
#: Longest a single check may take before it counts as failing.
CHECK_TIMEOUT = 3.0
OK = "ok"

#: A readiness check: ``None`` when fine, else the reason it is not.
Check = Callable[[], Awaitable[str | None]]


def store_check(store: SQLiteStore) -> Check:
    """The database is open and runs a query on its thread."""

    async def check() -> str | None:
        if not store.is_open:
            return "the database is not open"
        try:
            await store.run(lambda c: c.execute("SELECT 1").fetchone())
        except (sqlite3.Error, RuntimeError) as exc:
            return f"the database does not answer ({type(exc).__name__})"
        return None

    return check


def client_check(client: ClientFiles) -> Check:
    """The browser client's pages are on disk (looked at in an executor)."""

    async def check() -> str | None:
        present = await asyncio.get_running_loop().run_in_executor(None, client.present)
        return None if present else "the browser client's pages are missing (make client)"

    return check


def redis_check(node: ClusterNode) -> Check:
    """Redis answers a PING on the node's command connection."""

    async def check() -> str | None:
        try:
            await node.ping()
        except Exception as exc:  # any failure of the link means the same: unreachable
            return f"Redis does not answer ({type(exc).__name__})"
        return None

    return check


def leader_check(node: ClusterNode) -> Check:
    """The node knows the cluster's leader (itself or another)."""

    async def check() -> str | None:
        return None if node.is_leader or node.leader is not None else "no leader is known"

    return check


def readiness_checks(
    store: SQLiteStore | None, client: ClientFiles, cluster: ClusterNode | None
) -> dict[str, Check]:
    """The checks of a node: ``store`` None on an edge (it has no database), ``cluster``
    None outside cluster mode."""
    checks: dict[str, Check] = {}
    if store is not None:
        checks["store"] = store_check(store)
    checks["client"] = client_check(client)
    if cluster is not None:
        checks["redis"] = redis_check(cluster)
        checks["leader"] = leader_check(cluster)
    return checks


async def run_checks(checks: Mapping[str, Check]) -> dict[str, str]:
    """Every check's outcome: :data:`OK` or its reason, in the order given."""

    async def one(check: Check) -> str:
        try:
            reason = await asyncio.wait_for(check(), CHECK_TIMEOUT)
        except TimeoutError:
            return f"no answer within {CHECK_TIMEOUT:g} s"
        return OK if reason is None else reason

    outcomes = await asyncio.gather(*(one(check) for check in checks.values()))
    return dict(zip(checks, outcomes, strict=True))


def add_readiness_route(app: web.Application, checks: Mapping[str, Check]) -> None:
    """Register ``GET /readyz`` on ``app``."""

    async def readyz(request: web.Request) -> web.Response:
        outcomes = await run_checks(checks)
        failing = [name for name, outcome in outcomes.items() if outcome != OK]
        body = {"status": "unready" if failing else "ready", "checks": outcomes,
                "failing": failing}  # fmt: skip
        return web.json_response(
            body, status=503 if failing else 200,
            headers={"Cache-Control": "no-store"},
            dumps=lambda obj: json.dumps(obj, ensure_ascii=False),
        )

    app.router.add_get(READYZ_PATH, readyz)
