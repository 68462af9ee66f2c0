"""Many rows into one table in one statement: INSERT … ON CONFLICT … DO UPDATE … RETURNING.

On PostgreSQL the rows travel column-wise, one array parameter per column, unnested by the server
(`INSERT … SELECT … FROM unnest(…)`): the statement's text is the same for any number of rows, so the driver
parses it once, where multi-row VALUES pages of thousands of parameters each cost it more to rewrite than the
server took to run them. SQLite gets SQLAlchemy's multi-row VALUES pages ("insertmanyvalues").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import Enum
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, Table, text
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
    arrays, unnested, selected = {}, [], []
    for i, name in enumerate(names):
        array_type, cast, convert = _array_of(table.c[name].type)
        arrays[f"c{i}"] = [None if row[name] is None else convert(row[name]) for row in rows]
        unnested.append(f"CAST(:c{i} AS {array_type})")
        selected.append(f"c{i}{cast}")
    statement = (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(selected)} "
        f"FROM unnest({', '.join(unnested)}) AS given({', '.join(f'c{i}' for i in range(len(names)))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(f'{n} = excluded.{n}' for n in updated)} "
        f"RETURNING id, {', '.join(keys)}"
    )
    return session.execute(text(statement), arrays).all()


def _array_of(column_type: Any) -> tuple[str, str, Any]:
    """(the array type the column's values travel in, the cast back to the column's type, the conversion)."""
    if isinstance(column_type, JSON):
        return "text[]", "::json", json.dumps
    if isinstance(column_type, Integer):
        return "bigint[]", "", int
    if isinstance(column_type, DateTime) or isinstance(getattr(column_type, "impl", None), DateTime):
        return "timestamptz[]", "", lambda v: v
    return "text[]", "", lambda v: v.value if isinstance(v, Enum) else v
