"""The delivery ledger: claims and outcomes committed once per message, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from personas import LI_HUNAN, WANG_NATIONAL
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import make_engine, transaction
from digest.services.issues import claim_due, pause_issue, plan_issue, start_issue
from digest.services.ledger import Claim, Ledger
from digest.services.lists import ensure_default_list

PERIOD_END = date(2021, 6, 20)


def _queued_issue(url: str) -> tuple[int, list[int]]:
    """An issue being sent with two queued rows (Wang's, then Li's)."""
    with transaction(url) as session:
        ml = ensure_default_list(session)
        now = datetime.now(UTC)
        for persona in (WANG_NATIONAL, LI_HUNAN):
            subscriber = models.Subscriber(email=persona.email, name=persona.name, created_at=now)
            session.add(subscriber)
            session.flush()
            session.add(
                models.Subscription(
                    list_id=ml.id,
                    subscriber_id=subscriber.id,
                    status="confirmed",
                    region_codes=sorted(persona.region_codes),
                    topic_slugs=[],
                    created_at=now,
                )
            )
        session.flush()
        issue = plan_issue(session, ml, PERIOD_END)
        start_issue(session, issue)
        issue_id = issue.id
    with transaction(url) as session:
        ids = claim_due(session, limit=10, issue_id=issue_id)[issue_id]
    return issue_id, sorted(ids)


def _rows(url: str) -> list[tuple]:
    with transaction(url) as session:
        d = models.Delivery
        return [
            tuple(r)
            for r in session.execute(
                select(d.status, d.attempts, d.message_id, d.article_ids, d.location).order_by(d.id)
            )
        ]


def test_a_claim_and_the_last_outcome_commit_together(database_url):
    issue_id, (wang, li) = _queued_issue(database_url)
    with Ledger(make_engine(database_url, pooled=False)) as ledger:
        ledger.take([wang, li])
        assert ledger.commit(Claim(wang, issue_id, "<w@x>", (1, 2)))
        ledger.record(wang, "sending", status="sent", location="smtp://sink 250 ok")
        pending = ledger.start_commit(Claim(li, issue_id, "<l@x>", (3,)))
        assert pending.result() and pending.result()  # read once, kept
    assert _rows(database_url) == [
        ("sent", 1, "<w@x>", [1, 2], "smtp://sink 250 ok"),
        ("sending", 1, "<l@x>", [3], None),
    ]


def test_a_row_is_claimed_once_and_never_while_its_issue_is_paused(database_url):
    issue_id, (wang, li) = _queued_issue(database_url)
    with Ledger(make_engine(database_url, pooled=False)) as ledger:
        ledger.take([wang, li])
        assert ledger.commit(Claim(wang, issue_id, "<w@x>", (1,)))
        assert not ledger.commit(Claim(wang, issue_id, "<w2@x>", (1,)))  # taken already
        with transaction(database_url) as session:
            pause_issue(session, session.get(models.Issue, issue_id))
        assert not ledger.start_commit(Claim(li, issue_id, "<l@x>", (1,))).result()
    assert [(s, a, m) for s, a, m, _, _ in _rows(database_url)] == [("sending", 1, "<w@x>"), ("queued", 0, None)]


def test_on_postgresql_a_sent_commit_must_be_read_before_the_next(postgres_url):
    from fixtures_db import _empty_postgres

    _empty_postgres(postgres_url)
    issue_id, (wang, li) = _queued_issue(postgres_url)
    with Ledger(make_engine(postgres_url, pooled=False)) as ledger:
        ledger.take([wang, li])
        first = ledger.start_commit(Claim(wang, issue_id, "<w@x>", (1,)))
        with pytest.raises(RuntimeError, match="not been read"):
            ledger.start_commit(Claim(li, issue_id, "<l@x>", (1,)))
        assert first.result()
        assert ledger.commit(Claim(li, issue_id, "<l@x>", (1,)))
    assert [s for s, *_ in _rows(postgres_url)] == ["sending", "sending"]


def test_a_commit_left_unread_is_still_committed_when_the_ledger_closes(database_url):
    issue_id, (wang, _) = _queued_issue(database_url)
    with pytest.raises(KeyError), Ledger(make_engine(database_url, pooled=False)) as ledger:
        ledger.take([wang])
        ledger.start_commit(Claim(wang, issue_id, "<w@x>", (1,)))
        raise KeyError("the batch failed before reading the claim")
    assert _rows(database_url)[0][:3] == ("sending", 1, "<w@x>")


def test_on_postgresql_the_ledger_reads_rows_by_primary_key_whatever_the_statistics_said(postgres_url):
    """Statistics from planning time call `queued` rare; a claim must still not walk the queued rows."""
    import psycopg
    from fixtures_db import _empty_postgres
    from sqlalchemy import insert, text

    from digest.services.ledger import _statements

    _empty_postgres(postgres_url)
    now = datetime.now(UTC)
    with transaction(postgres_url) as session:
        ml = ensure_default_list(session)
        session.execute(
            insert(models.Subscriber),
            [{"email": f"reader{i}@example.org", "name": "", "created_at": now} for i in range(3000)],
        )
        session.execute(
            insert(models.Subscription),
            [
                {
                    "list_id": ml.id,
                    "subscriber_id": sid,
                    "status": "confirmed",
                    "region_codes": [],
                    "topic_slugs": [],
                    "created_at": now,
                }
                for sid in session.scalars(select(models.Subscriber.id))
            ],
        )
        issue = plan_issue(session, ml, PERIOD_END)  # analyses the table: every row pending
        start_issue(session, issue)
        issue_id = issue.id
    with transaction(postgres_url) as session:
        assert (
            session.scalar(
                text(
                    "select most_common_vals::text from pg_stats where tablename = 'deliveries' and attname = 'status'"
                )
            )
            == "{pending}"
        )
        queued = claim_due(session, limit=3000, issue_id=issue_id)[issue_id]
    engine = make_engine(postgres_url, pooled=False)
    claim_shape = ((), 0, True)
    outcome_shape = ((("location", "reason", "sent_at", "status"),), 0, True)
    values = {
        "c_id": queued[1500],
        "c_issue": issue_id,
        "c_message_id": "<m@x>",
        "c_count": 1,
        "c_articles": [1],
        "c_now": now,
        "c_holder": "0123456789abcdef0123456789abcdef",
        "w0_id": queued[1499],
        "w0_expected": "sending",
        "w0_updated_at": now,
        "w0_status": "sent",
        "w0_location": "smtp://sink",
        "w0_reason": None,
        "w0_sent_at": now,
    }
    with psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        for n, shape in enumerate((claim_shape, outcome_shape)):
            [statement] = _statements(engine.dialect, shape)
            conn.execute(f"PREPARE s{n} AS {statement.sql}")
            args = ", ".join(
                "NULL" if a is None else psycopg.sql.Literal(a.decode()).as_string(conn)
                for a in statement.arguments(values, "utf-8")
            )
            plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN EXECUTE s{n}({args})"))
            assert "deliveries_pkey" in plan and "ix_deliveries" not in plan, plan
