"""The speaker queue and floor state machine."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from moderation.floor import (
    AutoMuted,
    EndCause,
    Floor,
    FloorEnded,
    FloorExpired,
    FloorGiven,
    FloorState,
    HandLowered,
    HandRaised,
    LowerCause,
)
from rooms.errors import HirobaError, Reason


def types(events: list) -> list[type]:
    return [type(e) for e in events]


def test_queue_order_and_positions() -> None:
    floor = Floor("r")
    for i, pid in enumerate(("a", "b", "c")):
        (event,) = floor.raise_hand(pid, now=float(i))
        assert isinstance(event, HandRaised) and event.position == i + 1
    assert floor.queue == ("a", "b", "c")
    floor.lower_hand("b", now=5)
    assert [floor.position(p) for p in ("a", "b", "c")] == [1, None, 2]
    with pytest.raises(HirobaError) as err:
        floor.raise_hand("a", now=6)
    assert err.value.reason is Reason.DUPLICATE
    with pytest.raises(HirobaError) as err:
        floor.lower_hand("zz", now=6)
    assert err.value.reason is Reason.WRONG_STATE


def test_give_next_revoke_and_speaking_time() -> None:
    floor = Floor("r", grace=10)
    floor.raise_hand("a", 0)
    floor.raise_hand("b", 1)
    events = floor.next(10, limit=60, by="chair")
    assert types(events) == [HandLowered, FloorGiven]
    assert events[0].cause is LowerCause.GIVEN_FLOOR
    assert (floor.state, floor.holder, floor.queue) == (FloorState.SPEAKING, "a", ("b",))
    assert floor.remaining(40) == 30
    with pytest.raises(HirobaError) as err:
        floor.give("b", 20, limit=60)
    assert err.value.reason is Reason.WRONG_STATE and "speaking" in err.value.message
    events = floor.next(40, limit=60)
    assert types(events) == [FloorEnded, HandLowered, FloorGiven]
    assert events[0].spoken == 30 and events[0].cause is EndCause.NEXT
    (ended,) = floor.revoke(50, by="chair")
    assert (ended.pid, ended.spoken, ended.cause) == ("b", 10, EndCause.REVOKED)
    assert floor.state is FloorState.OPEN and floor.speaking_times() == {"a": 30, "b": 10}
    floor.give("a", 100, limit=None)  # to someone not waiting, without a limit
    assert floor.remaining(1000) is None and floor.tick(10_000) == []
    (ended,) = floor.revoke(130)
    assert ended.total == 60 and floor.spoken("a") == 60
    with pytest.raises(HirobaError) as err:
        floor.next(200, limit=60)
    assert "nobody is waiting" in err.value.message and "open" in err.value.message


def test_expiry_grace_and_auto_mute_at_the_right_times() -> None:
    floor = Floor("r", grace=10)
    floor.give("a", 0, limit=30)
    assert floor.tick(29.9) == []
    (expired,) = floor.tick(30.0)
    assert isinstance(expired, FloorExpired) and expired.at == 30 and expired.grace_ends_at == 40
    assert floor.state is FloorState.OVERTIME and floor.remaining(35) == 0
    assert floor.tick(39) == []
    ended, muted = floor.tick(40.5)
    assert isinstance(ended, FloorEnded) and ended.cause is EndCause.TIMED_OUT
    assert ended.spoken == 40 and ended.at == 40  # capped at the grace end, not the tick
    assert isinstance(muted, AutoMuted) and muted.pid == "a" and muted.at == 40
    assert floor.state is FloorState.OPEN and floor.holder is None


def test_late_tick_gives_both_transitions_and_revoke_is_capped() -> None:
    floor = Floor("r", grace=5)
    floor.give("a", 0, limit=10)
    assert types(floor.tick(100)) == [FloorExpired, FloorEnded, AutoMuted]
    floor.give("b", 200, limit=10)
    (ended,) = floor.revoke(500)  # nobody ticked: still counts only up to the grace end
    assert ended.spoken == 15


def test_extend_time() -> None:
    floor = Floor("r", grace=10)
    floor.give("a", 0, limit=30)
    (event,) = floor.extend(60, 10)
    assert event.deadline == 90
    floor.tick(95)
    assert floor.state is FloorState.OVERTIME
    (event,) = floor.extend(30, 95)  # in overtime: from now
    assert event.deadline == 125 and floor.state is FloorState.SPEAKING
    floor.revoke(100)
    with pytest.raises(HirobaError):
        floor.extend(30, 101)
    floor.give("a", 200, limit=None)
    with pytest.raises(HirobaError) as err:
        floor.extend(30, 201)
    assert "no time limit" in err.value.message


def test_leaving_clears_queue_and_floor() -> None:
    floor = Floor("r")
    floor.raise_hand("a", 0)
    floor.give("b", 0, limit=30)
    assert types(floor.leave("a", 1)) == [HandLowered]
    events = floor.leave("b", 2, sanctioned=True)
    assert types(events) == [FloorEnded] and events[0].cause is EndCause.SANCTIONED
    assert floor.leave("c", 3) == []


def test_speaker_cannot_raise_a_hand() -> None:
    floor = Floor("r")
    floor.give("a", 0, limit=30)
    with pytest.raises(HirobaError) as err:
        floor.raise_hand("a", 1)
    assert err.value.reason is Reason.WRONG_STATE and "held by a" in err.value.message


def test_record_round_trip() -> None:
    floor = Floor("r", grace=7)
    floor.raise_hand("a", 0)
    floor.raise_hand("b", 1)
    floor.give("c", 2, limit=30, by="chair")
    floor.tick(40)
    again = Floor.from_record(floor.to_record(), grace=7)
    assert again == floor
    assert again.to_record() == floor.to_record()


PEOPLE = st.sampled_from(["a", "b", "c", "d", "e"])


class FloorMachine(RuleBasedStateMachine):
    """Random sequences of operations keep the floor's invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.floor = Floor("r", grace=5)
        self.now = 0.0
        self.spoken_before = 0.0

    def _try(self, op) -> None:  # type: ignore[no-untyped-def]
        try:
            events = op()
        except HirobaError as exc:
            assert exc.reason in (Reason.WRONG_STATE, Reason.DUPLICATE), exc
            return
        for e in events:
            assert e.at <= self.now + 1e-9

    @rule(dt=st.floats(min_value=0, max_value=20))
    def wait(self, dt: float) -> None:
        self.now += dt
        self._try(lambda: self.floor.tick(self.now))

    @rule(pid=PEOPLE)
    def raise_hand(self, pid: str) -> None:
        self._try(lambda: self.floor.raise_hand(pid, self.now))

    @rule(pid=PEOPLE)
    def lower_hand(self, pid: str) -> None:
        self._try(lambda: self.floor.lower_hand(pid, self.now))

    @rule(pid=PEOPLE, limit=st.one_of(st.none(), st.floats(min_value=5, max_value=60)))
    def give(self, pid: str, limit: float | None) -> None:
        self._try(lambda: self.floor.give(pid, self.now, limit))

    @rule(limit=st.floats(min_value=5, max_value=60))
    def next(self, limit: float) -> None:
        self._try(lambda: self.floor.next(self.now, limit))

    @rule()
    def revoke(self) -> None:
        self._try(lambda: self.floor.revoke(self.now))

    @rule(seconds=st.floats(min_value=1, max_value=60))
    def extend(self, seconds: float) -> None:
        self._try(lambda: self.floor.extend(seconds, self.now))

    @rule(pid=PEOPLE)
    def leave(self, pid: str) -> None:
        self._try(lambda: self.floor.leave(pid, self.now))

    @rule()
    def restart(self) -> None:
        self.floor = Floor.from_record(self.floor.to_record(), grace=5)

    @invariant()
    def holder_is_not_waiting(self) -> None:
        assert self.floor.holder not in self.floor.queue

    @invariant()
    def positions_are_one_to_n(self) -> None:
        positions = [self.floor.position(p) for p in self.floor.queue]
        assert positions == list(range(1, len(self.floor.queue) + 1))
        assert len(set(self.floor.queue)) == len(self.floor.queue)

    @invariant()
    def state_matches_holder(self) -> None:
        assert (self.floor.state is FloorState.OPEN) == (self.floor.holder is None)
        turn = self.floor.turn
        if self.floor.state is FloorState.OVERTIME:
            assert turn is not None and turn.deadline is not None

    @invariant()
    def speaking_time_grows_and_fits_in_elapsed_time(self) -> None:
        total = sum(self.floor.speaking_times().values())
        assert self.spoken_before - 1e-6 <= total <= self.now + 1e-6
        self.spoken_before = total


FloorMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40,
                                          deadline=None)
TestFloorMachine = FloorMachine.TestCase
