"""The city's time zone: the setting, ISO times with the zone's offset, the minutes' label."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from moderation.export import iso_time
from rooms.errors import HirobaError, Reason
from server.config.settings import load_settings
from server.recording.minutes import build_minutes, render_markdown
from tests.minutes_meeting import T0, record_meeting

TOKYO = ZoneInfo("Asia/Tokyo")


def test_the_setting_defaults_to_tokyo_and_refuses_unknown_zones() -> None:
    assert load_settings({}).time_zone == "Asia/Tokyo"
    assert load_settings({}).zone is TOKYO
    assert load_settings({"HIROBA_TIME_ZONE": "Europe/Berlin"}).zone == ZoneInfo("Europe/Berlin")
    for bad in ("Asia/Tokio", "JST+9", "", "../etc/passwd", "/usr/share/zoneinfo/UTC"):
        with pytest.raises(HirobaError) as err:
            load_settings({"HIROBA_TIME_ZONE": bad})
        assert err.value.reason is Reason.BAD_FIELD
        assert "time_zone" in err.value.message and repr(bad) in err.value.message


def test_iso_times_carry_the_offset_of_that_moment() -> None:
    assert iso_time(T0, TOKYO) == "2026-11-27T10:00:00+09:00"
    assert iso_time(T0, ZoneInfo("Asia/Kolkata")) == "2026-11-27T06:30:00+05:30"
    assert iso_time(T0) == iso_time(T0, UTC) == "2026-11-27T01:00:00Z"
    berlin = ZoneInfo("Europe/Berlin")
    summer = datetime(2026, 7, 1, 12, tzinfo=UTC).timestamp()
    assert iso_time(summer, berlin) == "2026-07-01T14:00:00+02:00"  # summer time
    assert iso_time(T0, berlin) == "2026-11-27T02:00:00+01:00"
    for zone in (TOKYO, berlin, UTC):
        assert datetime.fromisoformat(iso_time(T0 + 0.7, zone)).timestamp() == T0


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "MinutesTestRecording01"
    record_meeting(path)
    return path


@pytest.mark.parametrize(("zone", "line"), [
    ("Asia/Tokyo", "- 開始: 10:00:00  終了: 10:01:00  (JST, UTC+09:00)"),
    ("America/Sao_Paulo", "- 開始: 22:00:00  終了: 22:01:00  (UTC-03:00)"),  # no abbreviation
    ("UTC", "- 開始: 01:00:00  終了: 01:01:00  (UTC)"),
])
def test_the_minutes_say_which_zone_their_times_are_in(folder: Path, zone: str,
                                                         line: str) -> None:
    text = render_markdown(build_minutes(folder, None, include_moderation=False,
                                         tz=ZoneInfo(zone), audio=False))
    assert line in text
    if zone == "America/Sao_Paulo":
        assert "- 開催日: 2026-11-26" in text  # the evening before, there


def test_zone_of_a_start_with_microseconds() -> None:
    # A real recording starts mid-second: the zone read "UTC.729393+09:00" before.
    from server.recording.minutes_render import _zone

    t = datetime(2026, 12, 6, 10, 0, 0, 729393, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert _zone(t) == "JST, UTC+09:00"
    assert _zone(t.astimezone(UTC)) == "UTC"
