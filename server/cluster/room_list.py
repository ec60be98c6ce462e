"""The rooms, as the leader's database has them, for edges that have no database.

The leader writes them to ``hiroba:rooms`` when it takes the lease; an edge with
``cluster_role = edge`` reads them at its start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from rooms.errors import HirobaError, Reason
from rooms.model import RoomKind
from rooms.room import RoomInfo
from server.cluster.bus import RedisBus, channel
from server.sockets.hub import Hub

ROOMS_KEY = channel("rooms")
#: Attempts (0.2 s apart) to find the rooms: the leader may still be starting.
READ_ATTEMPTS = 150


async def publish_rooms(bus: RedisBus, hub: Hub) -> None:
    """Leader: the hub's rooms, for the edges."""
    rooms = [{"id": r.info.id, "kind": r.info.kind.value, "name_ja": r.info.name_ja,
              "name_en": r.info.name_en, "capacity": r.info.capacity}
             for r in hub.rooms.values()]  # fmt: skip
    await bus.command("SET", ROOMS_KEY, json.dumps(rooms, ensure_ascii=False))


async def read_rooms(bus: RedisBus) -> list[RoomInfo]:
    """Edge without a database: the rooms, as the leader published them."""
    for _ in range(READ_ATTEMPTS):
        with contextlib.suppress(Exception):
            raw = await bus.command("GET", ROOMS_KEY)
            if isinstance(raw, bytes):
                return [RoomInfo(id=str(r["id"]), kind=RoomKind(r["kind"]),
                                 name_ja=str(r["name_ja"]), name_en=str(r["name_en"]),
                                 capacity=int(r["capacity"])) for r in json.loads(raw)]
        await asyncio.sleep(0.2)
    raise HirobaError(Reason.UNAVAILABLE, "no leader has published the rooms yet")
