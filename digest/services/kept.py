"""Figures too costly to count on every request at a million subscribers, kept by one process a short while.

The Runtime owns one `KeptFigures`, so a test or a second app in the same process starts with none, and
each web process keeps its own. Keys name what was counted and the state it was counted in (an issue's
status, a list's creation), so a change of state is a new key rather than a stale answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from digest.core.clock import wall_now

T = TypeVar("T")
log = logging.getLogger(__name__)

# Past this many entries the oldest half goes: keys are few (lists, the issues on a page), but a process
# lives for weeks.
MAX_KEPT = 2_000


class KeptFigures:
    def __init__(self, clock: Callable[[], datetime] = wall_now) -> None:
        self._clock = clock
        self._items: dict[Hashable, tuple[datetime, Any]] = {}
        self._recounting: set[Hashable] = set()
        self._lock = threading.Lock()

    def get(
        self,
        key: Hashable,
        fresh_for: timedelta,
        count: Callable[[], T],
        *,
        recount: Callable[[], T] | None = None,
    ) -> tuple[T, datetime]:
        """(the figures, when they were counted): kept ones younger than `fresh_for`, else `count()` now.

        With `recount` (the same figures counted over a session of its own), figures past `fresh_for`
        are still answered while a thread counts them again: after the first, no request waits.
        """
        kept = self.fresh(key, fresh_for)
        if kept is not None:
            return kept
        if recount is not None:
            with self._lock:
                stale = self._items.get(key)
            if stale is not None:
                self._recount_behind(key, recount)
                return stale[1], stale[0]
        now = self._clock()
        value = count()  # outside the lock: two requests may both count once, neither waits on the other
        self.keep(key, value, now)
        return value, now

    def _recount_behind(self, key: Hashable, recount: Callable[[], Any]) -> None:
        with self._lock:
            if key in self._recounting:
                return
            self._recounting.add(key)

        def run() -> None:
            started = self._clock()
            try:
                self.keep(key, recount(), started)
            except Exception:
                log.warning("could not count %r again; the kept figures stay", key, exc_info=True)
            finally:
                with self._lock:
                    self._recounting.discard(key)

        threading.Thread(target=run, name="digest-recount", daemon=True).start()

    def fresh(self, key: Hashable, fresh_for: timedelta) -> tuple[Any, datetime] | None:
        """(the figures, when they were counted) if kept and younger than `fresh_for`, else None."""
        with self._lock:
            kept = self._items.get(key)
        if kept is None or self._clock() - kept[0] >= fresh_for:
            return None
        return kept[1], kept[0]

    def keep(self, key: Hashable, value: Any, counted_at: datetime | None = None) -> None:
        with self._lock:
            if len(self._items) >= MAX_KEPT:
                for old in sorted(self._items, key=lambda k: self._items[k][0])[: MAX_KEPT // 2]:
                    del self._items[old]
            self._items[key] = (counted_at or self._clock(), value)

    def drop(self, key: Hashable) -> None:
        """Forgets one key: what it counted has changed."""
        with self._lock:
            self._items.pop(key, None)

    def forget(self) -> None:
        """Drops everything: the next request counts again."""
        with self._lock:
            self._items.clear()
