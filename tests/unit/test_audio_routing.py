"""Who hears whom in the plaza, and sticky slots: pure routing decisions."""

from __future__ import annotations

import pytest

from server.audio.plane import AudioSettings
from server.audio.routing import assign_slots, nearest_loudest


def test_nearest_loudest_caps_and_radius() -> None:
    listeners = {"me": (0.0, 0.0), "you": (50.0, 0.0)}
    speakers = {"a": (1.0, 0.0), "b": (0.0, 2.0), "c": (3.0, 3.0), "far": (20.0, 0.0)}
    levels = {"a": -30.0, "b": -20.0, "c": -40.0, "far": -5.0}
    got = nearest_loudest(listeners, speakers, levels, radius=10.0, n=2)
    assert got == {"me": ["b", "a"], "you": []}


def test_nobody_hears_themselves_and_ties_break_by_distance() -> None:
    speakers = {"me": (0.0, 0.0), "x": (5.0, 0.0), "y": (1.0, 0.0)}
    got = nearest_loudest({"me": (0.0, 0.0)}, speakers, {}, radius=10.0, n=3)
    assert got == {"me": ["y", "x"]}


def test_radius_is_inclusive_and_empty_inputs() -> None:
    assert nearest_loudest({"l": (0.0, 0.0)}, {"s": (3.0, 4.0)}, {}, 5.0, 1) == {"l": ["s"]}
    assert nearest_loudest({"l": (0.0, 0.0)}, {}, {}, 5.0, 1) == {"l": []}
    assert nearest_loudest({}, {"s": (0.0, 0.0)}, {}, 5.0, 1) == {}


def test_many_listeners_at_once() -> None:
    listeners = {f"l{i}": (float(i), 0.0) for i in range(500)}
    speakers = {f"s{j}": (float(j * 50), 0.0) for j in range(10)}
    got = nearest_loudest(listeners, speakers, {}, radius=12.0, n=3)
    assert got["l0"] == ["s0"] and got["l49"] == ["s1"] and got["l30"] == []


def test_slots_are_sticky() -> None:
    assert assign_slots({}, ["a", "b"], 3) == {"a": 0, "b": 1}
    # a leaves, c arrives: b keeps slot 1, c takes the free slot 0
    assert assign_slots({"a": 0, "b": 1}, ["c", "b"], 3) == {"b": 1, "c": 0}
    # more wanted than slots: priority order decides, sitting speakers keep theirs
    assert assign_slots({"b": 2}, ["a", "b", "c", "d"], 3) == {"b": 2, "a": 0, "c": 1}
    assert assign_slots({"a": 0}, [], 3) == {}


def test_settings_are_checked() -> None:
    AudioSettings()
    with pytest.raises(ValueError):
        AudioSettings(speech_bitrate=96_000)
    with pytest.raises(ValueError):
        AudioSettings(slots=2, proximity_n=3)
