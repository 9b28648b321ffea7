"""The tenant's clock and quiet hours, as the channel and the backend both read them."""
from __future__ import annotations

from datetime import datetime, time, timezone

import pytest

from kit.clock import in_quiet_hours, local_now, quiet_until


@pytest.mark.parametrize(
    ("clock", "quiet"),
    [("20:59", False), ("21:00", True), ("23:59", True), ("00:00", True), ("06:59", True),
     ("07:00", False), ("12:00", False)],
)
def test_quiet_hours_cross_midnight(clock: str, quiet: bool) -> None:
    assert in_quiet_hours({"start": "21:00", "end": "07:00"}, time.fromisoformat(clock)) is quiet
    assert in_quiet_hours(None, time.fromisoformat(clock)) is False


@pytest.mark.parametrize("quiet, hour, expected", [
    ({"start": "21:00", "end": "07:00"}, 22, True), ({"start": "21:00", "end": "07:00"}, 6, True),
    ({"start": "21:00", "end": "07:00"}, 7, False), ({"start": "21:00", "end": "07:00"}, 12, False),
    ({"start": "13:00", "end": "14:00"}, 13, True), (None, 3, False)])
def test_quiet_hours_window(quiet, hour, expected):
    local = local_now("Africa/Nairobi", datetime(2026, 11, 22, hour, 30, tzinfo=timezone.utc))
    local = local.replace(hour=hour)
    assert in_quiet_hours(quiet, local.time()) is expected


def test_quiet_until_is_the_end_while_quiet():
    quiet = {"start": "21:00", "end": "07:00"}
    night = datetime(2026, 11, 22, 20, 0, tzinfo=timezone.utc)  # 23:00 in Nairobi
    noon = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
    assert quiet_until(quiet, "Africa/Nairobi", night) == "07:00"
    assert quiet_until(quiet, "Africa/Nairobi", noon) is None
    assert quiet_until(None, "Africa/Nairobi", night) is None


def test_local_now_falls_back_to_nairobi():
    utc = datetime(2026, 11, 18, 22, 30, tzinfo=timezone.utc)
    assert local_now("Africa/Nairobi", utc).date().day == 19
    assert local_now("Not/AZone", utc).utcoffset().total_seconds() == 3 * 3600
    assert local_now(None, utc).utcoffset().total_seconds() == 3 * 3600
