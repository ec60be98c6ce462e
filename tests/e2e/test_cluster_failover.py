"""A page whose node dies comes back through the balancer as the same person (issue 7).

Two cluster nodes and a TCP proxy in front of node B (tests/cluster_harness.py). A page
joins through the proxy, a second page straight on node A watches it. Node B is killed
with SIGKILL and the proxy now sends new connections to node A: the first page's socket
reconnects by itself, joins again with its resume token and keeps its participant id, its
motion plane reopens on node A, and the watcher sees it walk.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.cluster import Node, RedisServer
from tests.cluster_harness import SwitchingProxy
from tests.conftest import free_port
from tests.e2e.conftest import join, open_page, state


@pytest.fixture
async def two_nodes(tmp_path: Path) -> AsyncIterator[tuple[Node, Node]]:
    redis = RedisServer(free_port()).start()
    data = tmp_path / "data"
    nodes = [Node("a", data, redis.url).start()]
    nodes.append(Node("b", data, redis.url).start())
    try:
        yield nodes[0], nodes[1]
    finally:
        for node in nodes:
            node.stop()
        redis.stop()


async def test_page_on_a_dead_node_rejoins_elsewhere_as_the_same_person(
    browser, two_nodes: tuple[Node, Node]
) -> None:
    a, b = two_nodes
    proxy = await SwitchingProxy(b.port).start()
    try:
        walker, walker_watch = await open_page(browser, proxy.url)
        watcher, _ = await open_page(browser, a.url)
        me = await join(walker, "つながる人")
        await join(watcher, "見守る人")
        pid = me["selfId"]
        await watcher.wait_for_function(
            "(pid) => window.hiroba.state().participants.some(p => p.id === pid)",
            arg=pid, timeout=5000)

        b.kill()
        proxy.backend = a.port
        # socket.io reconnects by itself (within its back-off), the page joins again with
        # its resume token: the same id, and its motion plane is open again, on node A.
        await walker.wait_for_function(
            """(pid) => { const s = window.hiroba.state();
                 return s.joined && s.selfId === pid && s.motion && s.motion.ready; }""",
            arg=pid, timeout=20000)
        await walker.locator("#scene").click()
        # The watcher on node A sees the walker leave with node B and come back: wait for
        # the return rather than read its list at once (a clean-clone run caught it between).
        await watcher.wait_for_function(
            "(pid) => window.hiroba.state().participants.some(p => p.id === pid)",
            arg=pid, timeout=10000)
        before = next(p for p in (await state(watcher))["participants"] if p["id"] == pid)
        await walker.keyboard.down("ArrowUp")
        await asyncio.sleep(1.2)
        await walker.keyboard.up("ArrowUp")
        await watcher.wait_for_function(
            """([pid, x, z]) => { const p = window.hiroba.state().participants
                   .find(q => q.id === pid);
                 return p && Math.hypot(p.x - x, p.z - z) > 1.0; }""",
            arg=[pid, before["x"], before["z"]], timeout=5000)
        after = next(p for p in (await state(watcher))["participants"] if p["id"] == pid)
        assert math.hypot(after["x"] - before["x"], after["z"] - before["z"]) > 1.0
        assert after["name"] == "つながる人"
        ids = [p["id"] for p in (await state(watcher))["participants"]]
        assert ids.count(pid) == 1, "one avatar, not a ghost and a newcomer"
        assert not [e for e in walker_watch.errors if "WebSocket" not in e
                    and "ERR_CONNECTION" not in e and "socket.io" not in e], walker_watch.errors
    finally:
        await proxy.close()
