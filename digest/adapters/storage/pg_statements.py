"""Statements prepared on a PostgreSQL connection, sent now and answered later, on one thread.

The delivery ledger commits once per message, and that commit's round trip is
on every message's critical path. Sent through libpq's asynchronous calls
(psycopg's documented `Connection.pgconn`), the statement travels while the
caller does other work (opening the next SMTP transaction) on the same thread,
and its reply is read only when needed: no second thread, no hand-over, and
none of the driver's per-execute Python. An autocommit connection runs each
statement in a transaction of its own, committed when the reply comes.

Values are sent as text. The types the ledger binds (text, integers, aware
datetimes, JSON already serialised by SQLAlchemy's own bind processors) have
exact text forms (JSON comes wrapped by the dialect, with the function to
serialise it); anything else is refused rather than guessed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import psycopg
from psycopg import pq
from psycopg.types.json import Json
from sqlalchemy import Connection
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

# What a type's bind_processor gives: the value as the driver takes it.
_Processor = Callable[[Any], Any]

_names = itertools.count(1)


@dataclass(frozen=True)
class PreparedStatement:
    """SQL with $n parameters: the values the statement fixes, already as text, and where the bound ones go."""

    sql: str
    fixed: tuple[bytes | None, ...]  # per parameter: the statement's own value, or None where one is bound
    bound: tuple[tuple[int, str, _Processor | None], ...]  # (position, bind name, bind processor or None)

    @classmethod
    def of(cls, statement: ClauseElement, dialect: Dialect) -> PreparedStatement:
        # libpq numbers its parameters; a copy of the dialect that writes $1, $2 … says in which order.
        # (The casts: every dialect SQLAlchemy ships is a DefaultDialect, and compiles a statement
        # with an SQLCompiler, whose positiontup a positional paramstyle fills.)
        numbered = cast("type[DefaultDialect]", type(dialect))(paramstyle="numeric_dollar")
        compiled = cast(SQLCompiler, statement.compile(dialect=numbered))
        fixed: list[bytes | None]
        bound: list[tuple[int, str, _Processor | None]]
        fixed, bound = [], []
        for position, name in enumerate(cast("list[str]", compiled.positiontup)):
            bind = compiled.binds[name]
            # The conversions the ORM would apply (JSON serialised, datetimes made UTC), from the real dialect.
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required:
                fixed.append(None)
                bound.append((position, name, process))
            else:  # written into the statement (status='sending', attempts + 1): the same text every time
                value = bind.effective_value
                fixed.append(_as_text(process(value) if process else value, name, "ascii"))
        return cls(compiled.string, tuple(fixed), tuple(bound))

    def arguments(self, values: Mapping[str, object], encoding: str) -> list[bytes | None]:
        """The statement's parameters in order, as text, with `values` (by bind name) where they are bound."""
        args = list(self.fixed)
        for position, name, process in self.bound:
            value = values[name]
            if process is not None:
                value = process(value)
            args[position] = _as_text(value, name, encoding)
        return args


class ServerStatements:
    """Statements prepared on one connection for as long as one holder keeps it, then deallocated.

    Not left for the connection's next holder: psycopg deallocates every prepared
    statement of its session after a ROLLBACK (the pool's reset on return does one),
    so a name remembered across checkouts could be gone on the server.
    """

    def __init__(self, conn: Connection) -> None:
        # The engines here run on psycopg (3): its connection is what the DBAPI one wraps.
        driver = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
        self._pgconn = driver.pgconn
        self._encoding = driver.info.encoding
        self._names: dict[str, bytes] = {}

    def send(self, statement: PreparedStatement, values: Mapping[str, object]) -> None:
        """Sends `statement` with `values` (by bind name) and returns at once; `receive` reads the reply."""
        args = statement.arguments(values, self._encoding)  # a refused value sends nothing
        self._pgconn.send_query_prepared(self._name_of(statement), args)

    def receive(self) -> int:
        """The reply to what `send` sent: the number of rows the statement touched."""
        error: psycopg.Error | None
        touched, error = 0, None
        # Every result up to the end is read, so the connection is idle again even after an error.
        while (result := self._pgconn.get_result()) is not None:
            if result.status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
                touched = int(result.command_tuples or 0)
            elif error is None:
                error = statement_error(result, self._pgconn)
        if error is not None:
            raise error
        return touched

    def connection_lost(self) -> bool:
        """The server closed the connection (restarted, the backend terminated): no statement can go on it."""
        return self._pgconn.status == pq.ConnStatus.BAD

    def close(self) -> None:
        for name in self._names.values():
            try:
                self._pgconn.close_prepared(name)
            except psycopg.NotSupportedError:  # libpq before 17: the SQL command does the same
                self._pgconn.exec_(b"DEALLOCATE " + name)
        self._names.clear()

    def _name_of(self, statement: PreparedStatement) -> bytes:
        name = self._names.get(statement.sql)
        if name is None:
            # Unique in the process, so that no two holders' statements ever share a name.
            name = f"digest_{next(_names)}".encode("ascii")
            result = self._pgconn.prepare(name, statement.sql.encode("utf-8"), None)
            if result.status != pq.ExecStatus.COMMAND_OK:
                raise statement_error(result, self._pgconn)
            self._names[statement.sql] = name
        return name


def _as_text(value: object, name: str, encoding: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode(encoding)
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, int):
        return str(value).encode("ascii")
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise TypeError(f"{name}: a timestamp for PostgreSQL must be aware, got {value!r}")
        return value.isoformat().encode("ascii")
    if isinstance(value, date):
        return value.isoformat().encode("ascii")
    if isinstance(value, Json):  # what the dialect's JSON processor wraps a value in for psycopg
        # Typed str | bytes; the dialect's serialiser (json.dumps unless configured) gives str.
        return cast(str, (value.dumps or json.dumps)(value.obj)).encode(encoding)
    raise TypeError(f"{name}: no text form for {type(value).__name__} values")


def statement_error(result: pq.abc.PGresult, pgconn: pq.abc.PGconn) -> psycopg.Error:
    message = (result.error_message or pgconn.error_message or b"").decode("utf-8", "replace").strip()
    sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE)
    try:
        kind = psycopg.errors.lookup(sqlstate.decode("ascii")) if sqlstate else psycopg.DatabaseError
    except KeyError:  # a code this psycopg does not know
        kind = psycopg.DatabaseError
    return kind(message or "the statement failed")
