"""When issues fall due: the slot in each subscriber's own time zone, catch-up once, DST weeks once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from digest.core.schedule import Slot, due_at, latest_slot_date, parse_weekday, period_end_for

# Planning and scheduling by instants: every "now" here is pinned.
pytestmark = pytest.mark.clock

MONDAY_8 = Slot(0, time(8, 0), "Asia/Shanghai")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_each_subscriber_gets_the_slot_in_their_own_zone():
    monday = date(2026, 11, 30)
    assert due_at(MONDAY_8, monday, "Asia/Shanghai") == utc(2026, 11, 30, 0, 0)
    assert due_at(MONDAY_8, monday, "Europe/Berlin") == utc(2026, 11, 30, 7, 0)
    assert due_at(MONDAY_8, monday, "America/New_York") == utc(2026, 11, 30, 13, 0)


def test_the_latest_slot_is_due_once_the_easternmost_zone_reaches_it():
    # 08:00 Monday at UTC+14 is 18:00 Sunday UTC.
    assert latest_slot_date(MONDAY_8, utc(2026, 11, 29, 17, 59)) == date(2026, 11, 23)
    assert latest_slot_date(MONDAY_8, utc(2026, 11, 29, 18, 0)) == date(2026, 11, 30)
    # A scheduler that slept through two weeks plans the latest slot only: one catch-up.
    assert latest_slot_date(MONDAY_8, utc(2026, 12, 16, 12)) == date(2026, 12, 14)
    assert period_end_for(date(2026, 11, 30)) == date(2026, 11, 29)


def test_a_daylight_saving_week_has_one_instant_per_subscriber():
    # Europe/Berlin leaves summer time on Sunday 2026-10-25 at 03:00; a Sunday 02:30 slot exists twice.
    sunday_0230 = Slot(6, time(2, 30), "Europe/Berlin")
    first = due_at(sunday_0230, date(2026, 10, 25), "Europe/Berlin")
    assert first == utc(2026, 10, 25, 0, 30)
    # New York skips 02:00–03:00 on 2026-03-08: the slot still maps to one instant.
    spring = due_at(sunday_0230, date(2026, 3, 8), "America/New_York")
    assert spring.tzinfo is not None


def test_bad_slots_are_refused_with_reasons():
    with pytest.raises(ValueError, match="time zone"):
        Slot(0, time(8), "Mars/Olympus")
    with pytest.raises(ValueError, match="weekday"):
        Slot(7, time(8), "UTC")
    assert parse_weekday("Mon") == 0 and parse_weekday("sunday") == 6
    with pytest.raises(ValueError):
        parse_weekday("someday")
