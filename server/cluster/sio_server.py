"""A socket.io server whose events go through the cluster node first."""

from __future__ import annotations

from typing import Any, Protocol

import socketio


class EventRouter(Protocol):
    """Where a cluster node's socket.io events go (server/cluster/node.py)."""

    async def dispatch(self, event: str, args: tuple[Any, ...]) -> Any:
        """Run ``event`` of socket ``args[0]`` here or on the leader; return its ack."""

    def environ_of(self, sid: str) -> dict[str, Any] | None:
        """The request headers of a socket another node holds (None if unknown)."""


class ClusterServer(socketio.AsyncServer):  # type: ignore[misc]
    """``AsyncServer`` that hands every event of the default namespace to the cluster
    node, which runs it here (leader) or on the leader (edge) and returns the ack."""

    _router: EventRouter | None = None

    def route_events_through(self, router: EventRouter) -> None:
        """From now on, hand every event of the default namespace to ``router``.

        A method rather than a constructor argument because the two need each other: the
        router runs events through this server's own handlers (:meth:`trigger_here`) and
        closes its sockets, so it can only be built once this server exists. The app calls
        it once, before the server starts."""
        self._router = router

    async def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        if self._router is None or namespace != "/":
            return await super()._trigger_event(event, namespace, *args)
        return await self._router.dispatch(event, args)

    async def trigger_here(self, event: str, namespace: str, *args: Any) -> Any:
        """Run an event through this process's own handlers."""
        return await super()._trigger_event(event, namespace, *args)

    def get_environ(self, sid: str, namespace: str | None = None) -> Any:
        environ = super().get_environ(sid, namespace)
        if environ is None and self._router is not None:
            return self._router.environ_of(sid)
        return environ
