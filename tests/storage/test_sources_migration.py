"""Migration 0018: the sources table and the articles' feed keys, up and down (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from digest.adapters.storage import models
from digest.adapters.storage.db import alembic_config, make_engine, transaction


def _tables_and_article_columns(url: str) -> tuple[set[str], set[str]]:
    engine = make_engine(url, pooled=False)
    try:
        found = inspect(engine)
        return set(found.get_table_names()), {c["name"] for c in found.get_columns("articles")}
    finally:
        engine.dispose()


def test_migration_0018_goes_down_and_up_keeping_articles(database_url):
    config = alembic_config(database_url)
    with transaction(database_url) as session:
        ml = models.MailingList(slug="farm", name="农业周报", sender_email="farm@example.org", credits=[])
        ml.topics = [models.Topic(slug="industry", name="产业发展", position=0)]
        session.add(ml)
        session.flush()
        session.add(
            models.Article(
                list_id=ml.id,
                topic_id=ml.topics[0].id,
                title="旧文章",
                body_html="<p>正文</p>",
                published_at=datetime(2026, 11, 20, tzinfo=UTC),
                fingerprint="f" * 64,
            )
        )
    command.downgrade(config, "0017")
    try:
        tables, columns = _tables_and_article_columns(database_url)
        assert "sources" not in tables and not {"source_id", "item_key"} & columns
    finally:
        command.upgrade(config, "head")
    tables, columns = _tables_and_article_columns(database_url)
    assert "sources" in tables and {"source_id", "item_key"} <= columns
    with transaction(database_url) as session:
        assert session.execute(select(models.Article.title, models.Article.source_id)).all() == [("旧文章", None)]


def test_an_item_key_is_unique_per_source_and_a_removed_source_keeps_its_articles(database_url):
    with transaction(database_url) as session:
        ml = models.MailingList(slug="farm", name="农业周报", sender_email="farm@example.org", credits=[])
        ml.topics = [models.Topic(slug="industry", name="产业发展", position=0)]
        session.add(ml)
        session.flush()
        source = models.Source(list_id=ml.id, url="https://news.example.org/feed.xml")
        session.add(source)
        session.flush()
        assert (source.interval_minutes, source.paused, source.allow_private, source.failures) == (60, False, False, 0)

        def article(key: str, fingerprint: str) -> models.Article:
            return models.Article(
                list_id=ml.id,
                topic_id=ml.topics[0].id,
                title="条目",
                body_html="<p>正文</p>",
                published_at=datetime(2026, 11, 20, tzinfo=UTC),
                fingerprint=fingerprint,
                source_id=source.id,
                item_key=key,
            )

        session.add(article("k" * 64, "a" * 64))
        session.flush()
        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(article("k" * 64, "b" * 64))
            session.flush()
        source_id = source.id
    with transaction(database_url) as session:
        session.execute(text("DELETE FROM sources WHERE id = :id"), {"id": source_id})
    with transaction(database_url) as session:
        assert session.execute(select(models.Article.title, models.Article.source_id)).all() == [("条目", None)]
