from __future__ import annotations

import pytest

from moderation.rate_limit import ConnectionCounts, TokenBucket
from moderation.tokens import issue_token, verify_token
from rooms.errors import HirobaError, Reason
from rooms.model import Role

SECRET = b"s" * 64


def test_token_round_trip() -> None:
    token = issue_token(SECRET, "dx-committee", Role.CHAIR, "委員長", now=1000, ttl_seconds=60)
    grant = verify_token(SECRET, token, "dx-committee", now=1010)
    assert (grant.role, grant.name, grant.room) == (Role.CHAIR, "委員長", "dx-committee")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: "x" + t,  # payload changed
        lambda t: t.replace(".", ""),  # no separator
        lambda t: t + ".more",  # too many parts
        lambda t: "!!!." + t.split(".")[1],  # not base64
    ],
)
def test_tampered_tokens_are_refused(mutate) -> None:
    token = issue_token(SECRET, "r", Role.MEMBER, None, now=0, ttl_seconds=60)
    with pytest.raises(HirobaError) as err:
        verify_token(SECRET, mutate(token), "r", now=1)
    assert err.value.reason is Reason.BAD_TOKEN


def test_token_from_another_secret_room_or_time_is_refused() -> None:
    token = issue_token(SECRET, "r", Role.MEMBER, None, now=0, ttl_seconds=60)
    for secret, room, now in ((b"other" * 10, "r", 1), (SECRET, "q", 1), (SECRET, "r", 60)):
        with pytest.raises(HirobaError) as err:
            verify_token(secret, token, room, now=now)
        assert err.value.reason is Reason.BAD_TOKEN


def test_token_bucket_allows_burst_then_rate() -> None:
    bucket = TokenBucket(rate=10, burst=5)
    assert [bucket.allow(0.0) for _ in range(6)] == [True] * 5 + [False]
    assert bucket.allow(0.1)  # one token back after 100 ms
    assert not bucket.allow(0.1)
    assert all(bucket.allow(10.0) for _ in range(5))


def test_connection_counts_per_address() -> None:
    counts = ConnectionCounts(limit=2)
    assert counts.open("s1", "198.51.100.7") and counts.open("s2", "198.51.100.7")
    assert not counts.open("s3", "198.51.100.7")  # over: not counted either
    assert counts.open("s4", "198.51.100.8")
    assert (counts.held("198.51.100.7"), counts.held("198.51.100.8"), len(counts)) == (2, 1, 3)
    counts.close("s3")  # never counted: no effect
    counts.close("s1")
    counts.close("s1")  # twice: no effect
    assert counts.held("198.51.100.7") == 1 and counts.open("s5", "198.51.100.7")
    for key in ("s2", "s4", "s5"):
        counts.close(key)
    assert len(counts) == 0 and counts.held("198.51.100.7") == 0
    assert counts._open == {}  # nothing kept for addresses that left
    unlimited = ConnectionCounts(limit=0)
    assert all(unlimited.open(f"s{i}", "203.0.113.1") for i in range(1000))
