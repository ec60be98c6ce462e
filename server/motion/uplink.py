"""What every motion transport does with a client's incoming messages.

One reader per connected client: uplinks beyond the tick rate (with jitter) are dropped
unread; the others are handed to the plane raw (:meth:`MotionPlane.offer`: the latest per
client, checked and applied in the next tick's batch). Malformed ones are counted, on
arrival (a wrong length) or when the tick's batch finds them (the plane tells the reader
through :meth:`UplinkReader.rejected`), not answered (answering each bad uplink would let a
flood double itself), and after :data:`MAX_BAD_UPLINKS` malformed ones, or a flood far over
the rate (:data:`MAX_FLOOD_UPLINKS`), the transport is told to close.
"""

from __future__ import annotations

import enum
import time

from moderation.rate_limit import TokenBucket
from rooms.errors import HirobaError
from server.motion.plane import MotionPlane

#: Malformed uplinks tolerated before the transport is closed.
MAX_BAD_UPLINKS = 50
#: Uplinks over the rate limit tolerated (with one tick's worth forgiven each tick) before
#: the transport is closed as flooding: a network stall delivers a few seconds of queued
#: uplinks at once, a flood thousands a second, and each still costs the server its
#: receive path (an aiortc data-channel message ~150 us) even when dropped unread.
MAX_FLOOD_UPLINKS = 200


class Verdict(enum.Enum):
    OK = "ok"
    CLOSE_BAD_INPUT = "bad_input"  # too many malformed messages, or a flood
    GONE = "gone"  # the participant left the room: this transport is done


class UplinkReader:
    """Feeds one client's messages into the plane."""

    def __init__(self, plane: MotionPlane, room_id: str, pid: str, tick_hz: float) -> None:
        self.plane = plane
        self.room_id = room_id
        self.pid = pid
        self.bucket = TokenBucket(rate=tick_hz * 1.5, burst=tick_hz * 2)
        self.bad = 0
        self.flood = TokenBucket(rate=tick_hz, burst=MAX_FLOOD_UPLINKS)

    def rejected(self) -> None:
        """The tick's batch found one of this client's uplinks malformed."""
        self.bad += 1

    def feed(self, data: object) -> Verdict:
        now = time.monotonic()
        if not isinstance(data, bytes | bytearray):
            self.bad += 1
        elif self.bucket.allow(now):
            try:
                self.plane.offer(self.room_id, self.pid, bytes(data), self)
            except HirobaError:
                self.bad += 1
            except KeyError:
                return Verdict.GONE
        elif not self.flood.allow(now):
            return Verdict.CLOSE_BAD_INPUT
        return Verdict.CLOSE_BAD_INPUT if self.bad > MAX_BAD_UPLINKS else Verdict.OK
