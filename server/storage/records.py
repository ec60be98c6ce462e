"""Record dataclasses of ``moderation`` as JSON text, and back.

The meeting core keeps its state in frozen dataclasses (``FloorRecord``, ``ChatMessage``,
``SanctionRecord``...). The store keeps each as one JSON column; this module converts both
ways, driven by the dataclass field types through the one typed converter
(:mod:`server.config.typed`, which the settings use too), so that a new field in a record
needs no code here. Only the shapes the records use are supported: ``str``, ``int``,
``float``, ``bool``, ``X | None``, ``tuple[X, ...]`` and fixed tuples, nested.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from typing import Any, TypeVar, cast

from moderation.events import plain
from server.config.typed import Scalar, convert

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


def _strict_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def _strict_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _exactly(tp: type) -> Scalar:
    def check(value: object) -> object:
        if not isinstance(value, tp):
            raise TypeError(f"expected {tp.__name__}, got {value!r}")
        return value

    return check


#: JSON's own scalars only: a stored record is never text to be interpreted.
_SCALARS: dict[type, Scalar] = {
    float: _strict_float, int: _strict_int, str: _exactly(str), bool: _exactly(bool),
}


def from_dict(cls: type[R], data: object) -> R:
    """Build ``cls`` from parsed JSON; raises ``TypeError``/``KeyError`` on a bad shape."""
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__}: expected an object")
    hints = _hints(cast(Any, cls))
    kwargs: dict[str, object] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = convert(hints[f.name], data[f.name], _SCALARS, lenient=False)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise KeyError(f"{cls.__name__}: missing {f.name}")
    return cls(**kwargs)


def from_json(cls: type[R], text: str) -> R:
    """The record ``cls`` stored as ``text`` by :func:`to_json`."""
    return from_dict(cls, json.loads(text))


def from_json_nested(cls: type[R], text: str, nested: tuple[type, ...]) -> R:
    """Like :func:`from_json` for a record that holds other record dataclasses (each
    listed in ``nested``) inside its fields, tuples and optionals."""
    scalars: dict[type, Scalar] = dict(_SCALARS)

    def build(kind: type) -> Scalar:
        def one(value: object) -> object:
            if not isinstance(value, dict):
                raise TypeError(f"{kind.__name__}: expected an object")
            return _build(kind, value)

        return one

    def _build(kind: type, data: dict[str, object]) -> object:
        hints = _hints(cast(Any, kind))
        kwargs: dict[str, object] = {}
        for f in dataclasses.fields(kind):
            if f.name in data:
                kwargs[f.name] = convert(hints[f.name], data[f.name], scalars, lenient=False)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise KeyError(f"{kind.__name__}: missing {f.name}")
        return kind(**kwargs)

    for kind in nested:
        scalars[kind] = build(kind)
    body = json.loads(text)
    if not isinstance(body, dict):
        raise TypeError(f"{cls.__name__}: expected an object")
    return cast(R, _build(cls, body))
