"""One converter keyed by real types, for the settings and the stored records.

A value arrives untyped (a flag's text, a TOML value, a JSON column) and must become the type
its dataclass field declares. The field's *real* type (``typing.get_type_hints``, never its
annotation string) is taken apart into a :class:`Shape`: ``X | None``, ``tuple[X, ...]``, a
fixed ``tuple[X, Y]``, or a scalar; scalars are converted by a table the caller supplies, so
the settings can read ``"8080"`` as a port while a stored record refuses ``"8080"`` for an
``int``. A type that neither the shapes nor the table know raises ``TypeError`` at once: a new
field of a type nobody taught the converter fails loudly instead of passing through as text.

(Incoming socket messages are validated field by field in each feature's ``messages.py``,
with limits — lengths, ranges, patterns — that a type alone does not carry.)
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: Converts one raw value to a scalar type, or raises ``TypeError``/``ValueError``.
Scalar = Callable[[object], object]

Kind = Literal["optional", "list", "tuple", "scalar"]


@dataclass(frozen=True)
class Shape:
    """A type taken apart: ``kind`` and the types inside it (one for ``optional``, ``list``
    and ``scalar``; one per position for a fixed ``tuple``)."""

    kind: Kind
    args: tuple[Any, ...]


def shape(tp: Any, scalars: Mapping[type, object]) -> Shape:
    """The shape of ``tp``; ``TypeError`` for a type outside the shapes and ``scalars``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and len(args) == 2:
            return Shape("optional", (inner[0],))
    elif origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return Shape("list", (args[0],))
        if args and Ellipsis not in args:
            return Shape("tuple", args)
    elif tp in scalars:
        return Shape("scalar", (tp,))
    raise TypeError(f"no converter for the type {tp!r}")


def convert(tp: Any, raw: object, scalars: Mapping[type, Scalar], *, lenient: bool) -> object:
    """``raw`` as a value of ``tp``; raises ``TypeError`` or ``ValueError`` when it is not one.

    ``lenient`` is for values people type (settings): ``""`` is nothing for ``X | None``, a
    text is a comma-separated list for ``tuple[X, ...]``, and list items are stripped, empty
    ones dropped. Without it (stored records) only the JSON shapes themselves are accepted.
    """
    found = shape(tp, scalars)
    if found.kind == "scalar":
        return scalars[found.args[0]](raw)
    if found.kind == "optional":
        if raw is None or (lenient and raw == ""):
            return None
        return convert(found.args[0], raw, scalars, lenient=lenient)
    if lenient and found.kind == "list" and isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list | tuple):
        raise TypeError(f"expected a list for {tp}, got {type(raw).__name__}")
    items: list[object] = list(raw)
    if lenient:
        items = [i.strip() if isinstance(i, str) else i for i in items]
        items = [i for i in items if i != ""]
    if found.kind == "list":
        return tuple(convert(found.args[0], i, scalars, lenient=lenient) for i in items)
    if len(items) != len(found.args):
        raise ValueError(f"expected {len(found.args)} items for {tp}, got {len(items)}")
    return tuple(
        convert(t, i, scalars, lenient=lenient) for t, i in zip(found.args, items, strict=True)
    )
