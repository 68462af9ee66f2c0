"""Migration 0014: an issue already sent takes the articles its sent copies held (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date

from alembic import command
from sqlalchemy import select, text

from digest.adapters.storage import models
from digest.adapters.storage.db import alembic_config, transaction
from digest.services.lists import ensure_default_list


def _copy(session, issue_id: int, subscriber: str, status: str, article_ids: list[int] | None) -> None:
    person = session.execute(
        text(
            "INSERT INTO subscribers (email, name, locale, time_zone, created_at, form_mails_sent)"
            " VALUES (:email, '', 'zh-CN', 'Asia/Shanghai', CURRENT_TIMESTAMP, 0) RETURNING id"
        ),
        {"email": subscriber},
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO deliveries (issue_id, subscriber_id, status, attempts, article_count, article_ids,"
            " updated_at) VALUES (:issue, :person, :status, 0, 0, :ids, CURRENT_TIMESTAMP)"
        ),
        {
            "issue": issue_id,
            "person": person,
            "status": status,
            "ids": None if article_ids is None else json.dumps(article_ids),
        },
    )


def _issue(session, list_id: int, number: int, status: str) -> int:
    return session.execute(
        text(
            "INSERT INTO issues (list_id, number, period_start, period_end, status, created_at)"
            " VALUES (:list, :number, :start, :end, :status, CURRENT_TIMESTAMP) RETURNING id"
        ),
        {
            "list": list_id,
            "number": number,
            "start": date(2026, 11, 9 + 7 * number),
            "end": date(2026, 11, 15 + 7 * number),
            "status": status,
        },
    ).scalar_one()


def test_migration_0014_gives_a_sent_issue_the_articles_its_sent_copies_held(database_url):
    config = alembic_config(database_url)
    with transaction(database_url) as session:
        list_id = ensure_default_list(session).id  # made with today's model, before its columns go
    command.downgrade(config, "0013")  # to before 0014, whatever follows it
    try:
        with transaction(database_url) as session:
            sent = _issue(session, list_id, 1, "sent")
            _copy(session, sent, "a@example.cn", "sent", [3, 1])
            _copy(session, sent, "b@example.cn", "sent", [1, 3])
            _copy(session, sent, "c@example.cn", "sent", [2])
            _copy(session, sent, "d@example.cn", "failed", [9])  # never arrived: not part of what went out
            _copy(session, sent, "e@example.cn", "skipped", None)
            sending = _issue(session, list_id, 2, "sending")
            _copy(session, sending, "f@example.cn", "sent", [5])
    finally:
        command.upgrade(config, "head")
    with transaction(database_url) as session:
        fixed = dict(session.execute(select(models.Issue.number, models.Issue.article_ids)).all())
    # Still going out: its next batch fixes it, with the week as it stands then.
    assert fixed == {1: [1, 2, 3], 2: None}
