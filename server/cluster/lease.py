"""Who leads the cluster: the leader lease in Redis, its renewal, and node heartbeats.

Every node writes its heartbeat (``hiroba:node:<name>``, its HTTP address, expiring after
one lease) a third of a lease apart. The leader renews ``hiroba:leader``; a node that finds
it vacant takes it (``SET NX``) and is promoted. A leader that finds the lease held by
another stops itself (fail-stop) rather than run the meetings twice. The leader also
sweeps: a node whose heartbeat stayed missing for a whole lease has stopped, and the
people it held leave (they rejoin through another node).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable

from rooms.errors import HirobaError, Reason
from server.cluster.bus import RedisBus, channel
from server.config.settings import Settings

log = logging.getLogger(__name__)

LEADER_KEY = channel("leader")
#: Renew the lease if this node holds it, or take it if nobody does (after Redis lost it).
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
#: Give the lease up if this node holds it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
#: Attempts (0.2 s apart) to reach Redis at start: a node may start before it.
START_ATTEMPTS = 50


def _text(value: object) -> str | None:
    return value.decode() if isinstance(value, bytes) else None if value is None else str(value)


class Lease:
    """This node's heartbeat and its part in electing the leader."""

    def __init__(
        self,
        settings: Settings,
        bus: RedisBus,
        url: str,
        promoted: Callable[[bool], Awaitable[None]],
        leader_changed: Callable[[], None],
        watched_nodes: Callable[[], set[str]],
        node_lost: Callable[[str], Awaitable[None]],
    ) -> None:
        """``promoted(initial)``: this node has just taken the lease (``initial``: at its
        start, with nothing to take over). ``leader_changed()``: another node leads now.
        ``watched_nodes()``: the nodes whose people the leader serves; ``node_lost(node)``:
        one of them stopped answering."""
        self.settings = settings
        self.bus = bus
        self.name = settings.node_name
        self.url = url
        #: Never leads (cluster_role = edge).
        self.edge_only = settings.cluster_role == "edge"
        self.lease_ms = int(settings.cluster_lease_seconds * 1000)
        self._promoted = promoted
        self._leader_changed = leader_changed
        self._watched_nodes = watched_nodes
        self._node_lost = node_lost
        #: The leader's name, None while nobody holds the lease (as far as this node knows).
        self.leader: str | None = None
        self.is_leader = False
        self.changes = 0
        self._last_leader: str | None = None
        self._vacant_since: float | None = None
        self._missing: dict[str, float] = {}
        self._leader_url: tuple[str, str, float] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Take part in the election; returns once this node knows whether it leads."""
        for _ in range(START_ATTEMPTS):
            try:
                await self.step(initial=True)
                break
            except Exception as exc:
                log.warning("waiting for Redis at start: %s", type(exc).__name__)
                await asyncio.sleep(0.2)
        else:
            raise HirobaError(Reason.UNAVAILABLE, "cannot reach Redis at redis_url")
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="cluster-lease")

    async def stop(self) -> None:
        """Stop renewing; remove this node's heartbeat, and the lease if it holds it, so
        that another node takes over without waiting for it to expire."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.bus.command("DEL", channel("node", self.name))
            if self.is_leader:
                await self.bus.command("EVAL", _RELEASE, 1, LEADER_KEY, self.name)

    async def reclaim(self) -> None:
        """After Redis came back: take the lease again at once if it was ours."""
        if self.is_leader:
            with contextlib.suppress(Exception):
                await self.step()

    async def leader_url(self) -> str | None:
        """The leader's HTTP address (from its heartbeat), for the HTTP API's calls."""
        leader = self.leader
        if leader is None:
            return None
        cached = self._leader_url
        if cached is not None and cached[0] == leader and time.monotonic() - cached[2] < 2:
            return cached[1]
        try:
            url = await self.bus.command("GET", channel("node", leader))
        except Exception:
            return None
        if not isinstance(url, bytes):
            return None
        self._leader_url = (leader, url.decode(), time.monotonic())
        return url.decode()

    async def _loop(self) -> None:
        period = self.settings.cluster_lease_seconds / 3
        while True:
            await asyncio.sleep(period)
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cluster lease: %s", type(exc).__name__)

    async def step(self, initial: bool = False) -> None:
        """One heartbeat: renew the lease (leader), or learn or take it (the others)."""
        await self.bus.command("SET", channel("node", self.name), self.url, "PX", self.lease_ms)
        if self.is_leader:
            held = await self.bus.command("EVAL", _RENEW, 1, LEADER_KEY, self.name, self.lease_ms)
            if held != 1:
                log.critical("node %s lost the leader lease to another node; stopping", self.name)
                os.kill(os.getpid(), signal.SIGTERM)
                return
            await self._sweep_nodes()
            return
        current = _text(await self.bus.command("GET", LEADER_KEY))
        if current is None:
            self.leader = None  # events are answered `unavailable` at once meanwhile
        if current is None and self.edge_only:
            return  # waits for a node with the database to lead
        if current is None:
            now = time.monotonic()
            # After a Redis restart the old leader takes the key back on its next renewal;
            # others wait longer than that before taking it.
            if not initial and (self._vacant_since is None or now - self._vacant_since < 0.5 *
                                self.settings.cluster_lease_seconds):
                self._vacant_since = self._vacant_since or now
                return
            taken = await self.bus.command("SET", LEADER_KEY, self.name, "NX", "PX",
                                           self.lease_ms)
            if taken:
                self._vacant_since = None
                await self._become_leader(initial)
                return
            current = _text(await self.bus.command("GET", LEADER_KEY))  # another was quicker
            if current is None:
                return
        self._vacant_since = None
        if current != self.leader:
            previous, self.leader = self._last_leader, current
            self._last_leader = self.leader
            if previous is not None and previous != current:
                self.changes += 1
                log.warning("cluster leader changed from %s to %s", previous, current)
                self._leader_changed()

    async def _become_leader(self, initial: bool) -> None:
        previous = self._last_leader
        self.leader, self.is_leader = self.name, True
        self._last_leader = self.name
        if not initial:
            self.changes += 1
            log.warning("node %s takes over as leader from %s", self.name, previous)
        await self._promoted(initial)

    async def _sweep_nodes(self) -> None:
        """Leader: people of nodes whose heartbeat expired leave (they will rejoin)."""
        now = time.monotonic()
        for node in self._watched_nodes():
            alive = await self.bus.command("EXISTS", channel("node", node))
            if alive:
                self._missing.pop(node, None)
                continue
            # Missing for a whole lease, not once: after a Redis restart every node's key
            # is gone until its next heartbeat.
            since = self._missing.setdefault(node, now)
            if now - since < self.settings.cluster_lease_seconds:
                continue
            self._missing.pop(node, None)
            log.warning("node %s stopped answering; its people leave", node)
            await self._node_lost(node)
