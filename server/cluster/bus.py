"""Redis pub/sub for cluster nodes: one publishing connection, one listening one.

Publishing goes through a single connection so that messages from this node arrive in the
order they were sent (a connection pool could reorder a socket's ``connect`` and its first
event). Listening survives a Redis restart: the listener reconnects with a growing pause
and subscribes again; what was published meanwhile is lost (pub/sub keeps nothing), which
docs/cluster.md lists per plane.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PREFIX = "hiroba"
#: Longest wait for one Redis command before the connection is replaced.
COMMAND_TIMEOUT = 2.0
#: Called with (channel, data) for every message on a subscribed channel.
Receiver = Callable[[str, bytes], Awaitable[None]]


def channel(*parts: str) -> str:
    return ":".join((PREFIX, *parts))


class RedisBus:
    """Publish to channels, and receive from this node's subscriptions."""

    def __init__(
        self, url: str, receive: Receiver, on_connected: Callable[[], Awaitable[None]]
    ) -> None:
        """``receive`` gets every message of a subscribed channel; ``on_connected`` is
        called after the listener (re)subscribed: on start and after every outage."""
        self.url = url
        self.receive = receive
        self.on_connected = on_connected
        # Two connections: publishing, in order, and the lease and heartbeat commands, which
        # must not wait behind a backlog of published messages (a leader whose renewal
        # queued behind its own traffic would lose its lease under load).
        self._links = {"publish": self._client(), "command": self._client()}
        self._locks = {"publish": asyncio.Lock(), "command": asyncio.Lock()}
        self._channels: set[str] = set()
        self._pubsub: aioredis.client.PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = False

    def _client(self) -> aioredis.Redis:
        return aioredis.Redis.from_url(
            self.url, single_connection_client=True, socket_timeout=2, socket_connect_timeout=2
        )

    async def _run(self, link: str, *args: object) -> object:
        """One command on one of the connections, in order and bounded in time; a
        connection that failed is replaced (after a Redis restart the old one may hang
        rather than fail)."""
        async with self._locks[link]:
            client = self._links[link]
            try:
                return await asyncio.wait_for(
                    client.execute_command(*args),  # type: ignore[no-untyped-call]
                    COMMAND_TIMEOUT,
                )
            except (RedisError, OSError, TimeoutError):
                self._links[link] = self._client()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.aclose(), 1.0)
                raise

    async def start(self, channels: set[str]) -> None:
        self._channels = set(channels)
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="redis-bus")

    async def subscribe(self, name: str) -> None:
        if name in self._channels:
            return
        self._channels.add(name)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.subscribe(name)

    async def unsubscribe(self, name: str) -> None:
        self._channels.discard(name)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(name)

    async def publish(self, name: str, data: bytes) -> bool:
        """Send ``data`` on ``name``; False when Redis cannot be reached (nothing raised)."""
        try:
            await self._run("publish", "PUBLISH", name, data)
            return True
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("cannot publish to Redis: %s", type(exc).__name__)
            return False

    async def command(self, *args: object) -> object:
        """One Redis command on the command connection (raises RedisError, OSError or
        TimeoutError)."""
        return await self._run("command", *args)

    async def _listen(self) -> None:
        pause = 0.2
        while True:
            pubsub = aioredis.Redis.from_url(self.url, socket_connect_timeout=2).pubsub(
                ignore_subscribe_messages=True
            )
            try:
                await pubsub.subscribe(*sorted(self._channels))
                self._pubsub = pubsub
                self.connected = True
                pause = 0.2
                await self.on_connected()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    data = message["data"]
                    name = message["channel"]
                    try:
                        await self.receive(
                            name.decode() if isinstance(name, bytes) else str(name),
                            data if isinstance(data, bytes) else str(data).encode(),
                        )
                    except Exception:
                        log.exception("handling a cluster message failed")
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.warning("lost Redis (%s); reconnecting", type(exc).__name__)
                self.connected = False
            finally:
                self._pubsub = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in self._links.values():
            with contextlib.suppress(Exception):
                await client.aclose()
