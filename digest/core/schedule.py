"""When issues fall due. Pure: slots, time zones and instants in, dates and instants out.

A list has a weekly slot (weekday, local time, the list's time zone). Every
subscriber receives the issue at that slot *in their own time zone*, so one issue
becomes due in the easternmost zone first and in the westernmost last. The issue
covers the seven days before the slot's date in the list's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# The earliest any zone on Earth reaches a local time: UTC+14.
EARLIEST_OFFSET = timedelta(hours=14)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class Slot:
    weekday: int  # 0 = Monday
    at: time  # local time of day
    tz: str  # the list's zone: its calendar decides which week an issue covers

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        zone(self.tz)


# Files of the zone database that name no place: "localtime" is the host's zone (whatever the server is set
# to), "posixrules" and "Factory" are for tools. A list or subscriber in one would follow the machine, not a map.
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


# Memo: the installed zone names are read from disk once per process.
@cache
def iana_zones() -> frozenset[str]:
    """The IANA zone names a list or a subscriber may be in (Asia/Shanghai, UTC...): no paths, no host zone."""
    return frozenset(available_timezones()) - _NOT_PLACES


# Memo of a pure function of its argument: a name's zone, and the same error for a bad name, without a lookup each time.
@cache
def zone(name: str) -> ZoneInfo:
    if name not in iana_zones():
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)") from None


def parse_weekday(text: str) -> int:
    cleaned = text.strip().lower()
    for i, name in enumerate(WEEKDAYS):
        if cleaned in (name, name[:3], str(i)):
            return i
    raise ValueError(f"unknown weekday {text!r} (monday … sunday)")


def period_end_for(slot_date: date) -> date:
    return slot_date - timedelta(days=1)


def due_at(slot: Slot, slot_date: date, subscriber_tz: str) -> datetime:
    """The instant (UTC) the subscriber's copy of the issue goes out: the slot in their zone.

    A local time that a daylight-saving jump skips or repeats resolves by fold=0,
    so each subscriber still gets exactly one instant.
    """
    local = datetime.combine(slot_date, slot.at, zone(subscriber_tz))
    return local.astimezone(UTC)


def latest_slot_date(slot: Slot, now: datetime) -> date:
    """The most recent slot date whose earliest delivery (UTC+14) is at or before `now`.

    Planning only ever looks at this one date, so a missed tick is caught up once
    and a week that was skipped entirely is not sent late (and this one only within
    its list's catch-up window: too_late).
    """
    # Wall-clock time in the easternmost zone.
    eastmost = (now.astimezone(UTC) + EARLIEST_OFFSET).replace(tzinfo=None)
    days_back = (eastmost.weekday() - slot.weekday) % 7
    candidate = eastmost.date() - timedelta(days=days_back)
    if days_back == 0 and eastmost.time() < slot.at:
        candidate -= timedelta(days=7)
    return candidate


def next_slot_date(slot: Slot, now: datetime) -> date:
    """The first slot date not yet planned at `now`: the issue someone who joins now gets first (the latest
    due slot's issue was planned, its ledger filled, before they joined)."""
    return latest_slot_date(slot, now) + timedelta(days=7)


def slot_instant(slot: Slot, slot_date: date) -> datetime:
    """The slot on `slot_date` in the list's own zone (UTC): the time the list says its issue goes out."""
    return due_at(slot, slot_date, slot.tz)


def too_late(slot: Slot, slot_date: date, now: datetime, window: timedelta) -> bool:
    """Whether the slot passed more than `window` before `now` in the list's zone: the scheduler was down, and
    an issue that late would surprise its readers more than no issue; the next slot comes as usual."""
    return now - slot_instant(slot, slot_date) > window
