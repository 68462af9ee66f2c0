"""Keyset pages: a page starts from the key of the row before it, so the millionth row costs what the first does.

A cursor names a row by its key (an id): `after` = the last row of the page before, `before` = the first row
of the page after (the way back). Offsets are still taken, for links made before cursors; they cost the rows
skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select
from sqlalchemy.orm import InstrumentedAttribute, Session


@dataclass(frozen=True)
class Cursor:
    """Which page: `limit` rows (None: all) after the row `after`, before the row `before`, or `offset` in."""

    limit: int | None = 50
    offset: int = 0
    after: int | None = None
    before: int | None = None


FIRST_PAGE = Cursor()


@dataclass(frozen=True)
class KeysetPage:
    rows: list[Row[Any]]
    next_after: int | None  # the next page's cursor; None on the last page
    prev_before: int | None  # the page before's cursor; None on the first page


def keyset_page(
    session: Session,
    query: Select[Any],
    key: InstrumentedAttribute[int] | ColumnElement[int],
    cursor: Cursor,
    *,
    newest_first: bool,
) -> KeysetPage:
    """`query`'s rows (its first column is `key`) in `key` order, one page of them."""
    forward = cursor.before is None
    if cursor.after is not None:
        query = query.where(key < cursor.after if newest_first else key > cursor.after)
    if cursor.before is not None:
        query = query.where(key > cursor.before if newest_first else key < cursor.before)
    query = query.order_by(key.desc() if newest_first == forward else key.asc())
    if cursor.after is None and cursor.before is None:
        query = query.offset(cursor.offset)
    if cursor.limit is not None:
        query = query.limit(cursor.limit + 1)
    rows = list(session.execute(query))
    more = cursor.limit is not None and len(rows) > cursor.limit
    rows = rows[: cursor.limit]
    if not forward:
        rows.reverse()
    if not rows:
        return KeysetPage(rows, None, None)
    newer = (not forward and more) or (forward and (cursor.after is not None or cursor.offset > 0))
    older = (forward and more) or not forward
    return KeysetPage(rows, rows[-1][0] if older else None, rows[0][0] if newer else None)
