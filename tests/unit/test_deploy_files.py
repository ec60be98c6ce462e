"""deploy/: what can be checked on a machine that cannot build or run containers.

The systemd unit goes through ``systemd-analyze verify`` (with a stand-in for the
installed ``hiroba``) and ``systemd-analyze security``; coturn's configuration is started
on loopback by Debian's coturn; the compose file is read with PyYAML and the Containerfile
instruction by instruction, and the files are checked against each other (addresses,
ports, volumes, the nodes nginx balances). Building the image and running the compose
file are not tested here: see docs/operations.md, "Containers".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.config.settings import env_name, setting_fields
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
STUNCLIENT = shutil.which("turnutils_stunclient") or "/usr/bin/turnutils_stunclient"
INSTALLED_HIROBA = "/opt/hiroba/bin/hiroba"
DATA_DIR = "/var/lib/hiroba"


# -- systemd --------------------------------------------------------------------------


def _unit() -> list[tuple[str, str, str]]:
    """(section, key, value) of every assignment in hiroba.service, in order."""
    entries, section = [], ""
    for line in (DEPLOY / "hiroba.service").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return entries


def _service(key: str) -> list[str]:
    return [v for s, k, v in _unit() if s == "Service" and k == key]


@pytest.fixture
def unit_copy(tmp_path: Path) -> Path:
    """hiroba.service with ExecStart pointing at a stand-in executable (verify needs one)."""
    stub = tmp_path / "hiroba"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    text = (DEPLOY / "hiroba.service").read_text()
    assert f"ExecStart={INSTALLED_HIROBA} " in text
    unit = tmp_path / "hiroba.service"
    unit.write_text(text.replace(f"ExecStart={INSTALLED_HIROBA} ", f"ExecStart={stub} "))
    return unit


def test_the_unit_verifies_without_a_warning(unit_copy: Path) -> None:
    # systemd-analyze exits 0 on a value it cannot parse ("..., ignoring"): read its words.
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(unit_copy)], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    complaints = [ln for ln in (result.stdout + result.stderr).splitlines() if ln.strip()]
    assert not complaints, complaints


def test_the_unit_is_hardened(unit_copy: Path) -> None:
    # systemd's own exposure score, 0 (locked down) to 10; ours is 1.7. Threshold is x10.
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", "--threshold=25", str(unit_copy)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    for key, value in (
        ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"), ("Restart", "on-failure"),
    ):
        assert _service(key) == [value], key


def test_the_unit_has_what_a_500_person_meeting_needs() -> None:
    # ~5 descriptors a person; the default soft limit of 1,024 stops a town hall at ~200.
    (nofile,) = _service("LimitNOFILE")
    assert int(nofile) >= 65536
    # A dedicated, unprivileged user whose state folder is the data folder: under
    # ProtectSystem=strict it is the only place the service can write.
    assert _service("User") == ["hiroba"] or _service("DynamicUser") == ["yes"]
    assert _service("StateDirectory") == ["hiroba"]
    assert f"HIROBA_DATA_DIR={DATA_DIR}" in _service("Environment")
    (start,) = _service("ExecStart")
    assert start.split()[:2] == [INSTALLED_HIROBA, "serve"]


def _known_settings() -> set[str]:
    return {env_name(f.name) for f in setting_fields()}


def test_the_env_file_example_names_only_real_settings() -> None:
    text = (DEPLOY / "hiroba.env.example").read_text()
    named = set(re.findall(r"^#?(HIROBA_[A-Z_]+)=", text, re.MULTILINE))
    assert named and named <= _known_settings(), named - _known_settings()


# -- compose ------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def _nodes() -> dict[str, dict[str, Any]]:
    services = _compose()["services"]
    return {name: s for name, s in services.items() if name.startswith("hiroba-")}


def _address(service: dict[str, Any]) -> str:
    address: str = service["networks"]["hiroba"]["ipv4_address"]
    return address


def test_compose_runs_two_nodes_redis_nginx_and_coturn() -> None:
    services = _compose()["services"]
    assert set(services) == {"hiroba-a", "hiroba-b", "redis", "nginx", "coturn"}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", name
    nodes = _nodes()
    assert len({n["environment"]["HIROBA_NODE_ID"] for n in nodes.values()}) == 2
    build = nodes["hiroba-a"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (
        DEPLOY / "Containerfile"
    )


def test_only_nginx_and_coturn_face_the_outside() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            public = not str(port).startswith("127.0.0.1:")
            assert not public or name == "nginx", f"{name} publishes {port} beyond loopback"
    assert {str(p) for p in services["nginx"]["ports"]} == {"80:80", "443:443"}
    assert "ports" not in services["redis"]
    assert services["coturn"]["network_mode"] == "host"  # its relay range, not ~800 ports


def test_the_nodes_share_one_state_volume_and_enough_descriptors() -> None:
    compose = _compose()
    for name, node in _nodes().items():
        (volume,) = node["volumes"]
        source, target = volume.split(":")[:2]
        assert target == DATA_DIR, name
        assert source in compose["volumes"], f"{name}: {source} is not a named volume"
        assert node["ulimits"]["nofile"]["soft"] >= 65536, name
    assert len({n["volumes"][0] for n in _nodes().values()}) == 1


def test_the_nodes_settings_match_the_network() -> None:
    services = _compose()["services"]
    nginx = _address(services["nginx"])
    turn_peers = re.findall(
        r"^allowed-peer-ip=(\S+)$", (DEPLOY / "turnserver.conf").read_text(), re.MULTILINE
    )
    for name, node in _nodes().items():
        env = node["environment"]
        assert env["HIROBA_TRUSTED_PROXIES"] == f"{nginx}/32", name
        assert env["HIROBA_ICE_HOST_ADDRESSES"] == _address(node), name
        assert _address(node) in turn_peers, f"coturn would not relay to {name}"
        assert "@redis:6379/" in env["HIROBA_REDIS_URL"], name
        assert env["HIROBA_NODE_URL"] == f"http://{name}:8080", name
        assert env["HIROBA_TURN_SECRET_FILE"] == "/run/secrets/turn_secret"
        assert "turn_secret" in node["secrets"]
        assert set(env) <= _known_settings(), set(env) - _known_settings()


def test_nginx_balances_both_nodes_with_sticky_sessions() -> None:
    text = (DEPLOY / "nginx.conf").read_text()
    upstream = re.search(r"upstream hiroba \{(.*?)\}", text, re.DOTALL)
    assert upstream is not None
    assert re.search(r"^\s*ip_hash;", upstream.group(1), re.MULTILINE)
    servers = set(re.findall(r"^\s*server (\S+?):8080\b", upstream.group(1), re.MULTILINE))
    assert servers == set(_nodes())
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in text
    assert text.count("{") == text.count("}")


def test_every_variable_compose_needs_is_in_the_example() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)", (DEPLOY / "compose.yaml").read_text()))
    example = (DEPLOY / "compose.env.example").read_text()
    given = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    assert used <= given, used - given


def test_coturn_starts_with_the_configuration(tmp_path: Path) -> None:
    """Debian's coturn reads the file without complaint and answers STUN on loopback."""
    conf = tmp_path / "turnserver.conf"
    conf.write_text((DEPLOY / "turnserver.conf").read_text().replace("@TURN_SECRET@", "ab" * 32))
    port = free_port()
    log = tmp_path / "turn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [TURNSERVER, "-c", str(conf), "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
             f"--listening-port={port}", f"--tls-listening-port={free_port()}",
             "--realm=hiroba.test", f"--pidfile={tmp_path / 'turn.pid'}"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while "Relay ports initialization done" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        answer = subprocess.run(
            [STUNCLIENT, "-p", str(port), "127.0.0.1"], capture_output=True, text=True,
            timeout=10,
        )
        assert "UDP reflexive addr: 127.0.0.1" in answer.stdout + answer.stderr, answer
    finally:
        proc.terminate()
        proc.wait(10)
    text = log.read_text()
    assert "Bad configuration format" not in text, text
    for peer in ("172.30.0.11", "172.30.0.12"):
        assert f"White listing: {peer}" in text


# -- the image ----------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Containerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        word, _, rest = pending.partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    return out


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_the_image_builds_the_client_and_installs_the_lock_with_hashes() -> None:
    steps = _instructions()
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for w, a in steps if w == "ARG" and "=" in a}
    assert re.search(r"python:3\.11-slim-(bookworm|trixie)$", args["PYTHON_IMAGE"])
    runs = [a for w, a in steps if w == "RUN"]
    assert any("npm ci" in r for r in runs) and any("npm run build" in r for r in runs)
    assert any(
        "--require-hashes" in r and "requirements.lock" in r and "install" in r for r in runs
    )
    assert any("hiroba models fetch" in r for r in runs)
    # Every file taken from the checkout exists (paths are relative to its root).
    for word, arg in steps:
        if word == "COPY" and "--from=" not in arg:
            for source in arg.split()[:-1]:
                assert (ROOT / source).exists(), source


def test_the_image_runs_unprivileged_with_a_health_check_and_a_state_volume() -> None:
    final = _final_stage()
    assert final[0][1].startswith("${PYTHON_IMAGE}")
    users = [a for w, a in final if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    (health,) = [a for w, a in final if w == "HEALTHCHECK"]
    assert "healthcheck.py" in health
    assert "/healthz" in (DEPLOY / "healthcheck.py").read_text()
    env = " ".join(a for w, a in final if w == "ENV")
    assert f"HIROBA_DATA_DIR={DATA_DIR}" in env
    named = set(re.findall(r"\b(HIROBA_[A-Z_]+)=", env))
    assert named <= _known_settings(), named - _known_settings()
    assert any(w == "VOLUME" and DATA_DIR in a for w, a in final)
    entry = [a for w, a in final if w == "ENTRYPOINT"]
    assert entry == ['["/opt/hiroba/bin/hiroba"]']


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = set((DEPLOY / "Containerfile.dockerignore").read_text().split())
    for path in (".venv", "web_client/node_modules", "server/static", "data", ".git"):
        assert path in ignored, path


def test_the_health_check_fails_when_nothing_answers() -> None:
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "healthcheck.py")], capture_output=True, text=True,
        env={**os.environ, "HIROBA_PORT": str(free_port())}, timeout=30,
    )
    assert result.returncode == 1
