"""Arming per group by hand and on a weekly schedule, in the configured time zone."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from smartcam.master.accounts import AccountError
from smartcam.master.arming import Arming

BERLIN = ZoneInfo("Europe/Berlin")


def at(*args):  # a wall time in Berlin, as Unix seconds
    return datetime(*args, tzinfo=BERLIN).timestamp()


def test_windows_on_weekdays_overnight_and_whole_days_in_the_local_zone(tmp_path):
    arming = Arming(tmp_path / "m.db", "Europe/Berlin")
    assert arming.state("yard")["armed"]  # never set: armed
    arming.set("yard", "schedule", [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "18:00"},
        {"days": ["sat"], "from": "22:00", "to": "06:00"},  # into Sunday morning
        {"days": ["wed"], "from": "00:00", "to": "00:00"},  # all of Wednesday
    ], "alice")
    armed = lambda *t: arming.state("yard", at(*t))["armed"]  # noqa: E731
    assert armed(2026, 11, 30, 8, 0) and not armed(2026, 11, 30, 7, 59)  # Monday
    assert not armed(2026, 11, 30, 18, 0)
    assert armed(2026, 12, 2, 3, 0)  # Wednesday, all day
    assert armed(2026, 12, 5, 23, 0) and armed(2026, 12, 6, 5, 59)  # Saturday night
    assert not armed(2026, 12, 6, 6, 0) and not armed(2026, 12, 6, 12, 0)  # Sunday
    # 08:00 in Berlin is 07:00 UTC in winter: the zone is the config's, not UTC
    assert armed(2026, 11, 30, 8, 30) and not arming.state("yard", datetime(
        2026, 11, 30, 7, 30, tzinfo=ZoneInfo("UTC")).timestamp() - 3600)["armed"]
    arming.set("yard", "disarmed", None, "alice")
    assert not armed(2026, 11, 30, 9, 0)
    with pytest.raises(AccountError, match="window"):
        arming.set("yard", "schedule", [{"days": ["someday"], "from": "8", "to": "9"}], "a")
    with pytest.raises(AccountError, match="at least one"):
        arming.set("yard", "schedule", [], "alice")
    arming.close()
