"""One statement, run on its connection's driver: compiled once, prepared on the server, past SQLAlchemy's execute.

The public routes' writes (a subscribe request, a one-click unsubscribe) are each one statement of
data-modifying CTEs, run thousands of times a second. Measured in process on PostgreSQL
(docs/performance.md, "The third round"), SQLAlchemy's work around that one statement (its compiled-cache
lookup, parameter and result processing, events, the autocommit isolation level set and reset on every
checkout, the pool's pre-ping round trip) cost the web process about three times the client CPU of the
statement itself. Here the statement is compiled once per dialect, its values go through the same
bind processors SQLAlchemy would apply (UTC datetimes, JSON), psycopg prepares it on each connection
(an autocommit connection never rolls back, so the preparation lasts), and its row comes back through
the columns' result processors (statuses as their enums).

The connections come from an engine without the pre-ping (`make_autocommit_engine`): a connection the server
dropped (a restart, a terminated backend) fails its statement instead, and `first_row` then drops the
pool's connections and runs the statement once more on a new one. The statements it serves are upserts
and conditional UPDATEs that a second run leaves as the first did, but for what they count: in the rare
case that the server committed before the connection broke, a subscribe request counts (and mails) twice.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql import Select

from digest.adapters.storage.db import POOL

_Processor = Callable[[Any], Any]


def make_autocommit_engine(url: str) -> Engine:
    """A pooled PostgreSQL engine whose connections are autocommit from the start (none set and reset per
    checkout) and not pinged before use: for `first_row`, which handles a dropped connection itself."""
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, **POOL)


@dataclass(frozen=True)
class CompiledStatement:
    """A statement's SQL for the driver (psycopg's %(name)s), its own values, and how values go in and out."""

    sql: str
    fixed: Mapping[str, object]  # the values the statement carries itself (statuses, limits), processed
    bound: Mapping[str, _Processor | None]  # each value the caller gives, by bind name, and its processor
    row: type  # a named tuple of the statement's columns
    results: tuple[_Processor | None, ...]

    @classmethod
    def of(cls, statement: Select[Any], dialect: Dialect) -> CompiledStatement:
        compiled = statement.compile(dialect=dialect)
        fixed: dict[str, object] = {}
        bound: dict[str, _Processor | None] = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required:
                bound[name] = process
            else:
                value = bind.effective_value
                fixed[name] = process(value) if process else value
        columns = list(statement.selected_columns)
        results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        row = namedtuple("Row", [c.key for c in columns], rename=True)  # type: ignore[misc]
        return cls(compiled.string, fixed, bound, row, results)

    def parameters(self, values: Mapping[str, object]) -> dict[str, object]:
        """The driver's parameters: the statement's own, and `values` (by bind name) processed."""
        missing = self.bound.keys() - values.keys()
        if missing:
            raise KeyError(f"no value for {', '.join(sorted(missing))}")
        given = {name: (process(values[name]) if process else values[name]) for name, process in self.bound.items()}
        return {**self.fixed, **given}

    def make_row(self, raw: tuple[Any, ...]) -> Any:
        return self.row(*(process(v) if process else v for process, v in zip(self.results, raw, strict=True)))


# By the statement object's and the dialect's identity (a clause's == builds an expression): the statements
# served are module constants, each compiled once a process. The entry holds both, so neither id is reused.
_COMPILED: dict[tuple[int, int], tuple[Select[Any], Dialect, CompiledStatement]] = {}


def compiled_for(statement: Select[Any], dialect: Dialect) -> CompiledStatement:
    key = (id(statement), id(dialect))
    entry = _COMPILED.get(key)
    if entry is None:
        entry = _COMPILED[key] = (statement, dialect, CompiledStatement.of(statement, dialect))
    return entry[2]


def first_row(db: Connection, statement: Select[Any], values: Mapping[str, object]) -> Any | None:
    """The first row `statement` returns with `values` (None: no row), run on `db`'s psycopg connection, once
    more on a new connection if the server had dropped this one."""
    compiled = compiled_for(statement, db.dialect)
    params = compiled.parameters(values)
    for attempt in (1, 2):
        driver = cast("psycopg.Connection[Any]", db.connection.driver_connection)
        try:
            raw = driver.execute(compiled.sql, params, prepare=True).fetchone()
        except psycopg.OperationalError:
            if attempt == 2 or not driver.closed:
                raise
            # Every pooled connection is as old as this one: after a restart they are all gone.
            db.invalidate()
            db.engine.dispose()
            continue
        return None if raw is None else compiled.make_row(raw)
    raise AssertionError("unreachable")  # the second attempt returns or raises
