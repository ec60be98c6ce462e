"""A strict little reader of the Prometheus text format (0.0.4), for checking /metrics.

It accepts only what the format allows and what our exposition promises: every sample
line is ``name{labels} value``, every sample's family has a HELP and a TYPE line
before it, and every histogram is whole: cumulative buckets that never decrease, ending
with ``le="+Inf"``, which equals its ``_count``, beside a ``_sum``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_KINDS = {"counter", "gauge", "summary", "histogram", "untyped"}

Labels = frozenset[tuple[str, str]]


@dataclass
class Exposition:
    """HELP and TYPE by family name; samples as ``(name, labels) → value``."""

    help: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    samples: dict[tuple[str, Labels], float] = field(default_factory=dict)

    def value(self, name: str, **labels: str) -> float:
        return self.samples[(name, frozenset(labels.items()))]

    def total(self, name: str, **labels: str) -> float:
        """The sum over every sample of ``name`` whose labels include ``labels``."""
        want = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and want <= ls)

    def label_values(self, name: str, label: str) -> set[str]:
        return {v for (n, ls), _ in self.samples.items() if n == name for k, v in ls if k == label}

    def buckets(self, name: str, **labels: str) -> list[tuple[float, float]]:
        """``(le, cumulative count)`` of histogram ``name``'s buckets, in ``le`` order."""
        want = set(labels.items())
        found = [(float(dict(ls)["le"]), v) for (n, ls), v in self.samples.items()
                 if n == name + "_bucket" and want == ls - {("le", dict(ls)["le"])}]
        return sorted(found)


def parse_labels(text: str) -> Labels:
    """``a="x",b="y"`` → labels, unescaped; AssertionError if malformed."""
    found: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        assert m, f"bad labels at {text[pos:]!r}"
        value = re.sub(r'\\[\\"n]', lambda e: _UNESCAPE[e.group(0)], m.group(2))
        found.append((m.group(1), value))
        pos = m.end()
        if pos < len(text):
            assert text[pos] == ",", f"bad labels at {text[pos:]!r}"
            pos += 1
    names = [k for k, _ in found]
    assert len(names) == len(set(names)), f"repeated label in {text!r}"
    return frozenset(found)


def _family_of(name: str, types: dict[str, str]) -> str:
    for suffix in ("_sum", "_count", "_bucket"):
        base = name.removesuffix(suffix)
        if base != name and types.get(base) in ("summary", "histogram"):
            return base
    return name


def parse(body: str) -> Exposition:
    """Parse an exposition; AssertionError on anything outside the format."""
    out = Exposition()
    assert body.endswith("\n"), "the exposition must end with a newline"
    for line in body.splitlines():
        if not line:
            continue
        if line.startswith("# HELP "):
            name, _, text = line[7:].partition(" ")
            assert re.fullmatch(_NAME, name) and name not in out.help, line
            out.help[name] = text
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert re.fullmatch(_NAME, name) and name not in out.types, line
            assert kind in _KINDS, line
            out.types[name] = kind
        elif line.startswith("#"):
            continue
        else:
            m = _SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            name, labels, value = m.group(1), parse_labels(m.group(2) or ""), m.group(3)
            family = _family_of(name, out.types)
            assert family in out.help and family in out.types, f"no HELP/TYPE before {line!r}"
            key = (name, labels)
            assert key not in out.samples, f"repeated sample {line!r}"
            out.samples[key] = float(value)  # also accepts NaN, +Inf, -Inf
    for name, kind in out.types.items():
        if kind == "histogram":
            _check_histogram(out, name)
    return out


def _check_histogram(out: Exposition, name: str) -> None:
    series = {ls - {kv for kv in ls if kv[0] == "le"}
              for (n, ls) in out.samples if n == name + "_bucket"}
    assert series, f"histogram {name} has no buckets"
    for labels in series:
        buckets = out.buckets(name, **dict(labels))
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), f"{name}: buckets decrease: {buckets}"
        assert buckets[-1][0] == float("inf"), f"{name}: no le=\"+Inf\" bucket"
        assert out.samples.get((name + "_count", labels)) == counts[-1], f"{name}: +Inf != _count"
        assert (name + "_sum", labels) in out.samples, f"{name}: no _sum"
