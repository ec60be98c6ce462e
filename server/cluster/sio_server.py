"""A socket.io server whose events go through the cluster node first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import socketio

if TYPE_CHECKING:
    from server.cluster.node import ClusterNode


class ClusterServer(socketio.AsyncServer):  # type: ignore[misc]
    """``AsyncServer`` that hands every event of the default namespace to the cluster
    node, which runs it here (leader) or on the leader (edge) and returns the ack."""

    cluster: ClusterNode | None = None

    async def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        if self.cluster is None or namespace != "/":
            return await super()._trigger_event(event, namespace, *args)
        return await self.cluster.dispatch(event, args)

    async def trigger_here(self, event: str, namespace: str, *args: Any) -> Any:
        """Run an event through this process's own handlers."""
        return await super()._trigger_event(event, namespace, *args)

    def get_environ(self, sid: str, namespace: str | None = None) -> Any:
        environ = super().get_environ(sid, namespace)
        if environ is None and self.cluster is not None:
            return self.cluster.remote_environ.get(sid)
        return environ
