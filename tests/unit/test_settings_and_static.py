from __future__ import annotations

from pathlib import Path

import pytest

from rooms.errors import HirobaError, Reason
from server.config.settings import load_settings
from server.http.static_files import app_file, safe_relative, vendor_file


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "hiroba.toml"
    cfg.write_text('port = 9001\nhost = "0.0.0.0"\ntick_hz = 5\nallowed_origins = ["https://a"]\n'
                   'ice_host_addresses = ["192.0.2.2"]\n')
    s = load_settings({"HIROBA_PORT": "9002"}, {"host": None}, cfg)
    assert (s.port, s.host, s.tick_hz, s.allowed_origins) == (9002, "0.0.0.0", 5.0, ("https://a",))
    s = load_settings({"HIROBA_CONFIG": str(cfg)}, {"port": "9003"})
    assert s.port == 9003


@pytest.mark.parametrize(
    ("env", "overrides", "named"),
    [
        ({"HIROBA_PORT": "eighty"}, {}, "port"),
        ({"HIROBA_SEED_DEMO": "maybe"}, {}, "seed_demo"),
        ({}, {"tls_cert": "/x.pem"}, "tls_key"),
        ({"HIROBA_TICK_HZ": "0"}, {}, "tick_hz"),
        ({"HIROBA_AUDIO_SLOTS": "9"}, {}, "audio_slots"),
        ({"HIROBA_AUDIO_PROXIMITY_N": "4"}, {}, "audio_proximity_n"),  # more than 3 slots
        ({"HIROBA_AUDIO_SPEECH_BITRATE": "96000"}, {}, "audio_speech_bitrate"),
        ({"HIROBA_AUDIO_RADIUS": "0"}, {}, "audio_radius"),
    ],
)
def test_bad_settings_are_refused(env, overrides, named: str) -> None:
    # A bad value is the operator's mistake (bad_field, naming the setting), not a crash
    # of the loader (internal) or any other refusal.
    with pytest.raises(HirobaError) as refused:
        load_settings(env, overrides)
    assert refused.value.reason is Reason.BAD_FIELD, refused.value
    assert named in refused.value.message, refused.value.message


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("prot = 1\n")
    with pytest.raises(HirobaError) as refused:
        load_settings({}, None, cfg)
    assert refused.value.reason is Reason.UNKNOWN_FIELD, refused.value
    assert "prot" in refused.value.message, refused.value.message


@pytest.mark.parametrize(
    "raw",
    ["../secret.key", "src/../../x.js", "/etc/passwd.js", ".git/config.json", "a\\b.js",
     "src/x.py", "", "src//x.js", "src/./x.js", "x.js\x00.png"],
)
def test_unsafe_paths_are_refused(raw: str) -> None:
    assert safe_relative(raw) is None


def test_app_and_vendor_whitelists() -> None:
    root = Path("/w")
    assert app_file(root, "src/main.js") == Path("/w/src/main.js")
    assert app_file(root, "node_modules/three/build/three.module.js") is None
    assert app_file(root, "test/store.test.js") is None
    assert app_file(root, "package.json") is None
    assert vendor_file(root, "three", "build/three.core.js") == Path(
        "/w/node_modules/three/build/three.core.js")
    assert vendor_file(root, "three", "src/Three.js") is None
    assert vendor_file(root, "left-pad", "index.js") is None
    assert vendor_file(root, "socket.io-client", "dist/socket.io.js") is None
