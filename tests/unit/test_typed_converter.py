"""The one converter keyed by real types (server/config/typed.py), as the settings and the
stored records use it: lenient for what people type, strict for what the store wrote."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from server.config.settings import Settings, resolve_settings
from server.config.typed import Shape, convert, shape
from server.storage.records import from_json, to_json

STRICT = {int: int, str: str}


def test_shapes_come_from_real_types_not_annotation_strings() -> None:
    assert shape(float | None, {float: float}) == Shape("optional", (float,))
    assert shape(tuple[int, ...], {int: int}) == Shape("list", (int,))
    assert shape(tuple[int, str], STRICT) == Shape("tuple", (int, str))
    assert shape(int, STRICT) == Shape("scalar", (int,))
    for unknown in (dict[str, int], int | str | None, list[int], "int"):
        with pytest.raises(TypeError, match="no converter"):
            convert(unknown, 1, STRICT, lenient=False)


def test_lenient_reads_what_people_type() -> None:
    def to_int(raw: object) -> int:
        return int(str(raw).strip())

    scalars = {int: to_int}
    assert convert(tuple[int, ...], " 1, 2,, 3 ", scalars, lenient=True) == (1, 2, 3)
    assert convert(int | None, "", scalars, lenient=True) is None
    assert convert(tuple[int, int], ["4", " 5"], scalars, lenient=True) == (4, 5)


def test_strict_takes_only_json_shapes() -> None:
    with pytest.raises(TypeError):
        convert(tuple[int, ...], "1,2", {int: int}, lenient=False)
    with pytest.raises(ValueError):
        convert(tuple[int, int], [1, 2, 3], {int: int}, lenient=False)
    assert convert(tuple[int, ...], [1, 2], {int: int}, lenient=False) == (1, 2)


@dataclass(frozen=True)
class Sample:
    name: str
    count: int
    ratio: float
    flag: bool
    note: str | None
    pair: tuple[int, str]
    items: tuple[tuple[str, float], ...] = ()


def test_records_round_trip_and_refuse_wrong_json_types() -> None:
    record = Sample("委員会", 3, 0.5, True, None, (1, "a"), (("x", 1.5), ("y", 2.0)))
    assert from_json(Sample, to_json(record)) == record
    good = '{"name":"n","count":1,"ratio":1,"flag":false,"note":"t","pair":[2,"b"]}'
    assert from_json(Sample, good) == Sample("n", 1, 1.0, False, "t", (2, "b"))
    for bad in (
        good.replace('"count":1', '"count":"1"'),   # text is not an int in a record
        good.replace('"count":1', '"count":true'),  # nor is a bool
        good.replace('"ratio":1', '"ratio":"1"'),
        good.replace('"flag":false', '"flag":0'),
        good.replace('"pair":[2,"b"]', '"pair":[2]'),
    ):
        with pytest.raises((TypeError, ValueError)):
            from_json(Sample, bad)


def test_settings_read_text_through_the_same_converter(tmp_path: Path) -> None:
    cfg = tmp_path / "hiroba.toml"
    cfg.write_text('allowed_origins = [" https://a.example ", ""]\n')
    resolved = resolve_settings({"HIROBA_PORT": " 9000 "}, None, cfg)
    assert resolved.settings.port == 9000
    assert resolved.settings.allowed_origins == ("https://a.example",)
    assert isinstance(resolved.settings, Settings)
