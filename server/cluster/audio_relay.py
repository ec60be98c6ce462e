"""Floor and plaza voices across cluster nodes: every node's uplink packets, batched.

Each node receives the microphones of its own sockets. Every 20 ms (one Opus frame) it
publishes the packets its uplinks received since the last batch in one message on
``hiroba:audio:packets``; every other node hands them to its audio plane, which forwards
them to its own listeners by the same routing as local ones (floor speakers from the
leader, proximity ranking from the level each packet carries) and, on the leader, to the
recorder. Nothing is decoded on the way.

Batch: ``u8 node length, node``, then repeated ``u8 room length, room, u8 pid length,
pid, u32 RTP timestamp, f32 level (dBov), u8 loud, u16 payload length, payload``.

:class:`AudioRelay` runs this on a node, and carries the leader's word to the others: the
floor speakers (:class:`~server.cluster.messages.Speakers`), the microphones to close
(:class:`~server.cluster.messages.AudioClose`) and who is held out of a closed session
(:class:`~server.cluster.messages.Withheld`: an edge's listeners held out hear nobody, as
on the leader). An edge also takes the held-out set of a room from every grant the leader
answers (the grant's ``withheld``), so a listener opened on it during a closed session, or
granted again after a change of leader, is held out from its first packet.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from rooms.errors import Reason, ValidationError
from server.audio.api import AudioApi, ClusterAudioHooks
from server.cluster.bus import RedisBus, channel
from server.cluster.messages import AudioClose, Speakers, Withheld, encode
from server.cluster.wire import put_short, take_short
from server.common.periodic import Periodic
from server.motion.plane import MotionPlane
from server.sockets.hub import Session

PACKETS_CHANNEL = channel("audio", "packets")
#: The leader's floor speakers, to every node.
CONTROL_CHANNEL = channel("audio", "ctl")

_ENTRY = struct.Struct("!IfBH")
#: The batch period: one 20 ms Opus frame.
BATCH_SECONDS = 0.02
#: Least time between two held-out announcements of one room: the first change (the session
#: closing or reopening) goes at once, later ones within this time (gallery joins while it
#: is closed, each growing the set) go together at its end. A joiner's own listener needs
#: none of them: its grant carries the set.
WITHHELD_EVERY = 0.1

Packet = tuple[str, str, bytes, int, float, bool]


def encode_packets(node: str, packets: list[Packet]) -> bytes:
    out = bytearray()
    put_short(out, node)
    for room, pid, payload, ts, level, loud in packets:
        put_short(out, room)
        put_short(out, pid)
        out += _ENTRY.pack(ts & 0xFFFFFFFF, level, 1 if loud else 0, len(payload)) + payload
    return bytes(out)


def decode_packets(data: bytes) -> tuple[str, list[Packet]]:
    try:
        node, at = take_short(data, 0)
        out: list[Packet] = []
        while at < len(data):
            room, at = take_short(data, at)
            pid, at = take_short(data, at)
            ts, level, loud, size = _ENTRY.unpack_from(data, at)
            at += _ENTRY.size
            out.append((room, pid, data[at : at + size], ts, level, bool(loud)))
            at += size
        return node, out
    except (IndexError, UnicodeDecodeError, struct.error) as exc:
        raise ValidationError(Reason.BAD_PAYLOAD, "malformed audio batch") from exc


class AudioRelay:
    """This node's side of the audio plane across nodes."""

    def __init__(
        self,
        name: str,
        audio: AudioApi | None,
        motion: MotionPlane,
        bus: RedisBus,
        is_leader: Callable[[], bool],
        grant: Callable[[Session, str], Awaitable[dict[str, Any]]],
        node_of: Callable[[str], str | None],
        spawn: Callable[[Awaitable[Any]], None],
    ) -> None:
        """``audio``: this node's audio side (None: nothing to relay); ``motion``: the
        plane whose replica gives an edge the plaza's positions; ``is_leader()``: whether
        this node leads now; ``grant``: asks the
        leader for an audio operation; ``node_of(sid)``: the node holding another node's
        socket (leader)."""
        self.name = name
        self.audio = audio
        self.motion = motion
        self.bus = bus
        self._is_leader = is_leader
        self._grant = grant
        self._node_of = node_of
        self._spawn = spawn
        self._packets: list[Packet] = []
        #: Leader: who is held out of each room's closed session now (for the grants).
        self.withheld: dict[str, frozenset[str]] = {}
        self._withheld_sent: dict[str, float] = {}
        self._withheld_due: dict[str, asyncio.TimerHandle] = {}
        self._flush = Periodic("audio-relay", 1 / BATCH_SECONDS, self._flush_packets)

    def start(self) -> None:
        self.bind()
        self._flush.start()

    async def stop(self) -> None:
        for handle in self._withheld_due.values():
            handle.cancel()
        self._withheld_due.clear()
        await self._flush.stop()

    def bind(self) -> None:
        """Point the audio side at the cluster: the leader decides and tells; an edge asks
        the leader and follows its word (again after this node became the leader)."""
        audio = self.audio
        if audio is None:
            return
        if self._is_leader():
            audio.use_cluster(ClusterAudioHooks(
                relay=self._relay_packet,
                speakers_changed=self._publish_speakers,
                remote_gone=self._audio_gone,
                emit_active=True,
            ))  # fmt: skip
        else:
            audio.use_cluster(ClusterAudioHooks(
                relay=self._relay_packet,
                grant=self._granted,
                positions_of=self._replica_positions,
                emit_active=False,
            ))  # fmt: skip

    def _replica_positions(self, room_id: str) -> dict[str, tuple[float, float]]:
        room = self.motion.rooms.get(room_id)
        if room is None:
            return {}
        xz = room.table.xz
        return {pid: (float(xz[row, 0]), float(xz[row, 1])) for row, pid in room.pids.items()}

    def _publish_speakers(self, room: str, ids: list[str]) -> None:
        self._spawn(self.bus.publish(CONTROL_CHANNEL, encode(Speakers(room, tuple(ids)))))

    async def _granted(self, session: Session, op: str) -> dict[str, Any]:
        """Edge: the leader's grant, whose ``withheld`` (the room's held-out listeners
        now) this node's plane takes before the peer is made."""
        answer = await self._grant(session, op)
        held = answer.get("withheld")
        if self.audio is not None and isinstance(held, list) and isinstance(
                answer.get("room"), str):
            self.audio.plane.set_withheld(str(answer["room"]), frozenset(map(str, held)))
        return answer

    def withheld_changed(self, room: str, pids: frozenset[str]) -> None:
        """Leader: ``pids`` are held out of ``room``'s closed session now (empty: it
        reopened); every other node is told (the listener of ClosedSessions)."""
        if not self._is_leader():
            return
        if pids:
            self.withheld[room] = pids
        else:
            self.withheld.pop(room, None)
        if room in self._withheld_due:
            return  # announced at the end of the pause, as it then is
        loop = asyncio.get_running_loop()
        wait = self._withheld_sent.get(room, float("-inf")) + WITHHELD_EVERY - loop.time()
        if wait <= 0:
            self._announce_withheld(room)
        else:
            self._withheld_due[room] = loop.call_later(wait, self._announce_withheld, room)

    def _announce_withheld(self, room: str) -> None:
        self._withheld_due.pop(room, None)
        if not self._is_leader():
            return  # no longer this node's word to give
        self._withheld_sent[room] = asyncio.get_running_loop().time()
        held = tuple(sorted(self.withheld.get(room, ())))
        self._spawn(self.bus.publish(CONTROL_CHANNEL, encode(Withheld(room, held))))

    def withheld_in(self, room: str) -> list[str]:
        """Leader: who is held out of ``room`` now (the grants carry it)."""
        return sorted(self.withheld.get(room, ()))

    async def on_withheld(self, message: Withheld) -> None:
        """Edge: who the leader holds out of a room's closed session; this node's
        listeners among them hear nobody from now on."""
        if not self._is_leader() and self.audio is not None:
            self.audio.plane.set_withheld(message.room, frozenset(message.ids))

    async def on_speakers(self, message: Speakers) -> None:
        """Edge: the leader's floor speakers of a room."""
        if not self._is_leader() and self.audio is not None:
            self.audio.apply_speakers(message.room, list(message.ids))

    def _audio_gone(self, pid: str, sid: str, what: str) -> None:
        node = self._node_of(sid)
        if node is not None:
            self._spawn(self.bus.publish(channel("ctl", node), encode(AudioClose(pid, what))))

    async def on_close(self, message: AudioClose) -> None:
        """The leader closed a microphone (or every peer) this node holds."""
        if self.audio is not None:
            self._spawn(self.audio.drop(message.pid, message.what))

    def _relay_packet(
        self, room: str, pid: str, payload: bytes, ts: int, level: float, loud: bool
    ) -> None:
        self._packets.append((room, pid, payload, ts, level, loud))

    async def _flush_packets(self) -> None:
        if not self._packets:
            return
        batch, self._packets = self._packets, []
        if self.bus.connected:
            await self.bus.publish(PACKETS_CHANNEL, encode_packets(self.name, batch))

    def apply_packets(self, data: bytes) -> None:
        """Another node's packet batch (``ValidationError`` if malformed)."""
        if self.audio is None:
            return
        node, packets = decode_packets(data)
        if node == self.name:
            return
        plane = self.audio.plane
        for room, pid, payload, ts, level, loud in packets:
            plane.remote_packet(room, pid, payload, ts, level, loud)
