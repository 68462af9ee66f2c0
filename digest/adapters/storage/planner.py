"""What the services ask of PostgreSQL's planner, named here so the SQL tricks stay in the storage layer.

Each function says what it is for; the comment in it says why the trick is needed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def refresh_statistics(session: Session, table: str) -> None:
    """Statistics for `table` now, counting this transaction's rows (PostgreSQL only; elsewhere nothing).

    Claiming starts right after an issue is planned, long before autovacuum's next
    look. Without statistics the planner took the new rows for a handful: each claim
    of 500 then read and sorted every pending row, and handing out an issue grew with
    the square of its size.
    """
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {dialect.identifier_preparer.quote(table)}"))


def checked_on_the_row(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`column` as an expression (`column || ''`) the planner cannot look up through an index.

    For rows found by primary key: compared as the bare column, the status offered the
    planner the status index instead. Statistics taken when an issue was planned (every
    row pending) call `queued` rare, and each claim then stepped through every queued
    row of the issue (3 ms at 30,000 queued, under 0.1 ms by key). As an expression it
    can only be checked on the row found.
    """
    return column.concat("")
