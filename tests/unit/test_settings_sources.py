"""Every setting: grouped, typed, converted by its real type from each input, its source
reported, and shown with its secrets masked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rooms.errors import HirobaError
from server.cli import main as cli
from server.config.settings import (
    GROUPS,
    MASK,
    SettingInfo,
    Source,
    _converter,
    resolve_settings,
    setting_info,
    shown_value,
)

INFOS = {info.name: info for info in setting_info()}

#: Values for the settings whose type alone cannot suggest a valid one. A new text or list
#: setting needs a line here (the round trip below says so).
EXPLICIT: dict[str, object] = {
    "host": "0.0.0.0",
    "model_url": "https://models.example.jp/face_landmarker.task",
    "redis_url": "redis://127.0.0.1:6390/2",
    "node_id": "node-a",
    "node_url": "http://127.0.0.1:9001",
    "allowed_origins": ("https://a.example.jp", "https://b.example.jp"),
    "metrics_allow": ("10.0.0.0/8", "::1/128"),
    "trusted_proxies": ("127.0.0.1/32",),
    "ng_word_files": ("/srv/ng/a.txt", "/srv/ng/b.txt"),
    "ice_servers": ("stun:127.0.0.1:3478",),
    "turn_urls": ("turn:turn.example.jp:3478?transport=udp",),
    "ice_host_addresses": ("127.0.0.1", "::1"),
    "staff_recheck_seconds": 2.5,  # at most 5 s (docs/security.md)
    "time_zone": "Europe/Berlin",  # the city's time zone (issue 12), when it lands
    "public_base_url": "https://hiroba.city.example.jp",
    "identity_max_publishers": 8,  # the default, 16, is the most a viewer's offer holds
    "gallery_frame_ms": 40,  # whole 20 ms Opus packets
}


def sample(info: SettingInfo) -> object:
    """A valid value other than the default (all samples together are valid too)."""
    if info.name in EXPLICIT:
        return EXPLICIT[info.name]
    if info.choices:
        return next(c for c in info.choices if c != info.default)
    _converter(info.type)  # raises TypeError for a type no converter handles
    if info.type is bool:
        return not info.default
    if info.type is int:
        return int(info.default) + 1  # type: ignore[call-overload]
    if info.type is float:
        return float(info.default) * 1.5 or 0.5  # type: ignore[arg-type]
    if info.type in (Path, Path | None):
        return Path(f"/srv/hiroba-sample/{info.name}")
    raise AssertionError(f"add a sample value for the setting {info.name} to EXPLICIT")


SAMPLES = {name: sample(info) for name, info in INFOS.items()}


def as_text(value: object) -> str:
    """The value as an environment variable or a flag carries it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def as_toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(as_toml(v) for v in value) + "]"
    return json.dumps(str(value))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """``cli._resolved`` reads ``os.environ``, as ``hiroba serve`` does: empty it of ours."""
    import os

    for key in list(os.environ):
        if key.startswith("HIROBA_"):
            monkeypatch.delenv(key)


def test_every_setting_has_a_group_and_a_typed_metavar() -> None:
    for info in setting_info():
        assert info.group in GROUPS, f"{info.name}: give it a group, e.g. _doc(..., 'network')"
        if info.type is not bool:
            assert info.metavar, info.name
            # argparse's own default (the upper-case field name, e.g. TICK_HZ) says nothing
            # about a unit; a one-word name (PORT) may be its own.
            assert info.metavar != "VALUE", info.name
            assert "_" not in info.name or info.metavar != info.name.upper(), info.name
            assert re.fullmatch(r"[A-Z/_]+(,\.\.\.)?|\{[a-z,]+\}", info.metavar), info.metavar
    assert set(GROUPS) == {info.group for info in setting_info()}, "a group with no setting"


def test_samples_differ_from_defaults() -> None:
    for name, value in SAMPLES.items():
        assert value != INFOS[name].default, name


def test_every_setting_round_trips_from_the_environment() -> None:
    env = {INFOS[n].env: as_text(v) for n, v in SAMPLES.items()}
    resolved = resolve_settings(env)
    for name, value in SAMPLES.items():
        got = getattr(resolved.settings, name)
        assert (got, type(got)) == (value, type(value)), name
        assert resolved.sources[name] is Source.ENVIRONMENT, name


def test_every_setting_round_trips_from_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "hiroba.toml"
    cfg.write_text("".join(f"{n} = {as_toml(v)}\n" for n, v in SAMPLES.items()))
    resolved = resolve_settings({}, None, cfg)
    assert resolved.config_file == cfg
    for name, value in SAMPLES.items():
        got = getattr(resolved.settings, name)
        assert (got, type(got)) == (value, type(value)), name
        assert resolved.sources[name] is Source.FILE, name


def test_every_setting_round_trips_from_its_flag(clean_env: None) -> None:
    argv = ["config", "show"]
    for name, value in SAMPLES.items():
        info = INFOS[name]
        if info.type is bool:
            argv.append(info.flag if value else "--no-" + info.flag[2:])
        else:
            argv += [info.flag, as_text(value)]
    resolved = cli._resolved(cli.build_parser().parse_args(argv))
    for name, value in SAMPLES.items():
        got = getattr(resolved.settings, name)
        assert (got, type(got)) == (value, type(value)), name
        assert resolved.sources[name] is Source.FLAG, name


def test_sources_follow_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "hiroba.toml"
    cfg.write_text('port = 9001\nhost = "0.0.0.0"\ntick_hz = 5\n')
    resolved = resolve_settings(
        {"HIROBA_PORT": "9002", "HIROBA_HOST": "::1", "HIROBA_CONFIG": str(cfg)},
        {"host": "127.0.0.2", "log_level": None},
    )
    s, src = resolved.settings, resolved.sources
    assert (s.host, src["host"]) == ("127.0.0.2", Source.FLAG)
    assert (s.port, src["port"]) == (9002, Source.ENVIRONMENT)
    assert (s.tick_hz, src["tick_hz"]) == (5.0, Source.FILE)
    assert (s.log_level, src["log_level"]) == ("info", Source.DEFAULT)
    assert resolved.config_file == cfg


def test_an_optional_float_is_a_float_not_a_string() -> None:
    # The old converter matched annotation strings: `float | None` fell through to str.
    convert = _converter(float | None)
    assert convert("2.5") == 2.5 and convert(3) == 3.0 and convert("") is None
    assert _converter(tuple[int, ...])("1, 2,") == (1, 2)
    with pytest.raises(TypeError, match="no converter"):
        _converter(dict[str, int])


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("port", 8080.5),  # a TOML float for a whole number
        ("port", True),
        ("tick_hz", "nan"),
        ("tick_hz", False),
        ("host", 5),  # a TOML number for text
        ("data_dir", ""),
        ("seed_demo", "maybe"),
        ("allowed_origins", 3),
        ("log_level", "verbose"),
        ("cluster_role", "leader"),
    ],
)
def test_values_of_the_wrong_type_are_refused(tmp_path: Path, name: str, raw: object) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"{name} = {as_toml(raw) if not isinstance(raw, str) else json.dumps(raw)}\n")
    with pytest.raises(HirobaError) as caught:
        resolve_settings({}, None, cfg)
    assert caught.value.reason.value == "bad_field"
    assert name in caught.value.message and str(cfg) in caught.value.message


def test_choices_are_case_insensitive() -> None:
    s = resolve_settings({"HIROBA_LOG_LEVEL": "WARNING", "HIROBA_CLUSTER_ROLE": "Edge"}).settings
    assert (s.log_level, s.cluster_role) == ("warning", "edge")


def test_unknown_flag_setting_is_refused() -> None:
    with pytest.raises(HirobaError):
        resolve_settings({}, {"prot": "1"})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@10.0.0.5:6379/0", f"redis://{MASK}@10.0.0.5:6379/0"),
        ("redis://hiroba:hunter2@10.0.0.5:6379/0", f"redis://{MASK}@10.0.0.5:6379/0"),
        ("redis://hunter2@10.0.0.5/0", f"redis://{MASK}@10.0.0.5/0"),
        ("rediss://10.0.0.5:6380/0?password=hunter2&db=1",
         f"rediss://10.0.0.5:6380/0?password={MASK}&db=1"),
        ("unix:///run/redis.sock?password=hunter2", f"unix:///run/redis.sock?password={MASK}"),
        ("redis://10.0.0.5:6379/0", "redis://10.0.0.5:6379/0"),
        ("hunter2", MASK),
    ],
)  # fmt: skip
def test_a_secret_setting_is_masked(url: str, shown: str) -> None:
    assert INFOS["redis_url"].secret
    assert shown_value(INFOS["redis_url"], url) == shown


def test_passwords_in_other_urls_are_masked_too() -> None:
    info = INFOS["model_url"]
    assert not info.secret
    assert shown_value(info, "https://me:pw@models.example.jp/x?token=t") == (
        f"https://me:{MASK}@models.example.jp/x?token={MASK}"
    )
    assert shown_value(info, "https://models.example.jp/x") == "https://models.example.jp/x"
    assert shown_value(INFOS["port"], 8080) == 8080


def test_settings_that_hold_secrets_are_marked_secret() -> None:
    # A path to a secret (secret_file, tls_key) is not one; a value named like one is.
    for info in setting_info():
        named = re.search(r"secret|password|passwd|token|credential|api_key", info.name)
        holds_path = info.type in (Path, Path | None)
        if named and not holds_path:
            assert info.secret, f"{info.name} holds a secret: _doc(..., secret=True)"


def test_a_secret_that_is_not_text_is_masked_whole() -> None:
    info = SettingInfo(
        name="x", type=int, default=0, doc="", group="security", metavar="N",
        choices=(), secret=True, default_text=None,
    )  # fmt: skip
    assert shown_value(info, 1234) == MASK
    assert shown_value(info, None) is None
