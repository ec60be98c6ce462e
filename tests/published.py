"""Helpers for tests of the recordings API and the archive: a short real recording in a
running server's folder and index, and publishing it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.clients.recording_media import opus_packets
from server.app import RECORDINGS_KEY
from server.recording.event_log import EventKind
from server.recording.ids import new_recording_id
from server.recording.recorder import Manifest, Recorder
from tests.conftest import Server
from tests.meetings import COMMITTEE

_PACKETS: list[bytes] = []


def _record_blocking(root: Path, title: str) -> Manifest:
    """One speaker's second of audio, a join line, a chat line and a moderation line
    (what the public must not read)."""
    if not _PACKETS:
        _PACKETS.extend(opus_packets(1.0))
    recording_id = new_recording_id()
    recorder = Recorder(root / recording_id, recording_id, COMMITTEE, title)
    recorder.start()
    recorder.feed_event(EventKind.JOIN, {"type": "meeting.present", "pid": "p-tanaka",
                                         "pid_name": "田中委員", "pid_role": "member"})
    for i, packet in enumerate(_PACKETS):
        recorder.feed_audio("p-tanaka", packet, i * 960)
    recorder.feed_event(EventKind.CHAT, {"type": "chat.posted", "text": "こんにちは"})
    recorder.feed_event(EventKind.MODERATION, {"type": "audit.entry", "action": "sanction.mute",
                                               "reason": "staff-only note"})
    return recorder.stop()


async def record(server: Server, title: str = "第3回DX推進委員会") -> str:
    """A stopped recording in the server's folder and index (unpublished); its id."""
    service = server.app[RECORDINGS_KEY]
    loop = asyncio.get_running_loop()
    manifest = await loop.run_in_executor(None, _record_blocking, service.root, title)
    await service.index.add(manifest, "jimu")
    await service.index.finish(manifest)
    return manifest.id


async def publish(server: Server, recording_id: str, published: bool = True) -> None:
    await server.app[RECORDINGS_KEY].index.set_published(recording_id, published, time.time())
