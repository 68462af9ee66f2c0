"""Many rows into one table in one statement: INSERT … ON CONFLICT … DO UPDATE … RETURNING.

On PostgreSQL the rows travel as one JSON document, read back into rows by the server
(`INSERT … SELECT … FROM json_to_recordset(…)`): one parameter whatever the number of rows, encoded by the
json module's C encoder. Multi-row VALUES pages of thousands of parameters cost the driver more to rewrite
than the server took to run them, and arrays, one per column, more to escape element by element. SQLite gets
SQLAlchemy's multi-row VALUES pages ("insertmanyvalues").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session


def upsert_rows(
    session: Session, table: Table, keys: list[str], rows: list[dict[str, Any]], updated: list[str]
) -> Sequence[Any]:
    """Insert `rows` (dicts with the same keys); where `keys` match a stored row, set its `updated` columns
    instead. Returns (id, *keys) of every row written, in no particular order."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return _postgres_upsert(session, table, keys, _with_defaults(table, rows), updated)
    statement = sqlite.insert(table)
    upsert = statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in updated}
    )
    return session.execute(upsert.returning(table.c.id, *(table.c[k] for k in keys)), rows).all()


def _with_defaults(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The columns' Python-side defaults (a text statement does not apply them), each computed once."""
    given = set(rows[0])
    defaults: dict[str, Any] = {}
    for column in table.c:
        default = column.default
        if column.name in given or default is None or not (default.is_scalar or default.is_callable):
            continue
        value = default.arg  # type: ignore[attr-defined]
        defaults[column.name] = value(None) if default.is_callable else value
    return [defaults | row for row in rows]


def _postgres_upsert(
    session: Session, table: Table, keys: list[str], rows: list[dict[str, Any]], updated: list[str]
) -> Sequence[Any]:
    names = list(rows[0])
    dialect = session.get_bind().dialect
    given = ", ".join(f"{name} {table.c[name].type.compile(dialect=dialect)}" for name in names)
    statement = (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(names)} "
        f"FROM json_to_recordset(CAST(:rows AS json)) AS given({given}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(f'{n} = excluded.{n}' for n in updated)} "
        f"RETURNING id, {', '.join(keys)}"
    )
    document = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_json_value)
    return session.execute(text(statement), {"rows": document}).all()


def _json_value(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no JSON form here")
