"""One statement, run on its connection's libpq handle: compiled once, prepared once per connection.

The public routes' writes (a subscribe request, a one-click unsubscribe) are each one statement of
data-modifying CTEs, run thousands of times a second. Measured in process on PostgreSQL
(docs/performance.md, "The third round"), SQLAlchemy's work around that one statement (its compiled-cache
lookup, parameter and result processing, events, the autocommit isolation level set and reset on every
checkout, the pool's pre-ping round trip) cost the web process more client CPU than everything else the
subscribe route does, and psycopg's own execute (a cursor, its prepare bookkeeping, a dumper looked up per
value) half of what was left. Here the statement is compiled once per dialect; its values go through the
bind processors SQLAlchemy would apply (UTC datetimes, JSON), then psycopg's dumpers in one call; it is
prepared under a name of its own on each connection, which keeps it (an autocommit connection never rolls
back); and its row comes back through psycopg's loaders and the columns' result processors (statuses as
their enums).

The connections come from an engine without the pre-ping (`make_autocommit_engine`): a connection the server
dropped (a restart, a terminated backend) fails its statement instead, and `first_row` then drops the
pool's connections and runs the statement once more on a new one. The statements it serves are upserts
and conditional UPDATEs that a second run leaves as the first did, but for what they count: in the rare
case that the server committed before the connection broke, a subscribe request counts (and mails) twice.
"""

from __future__ import annotations

import itertools
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql import Select

from digest.adapters.storage.db import POOL
from digest.adapters.storage.pg_statements import statement_error

_Processor = Callable[[Any], Any]
_names = itertools.count(1)
_UNBOUND = object()


def make_autocommit_engine(url: str) -> Engine:
    """A pooled PostgreSQL engine whose connections are autocommit from the start (none set and reset per
    checkout) and not pinged before use: for `first_row`, which handles a dropped connection itself."""
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, **POOL)


@dataclass(frozen=True)
class CompiledStatement:
    """A statement's SQL with $n parameters, the name it is prepared under, its values in order (its own, or
    where the caller's go and how they are processed), and how its row comes out."""

    name: bytes
    sql: bytes
    values: tuple[tuple[str, _Processor | None, object], ...]  # (bind name, processor, own value or _UNBOUND)
    row: type  # a named tuple of the statement's columns
    results: tuple[_Processor | None, ...]

    @classmethod
    def of(cls, statement: Select[Any], dialect: Dialect) -> CompiledStatement:
        # libpq numbers its parameters; a copy of the dialect that writes $1, $2 … says in which order.
        numbered = cast("type[DefaultDialect]", type(dialect))(paramstyle="numeric_dollar")
        compiled = statement.compile(dialect=numbered)
        values = []
        for name in cast("list[str]", compiled.positiontup):
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            values.append((name, process, _UNBOUND if bind.required else bind.effective_value))
        columns = list(statement.selected_columns)
        results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        row = namedtuple("Row", [c.key for c in columns], rename=True)  # type: ignore[misc]
        prepared_as = f"digest_quick_{next(_names)}".encode("ascii")  # unique in the process, as pg_statements' are
        return cls(prepared_as, compiled.string.encode("utf-8"), tuple(values), row, results)

    def parameters(self, values: Mapping[str, object]) -> list[object]:
        """The parameters in order: the statement's own and `values` (by bind name), processed."""
        missing = {name for name, _, own in self.values if own is _UNBOUND} - values.keys()
        if missing:
            raise KeyError(f"no value for {', '.join(sorted(missing))}")
        out = []
        for name, process, own in self.values:
            value = values[name] if own is _UNBOUND else own
            out.append(process(value) if process else value)
        return out

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


class _Prepared:
    """What one connection has prepared, and its psycopg adapters: kept in the pool's record of it."""

    def __init__(self, driver: psycopg.Connection[Any]) -> None:
        self.pgconn = driver.pgconn
        self.adapt = Transformer(driver)
        self.names: set[bytes] = set()

    def run(self, compiled: CompiledStatement, params: list[object]) -> list[tuple[Any, ...]]:
        if compiled.name not in self.names:
            ready = self.pgconn.prepare(compiled.name, compiled.sql, None)
            if ready.status != pq.ExecStatus.COMMAND_OK:
                raise statement_error(ready, self.pgconn)
            self.names.add(compiled.name)
        args = self.adapt.dump_sequence(params, [PyFormat.TEXT] * len(params))
        self.pgconn.send_query_prepared(compiled.name, args)
        rows: list[tuple[Any, ...]] = []
        error = None
        # Every result up to the end is read, so the connection is idle again even after an error.
        while (result := self.pgconn.get_result()) is not None:
            if result.status == pq.ExecStatus.TUPLES_OK:
                if result.ntuples and not rows:
                    self.adapt.set_pgresult(result)
                    rows = self.adapt.load_rows(0, result.ntuples, tuple)
            elif result.status != pq.ExecStatus.COMMAND_OK and error is None:
                error = statement_error(result, self.pgconn)
        if error is not None:
            raise error
        return rows


def first_row(db: Connection, statement: Select[Any], values: Mapping[str, object]) -> Any | None:
    """The first row `statement` returns with `values` (None: no row); see `all_rows`."""
    rows = all_rows(db, statement, values)
    return rows[0] if rows else None


def all_rows(db: Connection, statement: Select[Any], values: Mapping[str, object]) -> list[Any]:
    """The rows `statement` returns with `values`, run on `db`'s connection, once more on a new connection if
    the server had dropped this one. `statement` is a module constant: each statement object is compiled and
    prepared once, and kept for the life of the process."""
    compiled = compiled_for(statement, db.dialect)
    params = compiled.parameters(values)
    for attempt in (1, 2):
        driver = cast("psycopg.Connection[Any]", db.connection.driver_connection)
        prepared = db.info.get("digest.quick")
        if prepared is None or prepared.pgconn is not driver.pgconn:
            prepared = db.info["digest.quick"] = _Prepared(driver)
        try:
            raw = prepared.run(compiled, params)
        except psycopg.Error:  # libpq's "server closed the connection" carries no SQLSTATE: any class
            if attempt == 2 or not driver.closed:
                raise
            # Every pooled connection is as old as this one: after a restart they are all gone.
            db.invalidate()
            db.engine.dispose()
            continue
        return [compiled.make_row(row) for row in raw]
    raise AssertionError("unreachable")  # the second attempt returns or raises
