"""The gallery's side of a cluster (issue 19): what the cluster node asks of this node's
plane and public state, in one place (server/cluster/node.py ``GalleryPort``).

The leader counts every node's viewers (each node's presence messages, confirmed by its
summary every :data:`SUMMARY_SECONDS`; a node silent for :data:`SILENT_PERIODS` summaries,
or lost by the cluster, is dropped), lists their hands and requests to staff, sends each
room's public messages and snapshots to the other nodes, and has a promotion delivered on
the socket of a viewer held by another node. Every other node keeps the snapshots for its
hellos and writes the relayed messages to its own viewers.
"""

from __future__ import annotations

from typing import Any

from server.gallery.plane import GalleryPlane
from server.gallery.state import GalleryState

#: How often a node reports its gallery viewers and their requests to the leader (seconds).
SUMMARY_SECONDS = 2.0
#: Summaries a node may miss before the leader drops its viewers (it died without a word).
SILENT_PERIODS = 3

#: (room, viewer, arrived): a viewer of another node the leader now counts, or no longer.
Change = tuple[str, str, bool]


class GalleryRelay:
    """This node's gallery plane and public state, as the cluster node sees them."""

    def __init__(self, plane: GalleryPlane, state: GalleryState) -> None:
        self.plane = plane
        self.state = state

    # -- any node ---------------------------------------------------------------------
    def summary(self) -> tuple[dict[str, tuple[str, ...]],
                               dict[str, tuple[dict[str, object], ...]]]:  # fmt: skip
        """This node's viewers by room, and those with a hand up or asking to speak."""
        return self.plane.local_summary()

    def relayed(self, room: str, message: dict[str, Any]) -> None:
        """A public message of the leader's: see :meth:`GalleryState.relayed`."""
        self.state.relayed(room, message)

    def told_count(self, room: str, viewers: int, peak: int) -> None:
        self.plane.told_count(room, viewers, peak)

    def deliver(self, room: str, viewer: str, message: dict[str, Any]) -> bool:
        """Write ``message`` (a promotion) on the socket of ``viewer`` if it is here; its
        hand and request are done with. False when it is not (gone meanwhile)."""
        v = self.plane.viewer(room, viewer)
        if v is None:
            return False
        v.hand = v.ask = False
        v.asked_at = None
        self.plane.send_state(v, message)
        return True

    # -- the leader -------------------------------------------------------------------
    def lead(self) -> None:
        """This node took over as the leader."""
        self.plane.lead()

    def on_presence(self, node: str, room: str, viewer: str, arrived: bool) -> bool:
        return self.plane.remote_presence(node, room, viewer, arrived)

    def on_summary(self, node: str, rooms: dict[str, tuple[str, ...]],
                   requests: dict[str, tuple[dict[str, object], ...]]) -> list[Change]:  # fmt: skip
        return self.plane.remote_summary(node, rooms, requests)

    def drop_node(self, node: str) -> list[Change]:
        return self.plane.drop_node(node)

    def silent_nodes(self) -> list[str]:
        """The nodes whose summaries stopped."""
        return self.plane.silent_nodes(SUMMARY_SECONDS * SILENT_PERIODS)

    def nodes(self) -> set[str]:
        """The other nodes with viewers (the cluster watches them: a lost one is dropped)."""
        return set(self.plane.node_seen)

    def snapshot(self, room: str) -> dict[str, Any] | None:
        """``room``'s public snapshot for the other nodes; None for no such room."""
        if room not in self.state.hub.rooms:
            return None
        return self.state.public_snapshot(room)

    def dirty_snapshots(self) -> list[tuple[str, dict[str, Any]]]:
        return self.state.dirty_snapshots()
