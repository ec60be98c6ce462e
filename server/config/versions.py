"""The library versions whose private internals Hiroba reaches into, checked at start.

Some of Hiroba's paths depend on a library's private internals (no public API does the
job). Each such place is listed in :data:`GUARDED` with the versions it was written
against and tested with; ``hiroba serve`` refuses to start when an installed version is
outside them, naming both, rather than running with everyone silently unheard.
``tests/unit/test_dependency_guards.py`` checks that every internal named here still
exists in the installed library, so an upgrade fails the suite loudly first.
docs/operations.md ("Upgrading dependencies") says how to move a pin.

``python -m server.config.versions`` prints the table and exits 1 on a mismatch (``make`` runs it
after installing the lock).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from rooms.errors import HirobaError, Reason


@dataclass(frozen=True, slots=True)
class Guard:
    """One library whose internals Hiroba uses, the versions it may be, and where."""

    distribution: str
    prefixes: tuple[str, ...]
    used_by: str


#: Every library whose private internals Hiroba touches (keep in step with
#: docs/operations.md, "Upgrading dependencies").
GUARDED: tuple[Guard, ...] = (
    Guard("aiortc", ("1.16.",),
          "server/audio/tap.py (receiver decoder queue), server/audio/lean.py "
          "(sender, transceiver and DTLS internals)"),
    Guard("aioice", ("0.13.",),
          "server/rtc/ice.py (get_host_addresses), server/audio/lean.py (the ICE transport)"),
    Guard("python-socketio", ("5.",),
          "server/cluster/sio_server.py (AsyncServer._trigger_event), "
          "server/sockets/packets.py (packet.Packet.decode)"),
    Guard("python-engineio", ("4.",),
          "server/http/security.py (how a polling POST is read and closed)"),
)


def installed(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def problems() -> list[str]:
    """One sentence per guarded library whose installed version is not a supported one."""
    out = []
    for guard in GUARDED:
        found = installed(guard.distribution)
        if found is None or not found.startswith(guard.prefixes):
            wanted = " or ".join(p + "x" for p in guard.prefixes)
            out.append(
                f"{guard.distribution} {found or '(not installed)'} is installed, but Hiroba "
                f"supports {guard.distribution} {wanted} only (used by {guard.used_by}); "
                "install the lock (make run) or see docs/operations.md, 'Upgrading dependencies'"
            )
    return out


def require_supported() -> None:
    """Raise ``HirobaError(internal)`` naming every unsupported library version."""
    found = problems()
    if found:
        raise HirobaError(Reason.INTERNAL, "; ".join(found))


def main() -> int:
    for guard in GUARDED:
        print(f"{guard.distribution:16} {installed(guard.distribution) or '-':10} "
              f"supported: {', '.join(p + 'x' for p in guard.prefixes)}")
    found = problems()
    for line in found:
        print(f"hiroba: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
