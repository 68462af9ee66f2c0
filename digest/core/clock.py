"""The one clock that scheduling, planning and sending read, so that a test or a rehearsal can set it.

Everything that decides by the time (which week an issue covers, which rows are
due, how long a lease or a backoff lasts, the `Date` header, "today" in the CLI
and the admin) asks `settings.clock.now()`. Production uses `SystemClock`. Tests
pin a `FixedClock`; processes that cannot be handed an object (Celery workers,
the CLI) read `DIGEST_NOW` (see digest.core.settings): an `OffsetClock` that starts at
that instant when the process starts and runs on from there.

`wall_now()` is the only place in digest/ that reads the wall clock for a date
or an instant. Besides `SystemClock`, it is called on purpose for records of
when something happened that are compared with signed tokens (itsdangerous
stamps those with the real time), such as `unsubscribed_at`; see the callers.
"""

from __future__ import annotations

import abc
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo


def wall_now() -> datetime:
    """The real time, aware, in UTC."""
    return datetime.now(UTC)


def _aware_utc(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} needs an aware datetime (with its UTC offset), got {at.isoformat()}")
    return at.astimezone(UTC)


def _zone(zone: tzinfo | str) -> tzinfo:
    return ZoneInfo(zone) if isinstance(zone, str) else zone


class Clock(abc.ABC):
    """Tells the time: `now()` is an aware datetime in UTC."""

    @abc.abstractmethod
    def now(self) -> datetime: ...

    def local(self, zone: tzinfo | str) -> datetime:
        """Now, as the clock on the wall in `zone` reads it."""
        return self.now().astimezone(_zone(zone))

    def today(self, zone: tzinfo | str) -> date:
        """Today's date in `zone` (a week's boundaries depend on where it is read)."""
        return self.local(zone).date()


class SystemClock(Clock):
    """The real time."""

    def now(self) -> datetime:
        return wall_now()

    def __eq__(self, other) -> bool:
        return isinstance(other, SystemClock)

    def __hash__(self) -> int:
        return hash(SystemClock)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()


class FixedClock(Clock):
    """Stands still at the instant it was given, until a test sets or advances it."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware_utc(at, "FixedClock")

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _aware_utc(at, "FixedClock.set")

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Moves the clock on by `delta` or by timedelta keyword parts (minutes=10); returns the new now."""
        self._at += (delta or timedelta()) + timedelta(**parts)
        return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


class OffsetClock(Clock):
    """Reads `start` when made, and runs on from there at the wall clock's pace."""

    def __init__(self, start: datetime) -> None:
        self.start = _aware_utc(start, "OffsetClock")
        self._offset = self.start - wall_now()

    def now(self) -> datetime:
        return wall_now() + self._offset

    def __repr__(self) -> str:
        return f"OffsetClock(started at {self.start.isoformat()})"


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant that carries its UTC offset (2026-11-29T08:00:00+08:00, or …Z); ValueError otherwise.

    A value without an offset is refused rather than read in some zone: the same
    words name different instants in Shanghai and on a UTC server.
    """
    text = value.strip()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date and time like 2026-11-29T08:00:00+08:00") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(
            f"{value!r} has no UTC offset: write the instant with one, like 2026-11-29T08:00:00+08:00 or …Z"
        )
    return at.astimezone(UTC)
