"""Record dataclasses of ``moderation`` as JSON text, and back.

The meeting core keeps its state in frozen dataclasses (``FloorRecord``, ``ChatMessage``,
``SanctionRecord``...). The store keeps each as one JSON column; this module converts both
ways, driven by the dataclass field types, so that a new field in a record needs no code
here. Only the shapes the records use are supported: ``str``, ``int``, ``float``,
``bool``, ``X | None``, ``tuple[X, ...]`` and fixed tuples, nested.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from typing import Any, TypeVar, Union, cast, get_args, get_origin

from moderation.events import plain

R = TypeVar("R")


def to_json(record: object) -> str:
    """Compact JSON of a record dataclass (enums as values, tuples as lists)."""
    body = plain(record)
    if isinstance(body, dict):
        body.pop("type", None)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(tp: Any, value: object) -> object:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in get_args(tp) if a is not type(None)]
        return _convert(inner, value)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list for {tp}, got {type(value).__name__}")
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v) for v in value)
        return tuple(_convert(a, v) for a, v in zip(args, value, strict=True))
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer, got {value!r}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise TypeError(f"expected {tp.__name__}, got {value!r}")
        return value
    raise TypeError(f"unsupported field type {tp}")


def from_dict(cls: type[R], data: object) -> R:
    """Build ``cls`` from parsed JSON; raises ``TypeError``/``KeyError`` on a bad shape."""
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__}: expected an object")
    hints = _hints(cast(Any, cls))
    kwargs: dict[str, object] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise KeyError(f"{cls.__name__}: missing {f.name}")
    return cls(**kwargs)


def from_json(cls: type[R], text: str) -> R:
    """The record ``cls`` stored as ``text`` by :func:`to_json`."""
    return from_dict(cls, json.loads(text))
