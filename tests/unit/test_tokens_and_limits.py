from __future__ import annotations

import pytest

from moderation.rate_limit import TokenBucket
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
