"""Flat combining (web/combining.py), with real threads: items that wait together go in one call, alone an
item goes at once, equal keys never share a call, and a failing item fails only its own caller."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from digest.web.combining import Combiner


class Recorder:
    """A `do` that records each call's items, holding the first call until `release` so others queue."""

    def __init__(self, bad: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.first_running = threading.Event()
        self.release = threading.Event()
        self.bad = bad

    def __call__(self, items):
        self.calls.append(list(items))
        if len(self.calls) == 1:
            self.first_running.set()
            assert self.release.wait(10)
        if self.bad in items:
            raise ValueError(f"bad item {self.bad}")
        return [item.upper() for item in items]


def _queued(combiner: Combiner, count: int) -> None:
    """Waits until `count` items wait behind the running call."""
    for _ in range(1000):
        with combiner._changed:
            if len(combiner._waiting) == count:
                return
        threading.Event().wait(0.01)
    raise AssertionError(f"{count} items never queued")


def test_alone_an_item_is_done_at_once_in_a_call_of_its_own():
    do = Recorder()
    do.release.set()
    combiner = Combiner(do, key=lambda item: item)
    assert combiner("ada") == "ADA"
    assert combiner("bea") == "BEA"
    assert do.calls == [["ada"], ["bea"]]


def test_items_that_arrive_while_a_call_runs_go_together_in_the_next_with_equal_keys_apart():
    do = Recorder()
    combiner = Combiner(do, key=lambda item: item.split("#")[0])
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(combiner, "ada")
        assert do.first_running.wait(10)
        later = [pool.submit(combiner, item) for item in ("bea#1", "cai", "bea#2", "dan")]
        _queued(combiner, 4)
        do.release.set()
        assert first.result(10) == "ADA"
        assert [f.result(10) for f in later] == ["BEA#1", "CAI", "BEA#2", "DAN"]
    assert do.calls[0] == ["ada"]
    # The two bea items share a key: whichever queued second waits for the call after.
    second, third = do.calls[1:]
    assert len(third) == 1 and sorted(second + third) == ["bea#1", "bea#2", "cai", "dan"]
    assert third[0].startswith("bea#") and {"cai", "dan"} < set(second)


def test_a_call_takes_at_most_most_items():
    do = Recorder()
    combiner = Combiner(do, key=lambda item: item, most=2)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(combiner, "a")
        assert do.first_running.wait(10)
        later = [pool.submit(combiner, item) for item in "bcde"]
        _queued(combiner, 4)
        do.release.set()
        assert [f.result(10) for f in [first, *later]] == list("ABCDE")
    assert sorted(map(len, do.calls[1:])) == [2, 2]


def test_a_failing_item_fails_its_own_caller_and_the_others_get_their_answers():
    do = Recorder(bad="bad")
    combiner = Combiner(do, key=lambda item: item)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(combiner, "ada")
        assert do.first_running.wait(10)
        later = {item: pool.submit(combiner, item) for item in ("bea", "bad", "cai")}
        _queued(combiner, 3)
        do.release.set()
        assert first.result(10) == "ADA"
        assert later["bea"].result(10) == "BEA" and later["cai"].result(10) == "CAI"
        with pytest.raises(ValueError, match="bad item bad"):
            later["bad"].result(10)
    # The batch failed whole, then went again an item at a time.
    assert sorted(do.calls[1]) == ["bad", "bea", "cai"]
    assert sorted(do.calls[2:]) == [["bad"], ["bea"], ["cai"]]
