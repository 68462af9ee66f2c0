"""Migration 0017: every list there was mails leads from then on, as a new one does (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select, text

from digest.adapters.storage import models
from digest.adapters.storage.db import alembic_config, transaction


def test_migration_0017_gives_existing_lists_the_lead(database_url):
    config = alembic_config(database_url)
    command.downgrade(config, "0015")  # to before 0017, whatever follows it
    try:
        with transaction(database_url) as session:
            session.execute(
                text(
                    "INSERT INTO lists (slug, name, sender_name, sender_email, masthead, tagline, credits, language,"
                    " created_at) VALUES ('farm', '农业周报', '', 'farm@example.org', '', '', '[]', 'zh-CN',"
                    " CURRENT_TIMESTAMP)"
                )
            )
    finally:
        command.upgrade(config, "head")
    with transaction(database_url) as session:
        assert session.execute(select(models.MailingList.slug, models.MailingList.article_text)).all() == [
            ("farm", "lead")
        ]
        session.add(models.MailingList(slug="new", name="新列表", sender_email="new@example.org", credits=[]))
        session.flush()
        assert session.scalar(select(models.MailingList.article_text).where(models.MailingList.slug == "new")) == "lead"
