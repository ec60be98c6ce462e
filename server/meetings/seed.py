"""The demo's meetings: an agenda for the committee, categories for the consultation."""

from __future__ import annotations

import logging

from moderation.agenda import AgendaItem
from server.meetings.store import MeetingStore, Write
from server.storage.records import to_json
from server.storage.store import SQLiteStore

log = logging.getLogger(__name__)

SEEDED_KEY = "demo_meetings_seeded"
DEMO_AGENDA: dict[str, tuple[tuple[str, int], ...]] = {
    "dx-committee": (
        ("開会", 300),
        ("行政手続オンライン化の進捗", 1200),
        ("デジタルデバイド対策", 1200),
        ("閉会", 300),
    ),
}
DEMO_CATEGORIES: dict[str, tuple[str, ...]] = {
    "park-consultation": ("遊具", "夜間照明", "バリアフリー", "樹木・緑", "その他"),
}


async def seed_meetings(db: SQLiteStore) -> bool:
    """Once: the demo agenda and opinion categories, for the demo rooms that exist."""
    if await db.get_meta(SEEDED_KEY) is not None:
        return False
    rooms = {r.id for r in await db.list_rooms()}
    store = MeetingStore(db)
    writes: list[Write] = []
    for room, items in DEMO_AGENDA.items():
        if room in rooms:
            for position, (title, planned) in enumerate(items):
                item = AgendaItem(position + 1, title, planned)
                writes.append(("INSERT OR IGNORE INTO agenda_items (room_id, id, position, body)"
                               " VALUES (?, ?, ?, ?)", (room, item.id, position, to_json(item))))
    await store.apply(writes)
    for room, categories in DEMO_CATEGORIES.items():
        if room in rooms:
            await store.set_rules(room, categories, None)
    await db.set_meta(SEEDED_KEY, "1")
    log.info("seeded the demo meetings")
    return True
