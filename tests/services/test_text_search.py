"""Text searches on SQLite and PostgreSQL: one address and a term thousands hold give the right rows, order and
capped counts whichever way they are found (the newest rows walked, or the trigram index of migration 0015)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import insert, select, text

from digest.adapters.storage import models
from digest.adapters.storage.db import alembic_config, make_engine, transaction
from digest.core.regions import load_regions
from digest.services import text_search
from digest.services.lists import ensure_default_list
from digest.services.subscriber_editing import COUNT_CAP, search_subscriptions, subscriber_query
from digest.services.suppressions import add_suppression, search_suppressions

REGIONS = load_regions()
TRIGRAM_INDEXES = {
    "ix_subscribers_email_trgm",
    "ix_subscribers_name_trgm",
    "ix_suppressions_email_trgm",
    "ix_suppressions_reason_trgm",
    "ix_articles_title_trgm",
    "ix_articles_body_trgm",
}


def _readers(url: str, count: int, status=lambda i: "confirmed") -> list[int]:
    """`count` readers, old0000000@… first: their subscription ids, oldest first. The oldest tenth is named
    "old…", the rest "new…"; every seventh is called 王."""
    with transaction(url) as session:
        ml = ensure_default_list(session)
        people = [
            {"email": f"{'old' if i < count // 10 else 'new'}{i:07d}@Example.org", "name": "王" if i % 7 == 0 else ""}
            for i in range(count)
        ]
        session.execute(insert(models.Subscriber), people)
        ids = session.scalars(select(models.Subscriber.id).order_by(models.Subscriber.id)).all()
        rows = [{"list_id": ml.id, "subscriber_id": s, "status": status(i)} for i, s in enumerate(ids)]
        session.execute(insert(models.Subscription), rows)
        return list(session.scalars(select(models.Subscription.id).order_by(models.Subscription.id)))


def _search(url: str, term: str, **page):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        status = page.pop("status", None)
        found = search_subscriptions(
            session, ml, REGIONS, subscriber_query(ml, REGIONS, text=term, status=status), **page
        )
        return [s.id for s in found.rows], found


@pytest.fixture(params=[text_search.WINDOW, 7], ids=["window", "small-window"])
def window(request, monkeypatch):
    # A small window sends the same searches down the index's way: both ways must answer alike.
    monkeypatch.setattr(text_search, "WINDOW", request.param)
    return request.param


def test_one_address_deep_in_the_list_and_a_name(database_url, window):
    subs = _readers(database_url, 60)
    rows, found = _search(database_url, "OLD0000003@example")
    assert rows == [subs[3]] and found.total == 1 and found.counts["confirmed"] == 1 and found.next_after is None
    rows, found = _search(database_url, "王", limit=4)
    assert rows == [subs[i] for i in (56, 49, 42, 35)] and found.total == 9 and found.next_after == subs[35]
    rows, found = _search(database_url, "王", limit=4, after=subs[35])
    assert rows == [subs[i] for i in (28, 21, 14, 7)] and found.prev_before == subs[28]
    rows, _ = _search(database_url, "王", limit=4, before=subs[28])
    assert rows == [subs[i] for i in (56, 49, 42, 35)]
    rows, _ = _search(database_url, "王", limit=4, offset=8)
    assert rows == [subs[0]]
    assert _search(database_url, "nobody")[0] == [] and _search(database_url, "%")[0] == []


def test_a_term_only_the_oldest_hold_pages_newest_first_with_a_status(database_url, window):
    subs = _readers(database_url, 100, status=lambda i: "unsubscribed" if i % 2 else "confirmed")
    rows, found = _search(database_url, "old", limit=3)
    assert rows == [subs[9], subs[8], subs[7]] and found.total == 10 and found.next_after == subs[7]
    assert found.counts == {"pending": 0, "confirmed": 5, "unsubscribed": 5}
    rows, found = _search(database_url, "old", limit=3, status="unsubscribed")
    assert rows == [subs[9], subs[7], subs[5]] and found.total == 5
    rows, found = _search(database_url, "old", limit=3, status="unsubscribed", after=subs[5])
    assert rows == [subs[3], subs[1]] and found.next_after is None
    rows, found = _search(database_url, "new", limit=None)
    assert rows == subs[:9:-1] and found.total == 90


def test_counts_stop_past_the_cap_for_a_term_everyone_or_the_oldest_hold(database_url):
    subs = _readers(database_url, COUNT_CAP + 20)
    rows, found = _search(database_url, "example.org", limit=5)
    assert rows == subs[:-6:-1] and found.capped and found.total == COUNT_CAP + 1
    assert found.counts == {"pending": 0, "confirmed": COUNT_CAP + 1, "unsubscribed": 0}
    rows, found = _search(database_url, "old", limit=5)  # past the window: the index's way
    assert rows == [subs[i] for i in range(1001, 996, -1)] and not found.capped and found.total == 1002
    rows, found = _search(database_url, "new0010", limit=5)
    assert rows == [subs[i] for i in (10019, 10018, 10017, 10016, 10015)] and found.total == 20


def test_suppressions_match_without_case(database_url):
    with transaction(database_url) as session:
        add_suppression(session, "Li.Wei@Example.org", "Hard bounce")
        add_suppression(session, "wang@example.org", "complaint")
        assert [r.email for r in search_suppressions(session, "LI.WEI@")[0]] == ["Li.Wei@example.org"]
        assert search_suppressions(session, "BOUNCE")[1] == 1 and search_suppressions(session, "example")[1] == 2


def _indexes(url: str) -> dict[str, str]:
    with make_engine(url, pooled=False).connect() as conn:
        return dict(conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%trgm'")).all())


def test_migration_0015_makes_the_trigram_indexes_and_takes_them_away(postgres_url):
    made = _indexes(postgres_url)
    assert set(made) == TRIGRAM_INDEXES
    assert "USING gin (lower((email)::text) gin_trgm_ops)" in made["ix_subscribers_email_trgm"]
    config = alembic_config(postgres_url)
    command.downgrade(config, "0014")
    try:
        assert _indexes(postgres_url) == {}
    finally:
        command.upgrade(config, "head")
    assert _indexes(postgres_url) == made


@pytest.mark.parametrize(
    ("search", "index"),
    [
        ("subscribers", "ix_subscribers_email_trgm"),
        ("subscribers", "ix_subscribers_name_trgm"),
        ("suppressions", "ix_suppressions_reason_trgm"),
        ("articles", "ix_articles_body_trgm"),
    ],
)
def test_the_searches_conditions_are_the_ones_the_indexes_answer(postgres_url, search, index):
    # Sequential scans off: the tables are tiny here, and what is asked is whether the index can answer at all.
    from sqlalchemy.dialects import postgresql

    term = "reader0500000"
    where = {
        "subscribers": text_search.person_matches(term),
        "suppressions": text_search.contains(models.Suppression.reason, term),
        "articles": text_search.contains(models.Article.body_html, term),
    }[search]
    table = {"subscribers": models.Subscriber, "suppressions": models.Suppression, "articles": models.Article}[search]
    statement = (
        select(table.id).where(where).compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    with make_engine(postgres_url, pooled=False).connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(conn.execute(text(f"EXPLAIN {statement}")).scalars())
    assert f"Bitmap Index Scan on {index}" in plan
