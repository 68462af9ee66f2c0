"""The public subscribe form must not tell who subscribes by how long it takes: a new, a pending and a
confirmed address cost the same statements, in the same order (counted, not timed), on SQLite and
PostgreSQL, and the web form sends each exactly one mail."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from digest.adapters.storage import models, quick
from digest.adapters.storage.db import make_engine, session_factory, transaction
from digest.core.statuses import SubscriptionStatus
from digest.services.lists import ensure_default_list
from digest.services.subscribe_requests import Choices, request_subscription

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
PICKS = Choices(regions=["430000"], topics=["industry"], time_zone="Europe/Berlin", locale="en")


def _shape(statement: str) -> str:
    # The statement without its literal values: the work, not the data.
    return re.sub(r"\s+", " ", re.sub(r"'[^']*'|\b\d+\b", "?", statement)).strip()


@pytest.fixture
def engine(database_url):
    with transaction(database_url) as session:
        ensure_default_list(session)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _statements(engine, address: str, monkeypatch) -> list[str]:
    """What went to the database: through SQLAlchemy's cursor, or (on PostgreSQL) prepared on the connection's
    libpq handle, as storage/quick.py sends its one statement."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(_shape(statement))

    def record_prepared(self, compiled, params):
        seen.append(_shape(compiled.sql.decode()))
        return run_prepared(self, compiled, params)

    sessions = session_factory(engine)
    with sessions.begin() as session, monkeypatch.context() as patch:
        ml = ensure_default_list(session)
        event.listen(engine, "before_cursor_execute", record)
        patch.setattr(quick._Prepared, "run", record_prepared)
        try:
            request_subscription(session.connection(), ml.id, address, "某人", PICKS, NOW)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    return seen


run_prepared = quick._Prepared.run


def test_new_pending_and_confirmed_addresses_cost_the_same_statements(engine, database_url, monkeypatch):
    def _statements_of(address: str) -> list[str]:
        return _statements(engine, address, monkeypatch)

    _statements_of("pending@example.org")
    _statements_of("confirmed@example.org")
    with transaction(database_url) as session:
        known = models.Subscriber.email == "confirmed@example.org"
        sub = session.scalar(select(models.Subscription).join(models.Subscriber).where(known))
        sub.status, sub.region_codes = SubscriptionStatus.CONFIRMED, ["000000"]
        session.add(models.Suppression(email="suppressed@example.org", reason="complained"))
    new = _statements_of("new@example.org")
    pending = _statements_of("pending@example.org")
    confirmed = _statements_of("confirmed@example.org")
    # A suppressed address gets no form mail, by the same statements: its timing tells nothing either.
    suppressed = _statements_of("suppressed@example.org")
    assert new == pending == confirmed == suppressed
    # The person and the membership are upserts: the same INSERT … ON CONFLICT DO UPDATE for a new row as
    # for a known one; then the membership's picks' rows, the same statements whoever it is.
    if engine.dialect.name == "postgresql":
        # One statement: the requests (an array a column), the upserts and the pick rows are its CTEs.
        (statement,) = new
        assert statement.startswith("WITH ask AS (SELECT")
        for part in (
            "person AS (INSERT INTO subscribers",
            "membership AS (INSERT INTO subscriptions",
            "DELETE FROM subscription_regions",
            "INSERT INTO subscription_topics",
            "INSERT INTO form_mails",
        ):
            assert part in statement
    else:
        writes = [s for s in new if not s.startswith("SELECT")]
        upserts, picks = writes[:2], writes[2:]
        assert all(s.startswith("INSERT") and "ON CONFLICT" in s and "DO UPDATE" in s for s in upserts)
        assert [s.split()[0:3] for s in picks] == [
            ["DELETE", "FROM", "subscription_regions"],
            ["INSERT", "INTO", "subscription_regions"],
            ["DELETE", "FROM", "subscription_topics"],
            ["INSERT", "INTO", "subscription_topics"],
            ["INSERT", "INTO", "form_mails"],  # the mail it owes, sent after the commit
        ]
    with transaction(database_url) as session:
        rows = {
            s.subscriber.email: (s.status, s.region_codes, s.subscriber.locale)
            for s in session.scalars(select(models.Subscription))
        }
    # The confirmed subscription and its owner were left as they were; the others hold the form's picks.
    assert rows["confirmed@example.org"] == (SubscriptionStatus.CONFIRMED, ["000000"], "en")
    assert rows["new@example.org"] == (SubscriptionStatus.PENDING, ["430000"], "en")
    assert rows["pending@example.org"] == (SubscriptionStatus.PENDING, ["430000"], "en")
    with transaction(database_url) as session:
        mailed = session.scalars(
            select(models.Subscriber.email).join(models.FormMail, models.FormMail.subscriber_id == models.Subscriber.id)
        ).all()
    assert "suppressed@example.org" not in mailed and "new@example.org" in mailed
