"""Hypothesis strategies for socket.io payloads: junk of every JSON shape, and mutations
of a valid payload (the fuzz tests of tests/integration/test_fuzz_*.py)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

#: Field names the protocol uses (docs/protocol.md): junk dicts that use them reach the
#: parsers' type and range checks instead of stopping at "unknown field".
FIELDS = [
    "name", "room", "lang", "token", "avatar", "device", "code", "gallery", "staff", "x", "z",
    "h", "text", "message", "reason", "report", "target", "limit", "unlimited", "seconds",
    "title", "planned", "position", "item", "order", "duration", "sanction", "role", "ttl",
    "category", "opinion", "status", "source", "hidden", "question", "withdraw", "options",
    "multiple", "max_choices", "electorate", "poll", "choices", "seq", "mode", "sdp", "type",
    "on", "state", "pid", "slot",
]
#: Characters that broke parsers elsewhere: bidi overrides, zero-width, lone surrogates,
#: NUL, a combining mark, an astral character.
NASTY = ["\u202e", "\u200b", "\ud800", "\udfff", "\x00", "\u0301", "\U0001f600", "\n", "..",
         "%00", "<script>", "' OR 1=1 --", "=HYPERLINK()"]

strings = (
    st.text(max_size=40)
    | st.lists(st.sampled_from(NASTY), max_size=12).map("".join)
    | st.integers(0, 4000).map(lambda n: "x" * n)  # long, but under max_message_bytes
    | st.sampled_from(["", "plaza", "dx-committee", "ja", "offer", "answer", "v=0"])
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | strings
)
junk: st.SearchStrategy[Any] = st.recursive(
    scalars | st.binary(max_size=64),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=5),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """``valid`` with fields dropped, retyped, added or the whole thing wrapped."""
    out: dict[str, Any] = dict(valid)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["retype", "drop", "add", "wrap", "extreme"]))
        if how == "retype" and out:
            out[draw(st.sampled_from(sorted(out)))] = draw(junk)
        elif how == "drop" and out:
            del out[draw(st.sampled_from(sorted(out)))]
        elif how == "add":
            out[draw(st.sampled_from(FIELDS) | st.text(max_size=8))] = draw(junk)
        elif how == "extreme" and out:
            out[draw(st.sampled_from(sorted(out)))] = draw(st.sampled_from(
                [-1, 0, 2**31, 2**63, -(2**63), 1e308, -1e308, float("inf"), float("nan"),
                 "", [], {}, True]))
        elif how == "wrap":
            return draw(st.sampled_from([[out], [out, out], json.dumps(out, default=repr)]))
    return out


def payloads(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """What a fuzzing client sends for an event whose valid payload is ``valid``."""
    return st.one_of(junk, mutated(valid), st.just(valid))


def fits(payload: Any, limit: int) -> bool:
    """Whether ``payload`` stays under the server's socket message limit: a bigger one
    closes the socket by design (test_bad_input.py), which is not what is fuzzed here."""
    return len(json.dumps(payload, default=lambda b: "x" * len(b) * 2)) < limit
