"""Engines, sessions and schema upgrades.

The caller (a CLI command, a task, a request) owns the session and the
transaction: functions elsewhere take a Session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, any_, bindparam, create_engine, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import QueryableAttribute, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, NullPool
from sqlalchemy.sql.elements import ColumnElement

_T = TypeVar("_T")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets a reader run beside the sender.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# As many connections as a web process runs requests at once (Starlette's thread pool: 40), 16 of them kept:
# with the default 5 kept, a busy process closed and reopened PostgreSQL connections (a backend started
# for every eighth public POST under load).
POOL: dict[str, object] = {"pool_size": 16, "max_overflow": 24}


def make_engine(url: str, *, pooled: bool = True) -> Engine:
    """An engine for `url`. Each process builds one and keeps it (the Runtime does); not pooled: each
    connection closes when it is given back, for a caller that opens one and goes."""
    options: dict[str, object] = {} if pooled else {"poolclass": NullPool}
    if url.startswith("sqlite"):
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, **(options or POOL))
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(url: str) -> Iterator[Session]:
    """One session, one transaction on a connection of its own: commit on success, roll back on error.

    For scripts and tests that touch the database now and then; a process that opens sessions
    all day holds a Runtime, whose engine keeps a pool.
    """
    engine = make_engine(url, pooled=False)
    try:
        with session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def among(session: Session, column: QueryableAttribute[_T], values: Iterable[_T]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL one array parameter, not one parameter per value.

    A batch's 500 ids as 500 parameters cost the worker more to write out and
    for the driver to parse (too long for its statement cache) than the query
    cost the database.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(url: str) -> None:
    """Create or upgrade the schema to the newest migration."""
    command.upgrade(alembic_config(url), "head")
