"""The demo rooms: a plaza, a consultation and a committee, with notices on their boards.

Created only when asked (``seed_demo``; ``make run`` passes ``--seed-demo``), never by
default: a city's database must not start with rooms nobody set up.
"""

from __future__ import annotations

import logging

from rooms.layouts import DEFAULT_CAPACITY
from rooms.model import RoomKind
from rooms.room import RoomInfo
from server.storage.store import Store

log = logging.getLogger(__name__)

SEEDED_KEY = "demo_seeded"

DEMO_ROOMS = (
    RoomInfo("plaza", RoomKind.PLAZA, "ひろば", "Plaza", DEFAULT_CAPACITY[RoomKind.PLAZA]),
    RoomInfo(
        "park-consultation",
        RoomKind.CONSULTATION,
        "中央公園再整備 意見交換会",
        "Central Park renewal: citizens' consultation",
        DEFAULT_CAPACITY[RoomKind.CONSULTATION],
    ),
    RoomInfo(
        "dx-committee",
        RoomKind.COMMITTEE,
        "デジタル推進委員会",
        "Digital Promotion Committee",
        DEFAULT_CAPACITY[RoomKind.COMMITTEE],
    ),
)

DEMO_NOTICES: tuple[tuple[str, str, str, str], ...] = (
    (
        "plaza",
        "b1",
        "ようこそ、ひろばへ",
        "どなたでも自由に歩いて、掲示板をご覧ください。会議室へは入口の一覧から入れます。",
    ),
    (
        "plaza",
        "b2",
        "今週の催し",
        "木曜 19時 中央公園再整備の意見交換会 / 金曜 14時 デジタル推進委員会(公開)",
    ),
    (
        "plaza",
        "b3",
        "Welcome to the Plaza",
        "Walk around freely. Meetings open from the room list on the entrance screen.",
    ),
    (
        "park-consultation",
        "b1",
        "意見交換会の進め方",
        "市の説明(15分)のあと、挙手された方から順にご発言いただきます。",
    ),
    (
        "park-consultation",
        "b2",
        "資料: 再整備の基本方針",
        "遊具の更新、夜間照明、バリアフリー動線、樹木の保全について。",
    ),
    (
        "dx-committee",
        "b1",
        "本日の議事",
        "1. 開会 2. 行政手続オンライン化の進捗 3. デジタルデバイド対策 4. 閉会",
    ),
    (
        "dx-committee",
        "b2",
        "傍聴の皆様へ",
        "会議は公開です。発言は委員のみとなります。ご意見は意見交換会でお寄せください。",
    ),
)


async def seed_demo(store: Store) -> bool:
    """Create the demo once; later starts (and restarts after edits) leave data alone."""
    if await store.get_meta(SEEDED_KEY) is not None:
        return False
    existing = {room.id for room in await store.list_rooms()}
    for info in DEMO_ROOMS:
        if info.id not in existing:
            await store.add_room(info)
    for room_id, board, title, body in DEMO_NOTICES:
        if room_id not in existing:
            await store.add_notice(room_id, board, title, body)
    await store.set_meta(SEEDED_KEY, "1")
    log.info("seeded the demo rooms")
    return True
