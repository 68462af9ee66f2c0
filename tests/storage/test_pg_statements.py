"""Statements sent through libpq now and answered later, on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import psycopg
import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    insert,
    select,
    text,
    update,
)

from digest.adapters.storage.db import make_engine
from digest.adapters.storage.pg_statements import PreparedStatement, ServerStatements

probe = Table(
    "pg_statement_probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("label", Text),
    Column("at", DateTime(timezone=True)),
    Column("doc", JSON),
    Column("flag", Boolean),
    Column("day", Date),
    Column("hits", Integer, nullable=False, server_default="0"),
)
INSERT = insert(probe).values({c: bindparam(c) for c in ("id", "label", "at", "doc", "flag", "day")})
BUMP = update(probe).where(probe.c.id == bindparam("target")).values(hits=probe.c.hits + 1, label="bumped")
BEIJING = timezone(timedelta(hours=8))


@pytest.fixture
def engine(postgres_url):
    engine = make_engine(postgres_url, pooled=False)
    probe.drop(engine, checkfirst=True)
    probe.create(engine)
    yield engine
    probe.drop(engine)


@pytest.fixture
def conn(engine):
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


@pytest.fixture
def server(conn):
    server = ServerStatements(conn)
    yield server
    server.close()


def rows(engine):
    with engine.connect() as other:  # another connection: only committed rows show
        return [tuple(r) for r in other.execute(select(probe).order_by(probe.c.id))]


def test_values_arrive_exactly_and_are_committed_when_the_reply_is_read(engine, conn, server):
    statement = PreparedStatement.of(INSERT, engine.dialect)
    at = datetime(2021, 6, 21, 8, 0, 30, 123456, tzinfo=BEIJING)
    server.send(
        statement,
        {
            "id": 1,
            "label": "王芳 'quoted' \"and\" \\ back",
            "at": at,
            "doc": [3, "四", None],
            "flag": True,
            "day": date(2021, 6, 20),
        },
    )
    assert server.receive() == 1
    server.send(statement, {"id": 2, "label": None, "at": None, "doc": None, "flag": False, "day": None})
    assert server.receive() == 1
    [first, second] = rows(engine)
    assert first == (1, "王芳 'quoted' \"and\" \\ back", at, [3, "四", None], True, date(2021, 6, 20), 0)
    assert first[2].utcoffset() is not None and first[2] == datetime(2021, 6, 21, 0, 0, 30, 123456, tzinfo=UTC)
    assert second == (2, None, None, None, False, None, 0)


def test_the_reply_counts_the_rows_touched_and_fixed_values_go_along(engine, conn, server):
    insert_one = PreparedStatement.of(INSERT, engine.dialect)
    server.send(insert_one, {"id": 7, "label": "x", "at": None, "doc": [], "flag": None, "day": None})
    server.receive()
    bump = PreparedStatement.of(BUMP, engine.dialect)
    server.send(bump, {"target": 7})
    assert server.receive() == 1
    server.send(bump, {"target": 8})
    assert server.receive() == 0
    assert rows(engine) == [(7, "bumped", None, [], None, None, 1)]


def test_the_caller_works_while_the_statement_travels(engine, conn, server):
    statement = PreparedStatement.of(INSERT, engine.dialect)
    server.send(statement, {"id": 3, "label": "later", "at": None, "doc": None, "flag": None, "day": None})
    # Meanwhile, elsewhere: the sent statement does not stand in anyone's way.
    with engine.begin() as other:
        other.execute(insert(probe).values(id=4, label="meanwhile"))
    assert server.receive() == 1
    assert [r[:2] for r in rows(engine)] == [(3, "later"), (4, "meanwhile")]


def test_a_failed_statement_raises_the_database_error_and_leaves_the_connection_usable(engine, conn, server):
    statement = PreparedStatement.of(INSERT, engine.dialect)
    values = {"id": 5, "label": "once", "at": None, "doc": None, "flag": None, "day": None}
    server.send(statement, values)
    server.receive()
    server.send(statement, values)
    with pytest.raises(psycopg.errors.UniqueViolation, match="pg_statement_probe_pkey"):
        server.receive()
    server.send(statement, dict(values, id=6))
    assert server.receive() == 1
    assert conn.execute(text("select count(*) from pg_statement_probe")).scalar() == 2


def test_values_without_an_exact_text_form_are_refused_by_name(engine, conn, server):
    statement = PreparedStatement.of(INSERT, engine.dialect)
    base = {"id": 9, "label": None, "at": None, "doc": None, "flag": None, "day": None}
    with pytest.raises(TypeError, match="at: a timestamp for PostgreSQL must be aware"):
        server.send(statement, dict(base, at=datetime(2021, 6, 21, 8, 0)))
    with pytest.raises(TypeError, match="id: no text form for float"):
        server.send(statement, dict(base, id=9.5))
    server.send(statement, base)  # nothing was sent by the refused ones
    assert server.receive() == 1


def test_statements_are_prepared_once_per_holder_and_deallocated_when_it_lets_go(engine):
    sql = PreparedStatement.of(BUMP, engine.dialect).sql

    def prepared_count(conn):
        return conn.execute(
            text("select count(*) from pg_prepared_statements where statement = :sql"), {"sql": sql}
        ).scalar()

    for i in range(3):
        with engine.connect() as conn:  # the pool hands back the same DBAPI connection
            conn.execution_options(isolation_level="AUTOCOMMIT")
            server = ServerStatements(conn)
            for _ in range(2):
                server.send(PreparedStatement.of(BUMP, engine.dialect), {"target": i})  # new object, same SQL
                assert server.receive() == 0
            assert prepared_count(conn) == 1
            server.close()
            assert prepared_count(conn) == 0
            # psycopg's own prepared statements, then a rollback: psycopg deallocates them all
            # (DEALLOCATE ALL), which is why no name outlives its holder.
            driver = conn.connection.driver_connection
            driver.execute("select 1", prepare=True)
            driver.execute("rollback")
