"""Figures kept by a process: fresh ones answered, stale ones answered while a thread counts again."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from digest.services.kept import KeptFigures

T0 = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
FRESH = timedelta(seconds=60)


class SetClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _wait_for_recounts(kept: KeptFigures) -> None:
    for thread in threading.enumerate():
        if thread.name == "digest-recount":
            thread.join(timeout=10)
    assert not kept._recounting


def test_fresh_figures_are_answered_and_old_ones_counted_again():
    clock, counts = SetClock(), iter([1, 2])
    kept = KeptFigures(clock)
    assert kept.get("k", FRESH, lambda: next(counts)) == (1, T0)
    clock.now += FRESH - timedelta(seconds=1)
    assert kept.get("k", FRESH, lambda: next(counts)) == (1, T0)
    clock.now += timedelta(seconds=1)
    assert kept.get("k", FRESH, lambda: next(counts)) == (2, clock.now)


def test_stale_figures_are_answered_while_one_thread_counts_them_again():
    clock = SetClock()
    kept = KeptFigures(clock)
    kept.get("k", FRESH, lambda: "first")
    clock.now += FRESH * 2
    release, calls = threading.Event(), []

    def recount() -> str:
        calls.append(1)
        release.wait(10)
        return "second"

    def must_not_count() -> str:
        raise AssertionError("a request waited for the count")

    # Both requests get the kept figures at once; one recount runs, not two.
    assert kept.get("k", FRESH, must_not_count, recount=recount) == ("first", T0)
    assert kept.get("k", FRESH, must_not_count, recount=recount) == ("first", T0)
    release.set()
    _wait_for_recounts(kept)
    assert calls == [1]
    assert kept.get("k", FRESH, must_not_count, recount=recount)[0] == "second"


def test_a_failed_recount_keeps_the_figures_and_the_next_request_tries_again():
    clock = SetClock()
    kept = KeptFigures(clock)
    kept.get("k", FRESH, lambda: "first")
    clock.now += FRESH * 2

    def broken() -> str:
        raise RuntimeError("the database went away")

    assert kept.get("k", FRESH, lambda: "counted", recount=broken)[0] == "first"
    _wait_for_recounts(kept)
    assert kept.get("k", FRESH, lambda: "counted", recount=lambda: "again")[0] == "first"
    _wait_for_recounts(kept)
    assert kept.get("k", FRESH, lambda: "counted")[0] == "again"
