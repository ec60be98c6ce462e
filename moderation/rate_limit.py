"""Token-bucket rate limiting, pure: the caller passes the time in."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    """Allows ``rate`` events per second on average and bursts of up to ``burst``."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def allow(self, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if there are enough; return whether the event may pass."""
        elapsed = max(0.0, now - self.updated)
        self.updated = now
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


@dataclass(slots=True)
class KeyedBuckets:
    """One :class:`TokenBucket` per key (a person), made on first use.

    A bucket that has refilled completely is the same as a new one, so such buckets are
    dropped now and then: memory stays bounded by the people active recently.
    """

    rate: float
    burst: float
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def allow(self, key: str, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` from ``key``'s bucket if it holds enough; whether the event passes."""
        if len(self._buckets) > _PRUNE_ABOVE:
            self.prune(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, updated=now)
        return bucket.allow(now, cost)

    def retry_after(self, key: str, now: float, cost: float = 1.0) -> float:
        """Seconds until ``key``'s bucket holds ``cost`` again (0: it does now)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        have = min(self.burst, bucket.tokens + max(0.0, now - bucket.updated) * self.rate)
        if have >= cost:
            return 0.0
        return (cost - have) / self.rate if self.rate > 0 else float("inf")

    def prune(self, now: float) -> None:
        refill = self.burst / self.rate if self.rate > 0 else float("inf")
        self._buckets = {
            k: b for k, b in self._buckets.items() if now - b.updated < refill
        }

    def __len__(self) -> int:
        return len(self._buckets)


_PRUNE_ABOVE = 1024


@dataclass(slots=True)
class MinuteCounts:
    """Events per key within the last minute (a sliding window), and in total since
    start: what a "surge per minute" display and alert read. Memory is the events of the
    last minute."""

    totals: dict[str, int] = field(default_factory=dict)
    _recent: dict[str, deque[float]] = field(default_factory=dict)
    _alerted: dict[str, float] = field(default_factory=dict)

    def add(self, key: str, now: float) -> int:
        """Count one event for ``key``; return how many it had within the last minute."""
        recent = self._recent.setdefault(key, deque())
        recent.append(now)
        self.totals[key] = self.totals.get(key, 0) + 1
        return self.current(key, now)

    def current(self, key: str, now: float) -> int:
        """Events of ``key`` within the minute before ``now``."""
        recent = self._recent.get(key)
        if recent is None:
            return 0
        while recent and recent[0] <= now - 60.0:
            recent.popleft()
        if not recent:
            del self._recent[key]
            return 0
        return len(recent)

    def burst(self, key: str, now: float, threshold: int) -> int:
        """The last minute's count if it reached ``threshold`` (0: never) and no burst of
        ``key`` was reported within the last minute, else 0: one report per burst."""
        n = self.current(key, now)
        if not threshold or n < threshold or now - self._alerted.get(key, -120.0) < 60.0:
            return 0
        self._alerted[key] = now
        return n


@dataclass(slots=True)
class ConnectionCounts:
    """Open connections per client address, refusing more than ``limit`` from one address
    (0: no limit). The caller decides which addresses are counted at all."""

    limit: int
    _address_of: dict[str, str] = field(default_factory=dict)
    _open: dict[str, int] = field(default_factory=dict)

    def open(self, key: str, address: str) -> bool:
        """Count connection ``key`` from ``address``; False (not counted) if it is over."""
        held = self._open.get(address, 0)
        if self.limit and held >= self.limit:
            return False
        self._address_of[key] = address
        self._open[address] = held + 1
        return True

    def close(self, key: str) -> None:
        """Connection ``key`` ended (unknown keys are ignored)."""
        address = self._address_of.pop(key, None)
        if address is None:
            return
        left = self._open[address] - 1
        if left:
            self._open[address] = left
        else:
            del self._open[address]

    def held(self, address: str) -> int:
        """How many connections ``address`` holds."""
        return self._open.get(address, 0)

    def __len__(self) -> int:
        return len(self._address_of)
