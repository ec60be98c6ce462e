"""The Prometheus text rendering, label escaping and the /metrics allowlist."""

from __future__ import annotations

import math
import time

import pytest

from rooms.errors import HirobaError
from server.common.histogram import TICK_SECONDS, Histogram
from server.common.networks import allowed, parse_networks
from server.config.settings import load_settings
from server.motion.plane import MotionStats
from server.observe.metrics import (
    Family,
    Sample,
    escape_help,
    escape_label,
    format_value,
    histogram_family,
    motion_families,
    process_collectors,
    process_families,
    render,
)
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


def test_histogram_buckets_are_cumulative_and_le_inclusive() -> None:
    h = Histogram((0.001, 0.01, 0.1))
    for value in (0.0005, 0.001, 0.002, 0.01, 0.5, 7.0):
        h.observe(value)
    # A value equal to a bound counts in that bound's bucket (le means <=).
    assert h.cumulative() == [(0.001, 2), (0.01, 4), (0.1, 4), (math.inf, 6)]
    assert h.count == 6 and h.sum == pytest.approx(7.5135)
    for bad in ((), (0.1, 0.1), (0.2, 0.1), (0.1, math.inf)):
        with pytest.raises(ValueError):
            Histogram(bad)


def test_motion_tick_histogram() -> None:
    stats = MotionStats(ticks=4, frames_sent=10, bytes_sent=700)
    for took in (0.001, 0.002, 0.003, 0.3):
        stats.tick_histogram.observe(took)
    exposition = parse(render(motion_families(stats)))
    assert exposition.types["hiroba_motion_tick_seconds"] == "histogram"
    buckets = dict(exposition.buckets("hiroba_motion_tick_seconds"))
    assert list(buckets) == [*TICK_SECONDS, math.inf]
    assert (buckets[0.001], buckets[0.002], buckets[0.005], buckets[0.25], buckets[0.5]) == (
        1, 2, 3, 3, 4)
    assert exposition.value("hiroba_motion_tick_seconds_bucket", le="+Inf") == 4
    assert exposition.value("hiroba_motion_tick_seconds_count") == 4
    assert exposition.value("hiroba_motion_tick_seconds_sum") == pytest.approx(0.306)
    assert exposition.value("hiroba_motion_bytes_sent_total") == 700


def test_histograms_of_two_nodes_add_up() -> None:
    """What makes a histogram the right type for a cluster: summing two nodes' buckets
    gives the buckets of all their observations together (quantiles would not)."""
    a, b, both = (Histogram(TICK_SECONDS) for _ in range(3))
    for value in (0.0004, 0.003, 0.04):
        a.observe(value)
        both.observe(value)
    for value in (0.002, 0.2, 0.9):
        b.observe(value)
        both.observe(value)
    ea, eb, eboth = (parse(render([histogram_family("x_seconds", "x", h)])) for h in (a, b, both))
    summed = [(le, na + nb) for (le, na), (_, nb) in zip(
        ea.buckets("x_seconds"), eb.buckets("x_seconds"), strict=True)]
    assert summed == eboth.buckets("x_seconds")


def test_no_observations_is_a_whole_histogram_of_zeros() -> None:
    exposition = parse(render(motion_families(MotionStats())))
    assert {n for _, n in exposition.buckets("hiroba_motion_tick_seconds")} == {0}
    assert exposition.value("hiroba_motion_tick_seconds_count") == 0


def test_process_figures_come_from_prometheus_client() -> None:
    exposition = parse(render(process_families(process_collectors())))
    assert exposition.types["process_cpu_seconds_total"] == "counter"
    assert exposition.value("process_cpu_seconds_total") > 0
    assert exposition.value("process_resident_memory_bytes") > 1_000_000
    assert exposition.value("process_open_fds") >= 3
    assert exposition.value("process_max_fds") >= exposition.value("process_open_fds")
    assert 0 < exposition.value("process_start_time_seconds") <= time.time()
    assert exposition.types["python_gc_collections_total"] == "counter"
    # Without procfs there are no process_* figures, and nothing breaks.
    elsewhere = parse(render(process_families(process_collectors("/nonexistent"))))
    assert not any(name.startswith("process_") for name in elsewhere.types)


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
