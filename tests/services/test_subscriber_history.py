"""A subscriber's delivery history: newest first, a page at a time, only the list asked about; on PostgreSQL read
through the deliveries(subscriber_id) index however large the ledger (the plan held here)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fixtures_db import _empty_postgres
from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.storage.db import make_engine, transaction
from digest.services.list_editing import create_list
from digest.services.lists import ensure_default_list
from digest.services.paging import Cursor
from digest.services.subscriber_history import HISTORY_PAGE, delivery_history, preview_issue

WEEKS = 30
READERS = 2000
SENT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _ledger(url: str) -> tuple[int, int]:
    """WEEKS issues of the default list, each sent to READERS subscribers, and one issue of another list; returns
    the default list's id and one reader's id."""
    with transaction(url) as session:
        ml = ensure_default_list(session)
        other = create_list(session, "other-weekly", {"name": "另一份周报", "sender_email": "o@example.org"})
        session.execute(insert(models.Subscriber), [{"email": f"r{i}@example.org", "name": ""} for i in range(READERS)])
        ends = [date(2026, 11, 22) - timedelta(weeks=WEEKS - n) for n in range(1, WEEKS + 1)]
        session.execute(
            insert(models.Issue),
            [
                {"list_id": ml.id, "number": n, "period_start": e - timedelta(days=6), "period_end": e}
                for n, e in enumerate(ends, 1)
            ]
            + [{"list_id": other.id, "number": 1, "period_start": ends[-1], "period_end": ends[-1]}],
        )
        session.execute(
            text(
                "INSERT INTO deliveries (issue_id, subscriber_id, status, attempts, article_count, updated_at, sent_at)"
                " SELECT i.id, s.id, 'sent', 1, 3, :t, :t FROM issues i CROSS JOIN subscribers s ORDER BY i.id, s.id"
            ),
            {"t": SENT},
        )
        reader = session.scalar(select(models.Subscriber.id).where(models.Subscriber.email == "r7@example.org"))
        return ml.id, reader


def test_the_history_pages_back_through_the_lists_issues_newest_first(database_url):
    list_id, reader = _ledger(database_url)
    with transaction(database_url) as session:
        ml = session.get(models.MailingList, list_id)
        first = delivery_history(session, ml, reader, Cursor(limit=HISTORY_PAGE))
        assert [r.issue_number for r in first.rows] == list(range(WEEKS, WEEKS - HISTORY_PAGE, -1))
        assert first.rows[0].period_end == date(2026, 11, 22) and first.rows[0].status == "sent"
        assert first.newer is None and first.older is not None
        rest = delivery_history(session, ml, reader, Cursor(limit=HISTORY_PAGE, after=first.older))
        assert [r.issue_number for r in rest.rows] == list(range(WEEKS - HISTORY_PAGE, 0, -1))
        assert rest.older is None and rest.newer is not None
        back = delivery_history(session, ml, reader, Cursor(limit=HISTORY_PAGE, before=rest.newer))
        assert back.rows == first.rows
        latest = preview_issue(session, ml)
        assert latest is not None and latest[1] == WEEKS


def test_on_postgresql_a_page_reads_the_subscribers_rows_by_their_index(postgres_url):
    _empty_postgres(postgres_url)
    list_id, reader = _ledger(postgres_url)
    engine = make_engine(postgres_url, pooled=False)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    statements: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "FROM deliveries" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with engine.connect() as conn:
            with Session(conn) as session:
                ml = session.get(models.MailingList, list_id)
                page = delivery_history(session, ml, reader, Cursor(limit=HISTORY_PAGE))
                delivery_history(session, ml, reader, Cursor(limit=HISTORY_PAGE, after=page.older))
            event.remove(engine, "before_cursor_execute", keep)
            assert len(statements) == 2
            for statement, parameters in statements:
                plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
                assert "ix_deliveries_subscriber" in plan, plan
    finally:
        engine.dispose()
