"""Many subscribe requests in one call (`record_asks`: one statement on PostgreSQL) record what each would
alone: a new, a pending, a confirmed and a suppressed address together, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.storage.db import make_engine, transaction
from digest.core.statuses import SubscriptionStatus
from digest.services.lists import ensure_default_list
from digest.services.subscribe_requests import Ask, Choices, record_asks

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HUNAN = Choices(regions=["430000", "431200"], topics=["industry"], time_zone="Europe/Berlin", locale="en")
ANYWHERE = Choices(regions=[], topics=[], time_zone="Asia/Shanghai", locale="zh-CN")


@pytest.fixture
def engine(database_url):
    with transaction(database_url) as session:
        ensure_default_list(session)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _list_id(engine) -> int:
    with engine.connect() as db:
        return db.scalar(select(models.MailingList.id))


def _record(engine, *asks: Ask):
    with engine.begin() as db:
        return record_asks(db, list(asks))


def _picks(engine) -> dict[str, tuple[str, list, set, set]]:
    with Session(engine) as session:
        out = {}
        for sub in session.scalars(select(models.Subscription)):
            regions = {
                r.region_code
                for r in session.scalars(select(models.SubscriptionRegion).filter_by(subscription_id=sub.id))
            }
            topics = {
                t.topic_slug
                for t in session.scalars(select(models.SubscriptionTopic).filter_by(subscription_id=sub.id))
            }
            out[sub.subscriber.email] = (sub.status, sub.region_codes, regions, topics)
        return out


def test_requests_together_record_what_each_would_alone(engine):
    list_id = _list_id(engine)

    def ask(email: str, choices: Choices, name: str = "") -> Ask:
        return Ask.of(list_id, email, name, choices, NOW)

    _record(engine, ask("pending@example.org", HUNAN, "Pia"), ask("confirmed@example.org", HUNAN, "Carl"))
    with engine.begin() as db:
        db.execute(
            models.Subscription.__table__.update()
            .where(
                models.Subscription.subscriber_id
                == select(models.Subscriber.id)
                .where(models.Subscriber.email == "confirmed@example.org")
                .scalar_subquery()
            )
            .values(status=SubscriptionStatus.CONFIRMED)
        )
        db.execute(models.Suppression.__table__.insert().values(email="Suppressed@Example.org", reason="complained"))

    answers = _record(
        engine,
        ask("zed.new@example.org", ANYWHERE, "Zed"),
        ask("pending@example.org", ANYWHERE, "Pia Again"),
        ask("confirmed@example.org", ANYWHERE, "Impostor"),
        ask("suppressed@example.org", HUNAN),
    )
    # In the asks' order, whatever order the statement took them in.
    assert [(a.requester.email, a.already_confirmed, a.may_mail) for a in answers] == [
        ("zed.new@example.org", False, True),
        ("pending@example.org", False, True),
        ("confirmed@example.org", True, True),
        ("suppressed@example.org", False, True),
    ]
    assert [a.requester.name for a in answers] == ["Zed", "Pia Again", "Carl", ""]
    picks = _picks(engine)
    assert picks["zed.new@example.org"] == (SubscriptionStatus.PENDING, [], {"*"}, {"*"})
    assert picks["pending@example.org"] == (SubscriptionStatus.PENDING, [], {"*"}, {"*"})
    # A confirmed subscription keeps its picks; its rows are left as they were.
    assert picks["confirmed@example.org"] == (
        SubscriptionStatus.CONFIRMED, ["430000", "431200"], {"430000", "431200"}, {"industry"}
    )  # fmt: skip
    assert picks["suppressed@example.org"] == (
        SubscriptionStatus.PENDING, ["430000", "431200"], {"430000", "431200"}, {"industry"}
    )  # fmt: skip
    with engine.connect() as db:
        mailed = db.execute(
            select(models.Subscriber.email, models.FormMail.kind)
            .join(models.FormMail, models.FormMail.subscriber_id == models.Subscriber.id)
            .order_by(models.FormMail.id)
        ).all()
    later = [tuple(row) for row in mailed[2:]]
    assert sorted(later) == [
        ("confirmed@example.org", "known"),
        ("pending@example.org", "confirm"),
        ("zed.new@example.org", "confirm"),
    ]


def test_one_address_twice_in_one_call_is_refused_before_anything_is_written(engine):
    list_id = _list_id(engine)
    twice = [Ask.of(list_id, "twice@example.org", "", HUNAN, NOW)] * 2
    with pytest.raises(ValueError, match="one address twice"):
        _record(engine, *twice)
    with engine.connect() as db:
        assert db.scalar(select(models.Subscriber.id)) is None
