"""The operations guide keeps in step with the settings object."""

from __future__ import annotations

from pathlib import Path

from server.config.settings import env_name, setting_fields

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "operations.md").read_text()
    for f in setting_fields():
        assert env_name(f.name) in text, f.name
        assert "--" + f.name.replace("_", "-") in text, f.name


def test_every_reason_code_is_documented() -> None:
    from rooms.errors import Reason

    text = (DOCS / "protocol.md").read_text()
    for reason in Reason:
        assert f"`{reason.value}`" in text, reason
