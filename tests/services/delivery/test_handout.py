"""Handing rows out to the workers: what a broker took stays queued, what it refused is pending again at once;
without a broker nothing is handed out and the caller sends in-process (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_db import make_settings
from personas import ALL, subscribe_confirmed
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services.delivery.handout import hand_out, hand_to_workers
from digest.services.delivery.plan import start_now
from digest.services.delivery.skips import Skip, read_reason, reason_text, skip_before_building
from digest.services.issues import plan_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime

PERIOD_END = date(2026, 11, 22)


class Refusing:
    """Takes `takes` batches, then refuses the rest as a broker gone away would."""

    def __init__(self, takes: int) -> None:
        self.takes, self.taken = takes, []

    def hand_out(self, issue_id: int, delivery_ids: list[int]) -> None:
        if len(self.taken) == self.takes:
            raise ConnectionError("the broker is down")
        self.taken.append(delivery_ids)


@pytest.fixture
def started(database_url, tmp_path):
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        subscribe_confirmed(session, ml, load_regions())
        issue = plan_issue(session, ml, PERIOD_END)
        assert start_now(session, issue) == len(ALL)
        issue_id = issue.id
    return Runtime(make_settings(database_url, tmp_path)), issue_id


def _statuses(runtime: Runtime) -> dict[int, str]:
    with runtime.transaction() as session:
        return dict(session.execute(select(models.Delivery.id, models.Delivery.status)).all())


def test_a_batch_the_broker_refuses_is_pending_again_and_what_it_took_stays_queued(started):
    runtime, issue_id = started
    broker = Refusing(takes=1)
    with pytest.raises(ConnectionError):
        hand_out(runtime, broker, issue_id=issue_id, respect_backoff=False, batch_size=2)
    [taken] = broker.taken
    statuses = _statuses(runtime)
    assert {statuses[i] for i in taken} == {"queued"}
    assert {s for i, s in statuses.items() if i not in taken} == {"pending"}


def test_every_due_row_goes_in_batches_and_none_twice(started):
    runtime, issue_id = started
    broker = Refusing(takes=100)
    assert hand_out(runtime, broker, issue_id=issue_id, respect_backoff=False, batch_size=4) == len(ALL)
    assert [len(b) for b in broker.taken] == [4, len(ALL) - 4]
    assert set(_statuses(runtime).values()) == {"queued"}
    assert hand_out(runtime, broker, issue_id=issue_id, respect_backoff=False) == 0


def test_without_a_broker_nothing_is_handed_out(started):
    runtime, issue_id = started
    assert runtime.broker is None and hand_to_workers(runtime, issue_id) is None
    assert set(_statuses(runtime).values()) == {"pending"}


def test_a_skip_says_what_the_ledger_records_and_why():
    paused = date(2026, 12, 31)
    cases = [
        ({"suppressed": True, "subscription": "confirmed", "paused_until": None}, Skip.SUPPRESSED),
        ({"suppressed": False, "subscription": "unsubscribed", "paused_until": None}, Skip.NOT_CONFIRMED),
        ({"suppressed": False, "subscription": None, "paused_until": None}, Skip.NOT_CONFIRMED),
        ({"suppressed": False, "subscription": "confirmed", "paused_until": paused}, Skip.PAUSED),
        ({"suppressed": False, "subscription": "confirmed", "paused_until": PERIOD_END}, None),
    ]
    for facts, expected in cases:
        assert skip_before_building(period_end=PERIOD_END, **facts) is expected, facts
    # The ledger keeps a code (a pause with its date), which each reader words in its own language.
    assert (Skip.SUPPRESSED.status, Skip.SUPPRESSED.reason()) == ("suppressed", "suppressed")
    assert (Skip.PAUSED.status, Skip.PAUSED.reason(paused)) == ("skipped", "paused:2026-12-31")
    assert (Skip.EMPTY.status, Skip.EMPTY.reason()) == ("skipped", "empty")


def test_a_stored_reason_reads_back_as_its_code_whether_stored_as_a_code_or_an_old_sentence():
    read = {stored: read_reason(stored) for stored in ("empty", "paused:2026-12-31", "cancelled", "suppressed")}
    assert [(r.code, dict(r.params), r.text) for r in read.values()] == [
        ("empty", {}, "no article this week matches their picks"),
        ("paused", {"until": "2026-12-31"}, "paused until 2026-12-31"),
        ("cancelled", {}, "issue cancelled"),
        ("suppressed", {}, "address is on the suppression list"),
    ]
    # Rows an older version wrote hold English sentences: the same codes come out.
    for old, code in (
        ("no article this week matches their picks", "empty"),
        ("address is on the suppression list", "suppressed"),
        ("no longer subscribed", "not_confirmed"),
        ("issue cancelled", "cancelled"),
    ):
        assert read_reason(old) == read_reason(code), old
    assert read_reason("paused until 2026-12-31") == read["paused:2026-12-31"]
    other = read_reason("written by hand")
    assert (other.code, other.text) == (None, "written by hand")
    assert (
        read_reason(None) is None and reason_text("") == "" and reason_text("not_confirmed") == "no longer subscribed"
    )
