"""The Prometheus text rendering, label escaping and the /metrics allowlist."""

from __future__ import annotations

import math
from collections import deque

import pytest

from rooms.errors import HirobaError
from server.metrics import (
    Family,
    Sample,
    escape_help,
    escape_label,
    format_value,
    motion_families,
    process_families,
    render,
)
from server.motion.plane import MotionStats
from server.networks import allowed, parse_networks
from server.settings import load_settings
from tests.prometheus_text import parse, parse_labels


def test_label_values_are_escaped() -> None:
    assert escape_label('a\\b"c\nd') == 'a\\\\b\\"c\\nd'
    assert escape_label("広場") == "広場"
    assert escape_help('say "hi"\\\n') == 'say "hi"\\\\\\n'


@pytest.mark.parametrize("value", ["plain", 'quo"te', "back\\slash", "new\nline", '\\"\n\\n'])
def test_escaped_labels_read_back_unchanged(value: str) -> None:
    text = render([Family("x_total", "counter", "help", [Sample(1, (("room", value),))])])
    exposition = parse(text)
    assert exposition.value("x_total", room=value) == 1
    # A single sample line: no raw newline escaped into the output.
    assert len(text.splitlines()) == 3


def test_malformed_labels_are_caught_by_the_reader() -> None:
    with pytest.raises(AssertionError):
        parse_labels('room="a"b="c"')
    with pytest.raises(AssertionError):
        parse_labels('room="unterminated')


def test_values() -> None:
    assert format_value(3) == "3"
    assert format_value(2.0) == "2"
    assert format_value(0.25) == "0.25"
    assert format_value(math.nan) == "NaN"
    assert format_value(math.inf) == "+Inf"
    assert format_value(-math.inf) == "-Inf"


def test_render_has_help_and_type_before_samples() -> None:
    text = render([
        Family("a", "gauge", "first", [Sample(1), Sample(2, (("k", "v"),))]),
        Family("b_total", "counter", "second", [Sample(5)]),
    ])  # fmt: skip
    assert text.splitlines()[:3] == ["# HELP a first", "# TYPE a gauge", "a 1"]
    exposition = parse(text)
    assert exposition.types == {"a": "gauge", "b_total": "counter"}
    assert exposition.value("a", k="v") == 2


def test_motion_summary() -> None:
    stats = MotionStats(ticks=4, frames_sent=10, bytes_sent=700)
    stats.tick_seconds = deque([0.001, 0.002, 0.003, 0.010])
    stats.tick_seconds_sum = 0.016
    exposition = parse(render(motion_families(stats)))
    assert exposition.types["hiroba_motion_tick_seconds"] == "summary"
    assert exposition.value("hiroba_motion_tick_seconds", quantile="0.5") == pytest.approx(0.0025)
    assert exposition.value("hiroba_motion_tick_seconds_count") == 4
    assert exposition.value("hiroba_motion_tick_seconds_sum") == pytest.approx(0.016)
    assert exposition.value("hiroba_motion_bytes_sent_total") == 700


def test_empty_window_gives_nan_quantiles() -> None:
    exposition = parse(render(motion_families(MotionStats())))
    assert math.isnan(exposition.value("hiroba_motion_tick_seconds", quantile="0.99"))


def test_process_figures() -> None:
    exposition = parse(render(process_families()))
    assert exposition.value("process_resident_memory_bytes") > 1_000_000
    assert exposition.value("process_open_fds") >= 3
    assert process_families("/nonexistent") == []


def test_allowlist() -> None:
    loopback = parse_networks(["127.0.0.0/8", "::1/128"])
    assert allowed("127.0.0.1", loopback)
    assert allowed("::1", loopback)
    assert allowed("::ffff:127.0.0.1", loopback)  # dual-stack socket, IPv4 peer
    assert not allowed("192.168.1.20", loopback)
    assert not allowed("::ffff:192.168.1.20", loopback)
    assert not allowed(None, loopback)
    assert not allowed("not an address", loopback)
    assert allowed("10.1.2.3", parse_networks(["10.0.0.0/8"]))
    with pytest.raises(ValueError):
        parse_networks(["10.0.0.1/8"])  # host bits set: almost certainly a typo


def test_metrics_allow_setting() -> None:
    assert load_settings({}).metrics_allow == ("127.0.0.0/8", "::1/128")
    chosen = load_settings({"HIROBA_METRICS_ALLOW": "10.0.5.0/24, 192.168.1.7"})
    assert chosen.metrics_allow == ("10.0.5.0/24", "192.168.1.7")
    with pytest.raises(HirobaError, match="metrics_allow"):
        load_settings({"HIROBA_METRICS_ALLOW": "10.0.5.1/24"})
    with pytest.raises(HirobaError, match="metrics_allow"):
        load_settings({"HIROBA_METRICS_ALLOW": "intranet"})
