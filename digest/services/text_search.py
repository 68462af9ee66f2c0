"""Text searches (a substring anywhere, without case) that answer fast for one address and for a term that
tens of thousands of rows hold.

`lower(col) LIKE '%term%'` has no B-tree to use. On PostgreSQL migration 0015's trigram indexes find a rare
term's rows; on SQLite the search reads the rows, as it always did. A subscribers page adds a second
question: the newest 50 matches. The index hands every match over unordered, so its cost grows with the
matches (about 200 ms for 100,000 at 1M); walking the list newest first stops at the 51st match, so its
cost grows with the rows it has to pass. PostgreSQL's statistics say how many rows match, not where they
lie: a term the oldest tenth of a million holds looked to it like one every tenth row holds, and it walked
900,000 rows to fill the first page (3.4 s). So a page walks a window of the newest rows first, which a
term common where the walk starts fills, and asks the index for every match only when the window does not
fill the page. A capped count asks the index when the status holds more rows than the cap, and otherwise
reads the status's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from digest.adapters.storage import models
from digest.services.paging import Cursor, KeysetPage, keyset_page

WINDOW = 2_000  # the newest rows a page walks before it asks the index: a few milliseconds at 1M


def like_pattern(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(column: InstrumentedAttribute[str], term: str) -> ColumnElement[bool]:
    """`term` anywhere in `column`, without case; written as 0015's indexes are (`lower(column)`)."""
    return func.lower(column).like(like_pattern(term), escape="\\")


def person_matches(term: str) -> ColumnElement[bool]:
    return or_(contains(models.Subscriber.email, term), contains(models.Subscriber.name, term))


def plan_for_the_term(session: Session) -> None:
    """On PostgreSQL, for the rest of the transaction: a plan made for each statement's own term, and no JIT.

    psycopg prepares a statement run five times, and PostgreSQL may then keep one generic plan for every
    term: it counted a term everyone holds by the index's million matches (650 ms at 1M) instead of reading
    rows until the cap (60 ms). The index-led shapes here are also estimated past jit_above_cost, and
    compiling them took 300-600 ms, more than running them."""
    if session.get_bind().dialect.name == "postgresql":
        settings = "set_config('plan_cache_mode', 'force_custom_plan', true), set_config('jit', 'off', true)"
        session.execute(text(f"SELECT {settings}"))


def _their(column: InstrumentedAttribute[Any], where: Sequence[ColumnElement[bool]]) -> Any:
    """`column` of the matching person's subscription that meets `where` (one at most: a person joins a list
    once), or NULL. A subquery per person, so the database goes from the index's matches to the list and
    never the other way round."""
    sub = models.Subscription
    found = select(column).where(sub.subscriber_id == models.Subscriber.id, *where)
    return found.correlate(models.Subscriber).scalar_subquery()


def text_page(
    session: Session, where: Sequence[ColumnElement[bool]], term: str, cursor: Cursor, *, counted: int
) -> KeysetPage:
    """A page of subscription ids, newest first, meeting `where` (conditions on `models.Subscription`) whose
    person's address or name holds `term`, of which there are `counted` (capped). After `plan_for_the_term`."""
    sub = models.Subscription
    # A few matches are the index's at once: the window would only cost its walk (and a third index scan).
    if cursor.offset == 0 and counted > WINDOW:
        window = _window(where, cursor)
        walked = select(window.c.id).join(models.Subscriber, models.Subscriber.id == window.c.subscriber_id)
        found = keyset_page(session, walked.where(person_matches(term)), window.c.id, cursor, newest_first=True)
        full = found.next_after if cursor.before is None else found.prev_before
        if full is not None or (session.scalar(select(func.count()).select_from(window)) or 0) < WINDOW:
            return found
    # OFFSET 0 keeps the subquery whole, so each person's subquery runs once, not again in the filter.
    ids = select(_their(sub.id, where).label("id")).where(person_matches(term)).offset(0).subquery()
    return keyset_page(session, select(ids.c.id).where(ids.c.id.is_not(None)), ids.c.id, cursor, newest_first=True)


def _window(where: Sequence[ColumnElement[bool]], cursor: Cursor) -> Any:
    """The WINDOW rows meeting `where` next to the cursor, in the page's direction: walked by the index the
    page's order has, whatever the text."""
    sub = models.Subscription
    rows = select(sub.id, sub.subscriber_id).where(*where)
    if cursor.before is not None:
        rows = rows.where(sub.id > cursor.before).order_by(sub.id.asc())
    else:
        rows = rows.where(sub.id < cursor.after) if cursor.after is not None else rows
        rows = rows.order_by(sub.id.desc())
    return rows.limit(WINDOW).subquery()


def capped_text_count(session: Session, where: Sequence[ColumnElement[bool]], term: str, cap: int) -> int:
    """How many subscriptions meeting `where` have a person holding `term`, counted up to `cap` (then `cap`).
    After `plan_for_the_term`."""
    sub = models.Subscription
    rows = select(sub.id, sub.subscriber_id).where(*where).limit(cap).subquery()
    if (session.scalar(select(func.count()).select_from(rows)) or 0) < cap:
        # Few rows: read them all; the index could hand over a great many matches that are not among them.
        person = models.Subscriber
        few = select(rows.c.id).join(person, person.id == rows.c.subscriber_id).where(person_matches(term))
        return _count(session, few)
    return _count(
        session, select(models.Subscriber.id).where(person_matches(term), _their(sub.id, where).is_not(None)).limit(cap)
    )


def _count(session: Session, rows: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(rows.subquery())) or 0
