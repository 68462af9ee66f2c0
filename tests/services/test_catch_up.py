"""The tick's catch-up window: a slot found too late is let pass and said so; within the window it goes
(SQLite and PostgreSQL, the clock pinned)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services.catch_up import missed_note
from digest.services.issues import plan_due_issues
from digest.services.lists import ensure_default_list
from digest.services.subscribers import upsert_subscription

pytestmark = pytest.mark.clock

# The default list's slot: Mondays at 08:00 in Shanghai, 00:00 UTC. 2026-12-14 is a Monday.
SLOT = datetime(2026, 12, 14, 0, 0, tzinfo=UTC)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def _seed(url, catch_up_hours=None):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        if catch_up_hours is not None:
            ml.catch_up_hours = catch_up_hours
        upsert_subscription(session, ml, load_regions(), email="reader@example.org", status="confirmed")


def _tick(url, now):
    with transaction(url) as session:
        return plan_due_issues(session, now)


def _issues(url):
    with transaction(url) as session:
        return session.execute(select(models.Issue.period_end, models.Issue.status)).all()


def _missed(url, now):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        return ml.missed_slot_at, ml.missed_noticed_at, missed_note(ml, now)


def test_a_slot_found_days_late_is_let_pass_and_said_once(database_url, caplog):
    _seed(database_url)
    # The scheduler stopped before the slot and came back on Wednesday: 60 hours late.
    back = utc(2026, 12, 16, 12)
    with caplog.at_level(logging.WARNING, logger="digest.services.catch_up"):
        assert _tick(database_url, back) == []
        assert _tick(database_url, utc(2026, 12, 16, 12, 1)) == []
    assert _issues(database_url) == []
    slot_at, noticed, note = _missed(database_url, back)
    assert (slot_at, noticed) == (SLOT, back)  # the later tick changes nothing: the first one found it
    assert note == {
        "slot": "2026-12-14 08:00",
        "period_end": "2026-12-13",
        "late": "60.0",
        "window": "6",
        "next": "2026-12-21",
    }
    [logged] = [r.getMessage() for r in caplog.records]
    assert "not sent" in logged and "2026-12-21" in logged

    # The next slot comes as usual, at the earliest zone's 08:00 on Monday the 21st.
    [issue_id] = _tick(database_url, utc(2026, 12, 20, 18))
    assert _issues(database_url) == [(date(2026, 12, 20), "sending")]
    with transaction(database_url) as session:
        assert session.get(models.Issue, issue_id).period_start == date(2026, 12, 14)


def test_within_the_window_the_slot_goes_late(database_url):
    _seed(database_url)
    assert len(_tick(database_url, utc(2026, 12, 14, 5, 59))) == 1  # 5 h 59 min after the slot
    assert _issues(database_url) == [(date(2026, 12, 13), "sending")]
    assert _missed(database_url, utc(2026, 12, 14, 6)) == (None, None, None)


def test_the_window_is_the_lists_own(database_url):
    _seed(database_url, catch_up_hours=72)
    assert len(_tick(database_url, utc(2026, 12, 16, 12))) == 1  # 60 hours late, within 72
    a_minute_late = utc(2026, 12, 21, 0, 1)  # the next slot, a minute late, with no window at all
    with transaction(database_url) as session:
        ensure_default_list(session).catch_up_hours = 0
    assert _tick(database_url, a_minute_late) == []
    assert [p for p, _ in _issues(database_url)] == [date(2026, 12, 13)]
    assert _missed(database_url, a_minute_late)[0] == utc(2026, 12, 21, 0)
