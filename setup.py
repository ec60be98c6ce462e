"""Build hooks for the wheel; the project's metadata is in pyproject.toml.

A city installs Hiroba from a wheel, with no Node.js and no checkout, so the wheel must
carry the built web client (``server/static/``, made by ``make client``). Without it the
server starts and answers /healthz but serves no page, so building such a wheel is refused
here rather than discovered at the city. Editable installs (``make deps``) are exempt:
they read the client from the checkout and run before it is built.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import FileError

ROOT = Path(__file__).resolve().parent
CLIENT = ROOT / "server" / "static"
#: The pages ``hiroba serve`` answers with: join, staff console, public archive, replay.
PAGES = ("index.html", "console.html", "archive.html", "replay.html")


class BuildPy(build_py):
    """``build_py`` that checks for the built client and starts from an empty build folder."""

    def run(self) -> None:
        if not self.editable_mode:
            missing = [page for page in PAGES if not (CLIENT / page).is_file()]
            if missing:
                raise FileError(
                    f"the web client is not built ({', '.join(missing)} missing in {CLIENT}): "
                    "run `make client` before building the wheel"
                )
            # setuptools copies into build/lib and packs whatever it finds there, so files
            # of an earlier build (old hashed client assets, deleted modules) would ship too.
            for top in sorted({name.split(".")[0] for name in self.packages or ()}):
                shutil.rmtree(Path(self.build_lib) / top, ignore_errors=True)
        super().run()


setup(cmdclass={"build_py": BuildPy})
