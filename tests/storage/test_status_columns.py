"""The status columns: typed by the enums in Python, the same VARCHAR(16) of bare values in the database."""

from __future__ import annotations

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from digest.adapters.storage import models
from digest.adapters.storage.db import make_engine, transaction
from digest.core.statuses import DeliveryStatus, IssueStatus, SubscriptionStatus


def test_the_models_match_the_migrated_schema(database_url):
    # compare_type: a column type the migrations did not make (an ENUM, a CHECK, another length) shows here.
    with make_engine(database_url, pooled=False).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, models.Base.metadata) == []


def _one_of_each(session) -> tuple[int, int, int]:
    ml = models.MailingList(slug="weekly", name="Weekly", sender_email="news@example.org")
    person = models.Subscriber(email="reader@example.org")
    session.add_all([ml, person])
    session.flush()
    sub = models.Subscription(list_id=ml.id, subscriber_id=person.id)
    issue = models.Issue(list_id=ml.id, number=1, period_start=date(2026, 11, 16), period_end=date(2026, 11, 22))
    session.add_all([sub, issue])
    session.flush()
    delivery = models.Delivery(issue_id=issue.id, subscriber_id=person.id, status="bounced")  # a bare value too
    session.add(delivery)
    session.flush()
    return sub.id, issue.id, delivery.id


def test_statuses_are_stored_as_bare_values_and_load_as_members(database_url):
    with transaction(database_url) as session:
        ids = _one_of_each(session)
    with make_engine(database_url, pooled=False).connect() as conn:
        stored = [
            conn.execute(text(f"SELECT status FROM {table} WHERE id = :id"), {"id": row_id}).scalar_one()
            for table, row_id in zip(("subscriptions", "issues", "deliveries"), ids, strict=True)
        ]
    assert stored == ["pending", "planned", "bounced"] and all(type(s) is str for s in stored)
    with transaction(database_url) as session:
        loaded = [
            session.get(models.Subscription, ids[0]).status,
            session.get(models.Issue, ids[1]).status,
            session.scalar(select(models.Delivery.status).where(models.Delivery.id == ids[2])),
        ]
        found = session.scalar(select(models.Delivery.id).where(models.Delivery.status == DeliveryStatus.BOUNCED))
    assert loaded == [SubscriptionStatus.PENDING, IssueStatus.PLANNED, DeliveryStatus.BOUNCED]
    assert [type(s) for s in loaded] == [SubscriptionStatus, IssueStatus, DeliveryStatus] and found == ids[2]


def test_a_value_outside_the_enum_never_reaches_the_database(database_url):
    with transaction(database_url) as session:
        _, issue_id, _ = _one_of_each(session)
    with (
        pytest.raises(StatementError, match="'lost' is not a valid IssueStatus"),
        transaction(database_url) as session,
    ):
        session.get(models.Issue, issue_id).status = "lost"
    with transaction(database_url) as session:
        assert session.get(models.Issue, issue_id).status is IssueStatus.PLANNED
