"""requirements.lock agrees with pyproject.toml, is hashed, and is what is installed.

The lock is compiled from pyproject.toml by ``make lock``; a range changed in one and not
the other, a lock line without hashes, or a venv that drifted from the lock (a package
installed by hand, an older lock) would each make "green here" mean nothing elsewhere.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, distributions, version
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
_ENTRY = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def _lock() -> list[tuple[str, str, Marker | None, list[str]]]:
    """(name, version, marker, hashes) for every entry of requirements.lock."""
    entries: list[tuple[str, str, Marker | None, list[str]]] = []
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = _ENTRY.match(line)
        if match:
            marker = Marker(match.group(3)) if match.group(3) else None
            entries.append((canonicalize_name(match.group(1)), match.group(2), marker, []))
        elif line.strip().startswith("--hash=sha256:"):
            entries[-1][3].append(line.strip())
    return entries


def _locked_here() -> dict[str, str]:
    """The lock's versions for this interpreter and platform."""
    return {name: v for name, v, marker, _ in _lock() if marker is None or marker.evaluate()}


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs.extend(extra)
    return [Requirement(s) for s in specs]


def test_every_lock_entry_is_pinned_with_hashes() -> None:
    entries = _lock()
    assert len(entries) > 40
    for name, _v, _m, hashes in entries:
        assert hashes, f"{name} has no hash in requirements.lock"


def test_the_build_backend_is_pinned_with_hashes() -> None:
    text = (ROOT / "requirements-build.lock").read_text()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for spec in map(Requirement, requires):
        match = re.search(rf"^{re.escape(spec.name)}==(\S+) \\\n\s+--hash=sha256:", text,
                          re.MULTILINE)
        assert match, f"{spec.name} is not pinned with a hash in requirements-build.lock"
        assert spec.specifier.contains(match.group(1))


def test_every_declared_dependency_is_locked_inside_its_range() -> None:
    locked = _locked_here()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is in pyproject.toml but not in requirements.lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock has {name} {locked[name]}, outside pyproject's "
            f"{requirement.specifier}: run make lock"
        )


def test_the_venv_is_exactly_the_lock() -> None:
    """What this test run imports is what a fresh clone installs (make syncs the venv)."""
    locked = _locked_here()
    for name, wanted in locked.items():
        try:
            found = version(name)
        except PackageNotFoundError:
            missing = f"{name} {wanted} is locked but not installed: make deps"
            raise AssertionError(missing) from None
        assert found == wanted, f"{name} {found} installed, {wanted} locked: make deps"
    seeded = {"pip", "setuptools", "wheel", "hiroba"}  # the venv's own, and this project
    extra = {canonicalize_name(d.metadata["Name"]) for d in distributions()} - set(locked)
    assert extra <= seeded, f"installed but not in requirements.lock: {sorted(extra - seeded)}"
