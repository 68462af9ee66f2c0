"""One statement run on its driver connection (storage/quick.py), on a real PostgreSQL: values in and out as
SQLAlchemy would give them, and a connection the server dropped replaced without failing the caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert

from digest.adapters.storage.columns import StatusColumn, UTCDateTime
from digest.adapters.storage.db import make_engine
from digest.adapters.storage.quick import first_row, make_autocommit_engine
from digest.core.statuses import SubscriptionStatus

probe = Table(
    "quick_probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("status", StatusColumn(SubscriptionStatus), nullable=False),
    Column("at", UTCDateTime()),
    Column("doc", JSON),
    Column("hits", Integer, nullable=False, server_default="0"),
)
_UPSERT = insert(probe).values(
    id=bindparam("p_id"), status=SubscriptionStatus.PENDING, at=bindparam("p_at"), doc=bindparam("p_doc")
)
UPSERT = _UPSERT.on_conflict_do_update(index_elements=["id"], set_={"hits": probe.c.hits + 1}).returning(probe)
BEIJING = timezone(timedelta(hours=8))


@pytest.fixture
def engine(postgres_url):
    setup = make_engine(postgres_url, pooled=False)
    probe.drop(setup, checkfirst=True)
    probe.create(setup)
    engine = make_autocommit_engine(postgres_url)
    yield engine
    engine.dispose()
    probe.drop(setup)
    setup.dispose()


UPSERTED = select(UPSERT.cte("up"))  # a constant, as the statements first_row serves are


def _upsert(db, row_id: int, at: datetime):
    return first_row(db, UPSERTED, {"p_id": row_id, "p_at": at, "p_doc": {"区": ["湖南"]}})


def test_values_go_in_and_come_out_as_sqlalchemy_gives_them(engine):
    with engine.connect() as db:
        row = _upsert(db, 1, datetime(2026, 12, 6, 20, 0, tzinfo=BEIJING))
        again = _upsert(db, 1, datetime(2026, 12, 6, 20, 0, tzinfo=BEIJING))
    assert row.status is SubscriptionStatus.PENDING  # the column's enum, not the text
    assert row.at == datetime(2026, 12, 6, 12, 0, tzinfo=UTC) and row.at.tzinfo is UTC
    assert row.doc == {"区": ["湖南"]}
    assert (row.hits, again.hits) == (0, 1)
    # Committed on its own: another connection sees it.
    with make_engine(str(engine.url.render_as_string(hide_password=False)), pooled=False).connect() as other:
        assert other.scalar(text("SELECT hits FROM quick_probe WHERE id = 1")) == 1


def test_no_row_is_none(engine):
    nothing = select(update(probe).where(probe.c.id == bindparam("p_id")).values(hits=0).returning(probe.c.id).cte())
    with engine.connect() as db:
        assert first_row(db, nothing, {"p_id": 404}) is None


def test_a_missing_value_is_named(engine):
    with engine.connect() as db, pytest.raises(KeyError, match="p_doc"):
        first_row(db, UPSERTED, {"p_id": 1, "p_at": datetime.now(UTC)})


def test_a_connection_the_server_dropped_is_replaced_and_the_statement_runs(engine):
    with engine.connect() as db:
        _upsert(db, 1, datetime.now(UTC))
        backend = db.connection.driver_connection.info.backend_pid
    # The pooled connection's backend is killed, as a restart of the server would: the pool has no pre-ping.
    with make_engine(str(engine.url.render_as_string(hide_password=False)), pooled=False).connect() as admin:
        assert admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    with engine.connect() as db:
        row = _upsert(db, 2, datetime.now(UTC))
        assert db.connection.driver_connection.info.backend_pid != backend
    assert row.id == 2 and row.hits == 0


def test_prepared_once_per_connection_and_kept(engine):
    with engine.connect() as db:
        for row_id in (1, 2, 3):
            _upsert(db, row_id, datetime.now(UTC))
        prepared = db.exec_driver_sql("SELECT name FROM pg_prepared_statements WHERE name LIKE 'digest_quick_%%'")
        assert len(prepared.all()) == 1
    with engine.connect() as db:  # the same pooled connection: still prepared, not prepared again
        _upsert(db, 4, datetime.now(UTC))
        assert db.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar() == 1


def test_a_failing_statement_raises_its_own_error_and_the_connection_goes_on(engine):
    broken = select(
        insert(probe).values(id=bindparam("p_id"), status=SubscriptionStatus.PENDING).returning(probe.c.id).cte()
    )
    with engine.connect() as db:
        assert first_row(db, broken, {"p_id": 7}).id == 7
        backend = db.connection.driver_connection.info.backend_pid
        with pytest.raises(psycopg.errors.UniqueViolation):
            first_row(db, broken, {"p_id": 7})
        assert first_row(db, broken, {"p_id": 8}).id == 8
        assert db.connection.driver_connection.info.backend_pid == backend
