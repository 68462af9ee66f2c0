"""Storing what came back: each MailEvent once (by its key), with the delivery, issue, list and subscriber it is
about found from what it carries (a VERP token, an unsubscribe token, the original's Message-ID, an address)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.storage.db import among
from digest.core.bounces.events import MailEvent

PENDING = "pending"
# Whose events carry no signature of their own: only a signed return path or token names anyone there.
UNSIGNED_SOURCE = "mailbox"
_E = models.MailEventRow


def record_events(session: Session, events: Iterable[MailEvent], now: datetime) -> list[int]:
    """Stores the events not stored before (by key) with decision "pending"; returns the new rows' ids, in order.

    Concurrent callers with the same event (a provider retrying while the first request is still in flight)
    store it once: the insert skips a key that exists, so only one of them gets its id back to apply.
    """
    fresh: dict[str, MailEvent] = {}
    for event in events:
        fresh.setdefault(event.key, event)
    if not fresh:
        return []
    known = set(session.scalars(select(_E.key).where(among(session, _E.key, list(fresh)))))
    todo = [event for key, event in fresh.items() if key not in known]
    if not todo:
        return []
    rows = _Resolver(session, todo).rows(now)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = pg_insert(_E).on_conflict_do_nothing(index_elements=["key"])
    elif dialect == "sqlite":
        statement = sqlite_insert(_E).on_conflict_do_nothing(index_elements=["key"])
    else:
        # Another database: no ON CONFLICT; the unique key still refuses a concurrent duplicate (the caller retries).
        statement = insert(_E)
    # Many rows in one statement (SQLAlchemy's "insertmanyvalues"); RETURNING gives the ids of the rows actually
    # inserted, not those a concurrent caller stored first. Sorted: the order events are applied in.
    return sorted(session.scalars(statement.returning(_E.id), rows))


class _Resolver:
    """Finds, in a few queries for the whole batch, what each event is about."""

    def __init__(self, session: Session, events: Sequence[MailEvent]) -> None:
        self.session, self.events = session, events

    def rows(self, now: datetime) -> list[dict[str, Any]]:
        deliveries = self._deliveries(
            {e.delivery_id for e in self.events if e.delivery_id},
            {_bare(e.message_id) for e in self.events if e.message_id and not e.delivery_id},
        )
        people = self._people(
            {e.subscriber_id for e in self.events if e.subscriber_id} | {d.subscriber_id for d in deliveries.values()},
            {e.email.lower() for e in self.events if e.email},
        )
        lists = self._lists({e.list_slug for e in self.events if e.list_slug})
        return [self._row(e, deliveries, people, lists, now) for e in self.events]

    def _row(self, event: MailEvent, deliveries: dict, people: dict, lists: dict, now: datetime) -> dict[str, Any]:
        found = deliveries.get(event.delivery_id) or deliveries.get(_bare(event.message_id))
        who = found.subscriber_id if found is not None else event.subscriber_id
        # A signed reference names its person; the address beside it is only a fallback when there is none
        # (a From can be forged, a bounce's text says anything).
        signed = event.delivery_id is not None or event.subscriber_id is not None
        if who is not None or signed:
            person = people.get(who)
        elif event.source != UNSIGNED_SOURCE:
            person = people.get((event.email or "").lower())
        else:
            person = None  # anyone can write to the bounce mailbox: an address in its text names nobody
        return {
            "key": event.key,
            "kind": str(event.kind),
            "source": event.source[:16],
            # The address the mail went to, as stored: a report may write it in another case.
            "email": person.email if person is not None else None if signed else event.email or None,
            "status": event.status[:16],
            "detail": event.detail[:300],
            "raw_ref": event.raw_ref[:500],
            "delivery_id": found.id if found is not None else None,
            "issue_id": found.issue_id if found is not None else None,
            "list_id": found.list_id if found is not None else lists.get(event.list_slug),
            "subscriber_id": person.id if person is not None else None,
            "decision": PENDING,
            "decision_detail": "",
            "happened_at": event.at,
            "created_at": now,
        }

    def _deliveries(self, ids: set[int], message_ids: set[str]) -> dict[Any, Any]:
        """By delivery id, and by Message-ID without its angle brackets."""
        d, i = models.Delivery, models.Issue
        query = select(d.id, d.issue_id, d.subscriber_id, d.message_id, i.list_id).join(i, i.id == d.issue_id)
        found: dict[Any, Any] = {}
        if ids:
            found.update((row.id, row) for row in self.session.execute(query.where(among(self.session, d.id, ids))))
        if message_ids:
            # Stored as the header has it, in angle brackets.
            wanted = [f"<{m}>" for m in message_ids]
            rows = self.session.execute(query.where(among(self.session, d.message_id, wanted)))
            found.update((_bare(row.message_id), row) for row in rows)
        return found

    def _people(self, ids: set[int], emails: set[str]) -> dict[Any, Any]:
        s = models.Subscriber
        found: dict[Any, Any] = {}
        if ids:
            found.update(
                (row.id, row)
                for row in self.session.execute(select(s.id, s.email).where(among(self.session, s.id, ids)))
            )
        if emails:
            # Uses ix_subscribers_email_lower; the lowest id wins where two addresses differ only in case.
            query = select(s.id, s.email).where(func.lower(s.email).in_(emails)).order_by(s.id.desc())
            found.update((row.email.lower(), row) for row in self.session.execute(query))
        return found

    def _lists(self, slugs: set[str | None]) -> dict[str | None, int]:
        if not slugs:
            return {}
        ml = models.MailingList
        rows = self.session.execute(select(ml.id, ml.slug).where(ml.slug.in_(slugs)))
        return {row.slug: row.id for row in rows}


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>")
