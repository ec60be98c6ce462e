"""Finding files of the built web client (``make client``) that tests fetch directly.

Their names carry a hash of their content, so a test looks them up in the build instead
of naming them.
"""

from __future__ import annotations

from pathlib import Path


def built_asset(client_dir: Path, pattern: str) -> str:
    """The URL path (``/app/assets/...``) of the one file of the build matching ``pattern``
    (a glob in ``assets/``, such as ``faceWorker-*.js``)."""
    found = sorted((client_dir / "assets").glob(pattern))
    assert len(found) == 1, f"{pattern}: {[p.name for p in found]} in {client_dir}; make client"
    return f"/app/assets/{found[0].name}"
