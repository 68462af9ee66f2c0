"""One chunk of an import's checked rows, written with set-based statements in the caller's transaction.

The chunk's stored subscribers and memberships are read in two queries; each row is then applied in turn
in Python, by the rules `subscribers.joined` holds for a single subscriber too; what changed is written in
two multi-row upserts (storage/bulk.py: INSERT … ON CONFLICT … DO UPDATE … RETURNING). A row
that changes nothing writes nothing, so importing a file again costs two reads per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.adapters.storage.bulk import upsert_rows
from digest.adapters.storage.db import among
from digest.core.domain import Problem
from digest.core.statuses import SubscriptionStatus
from digest.services.subscribers import Membership, joined


@dataclass(frozen=True)
class ChunkRow:
    """One good row of the file: the address normalised, the name cleaned, the picks resolved."""

    line: int
    email: str
    name: str
    status: SubscriptionStatus | None  # None: the row says none, and the import's default applies
    picks: tuple[list[str], list[str]]  # region codes, topic slugs


@dataclass
class ChunkDone:
    added: int = 0
    updated: int = 0
    subscription_ids: list[int] = field(default_factory=list)
    kept_unsubscribed: list[int] = field(default_factory=list)  # lines

    def problems(self, source: str) -> list[Problem]:
        return [
            Problem(
                "unsubscribed earlier: kept unsubscribed (a status column saying confirmed re-subscribes)",
                source=source,
                line=line,
                field="status",
                severity="warning",
                code="subs_kept_unsubscribed",
            )
            for line in self.kept_unsubscribed
        ]


@dataclass
class _Stored:
    """What the database holds for the chunk's addresses before it is written."""

    people: dict[str, tuple[int, str]]  # email: (subscriber id, name)
    members: dict[int, tuple[int, Membership]]  # subscriber id: (subscription id, membership)

    def membership(self, email: str) -> Membership:
        person = self.people.get(email)
        if person is None:
            return Membership()
        member = self.members.get(person[0])
        return member[1] if member else Membership(person[1])


def write_chunk(
    session: Session, list_id: int, rows: list[ChunkRow], default: SubscriptionStatus, language: str = "zh-CN"
) -> ChunkDone:
    """Applies `rows` in turn and writes what changed; a new address reads `language` (its list's) until its
    owner chooses."""
    stored = _read_stored(session, list_id, list(dict.fromkeys(r.email for r in rows)))
    done = ChunkDone()
    after: dict[str, Membership] = {}
    for row in rows:
        before = after.get(row.email) or stored.membership(row.email)
        status = row.status or default
        if row.status is None and before.status == SubscriptionStatus.UNSUBSCRIBED:
            status = SubscriptionStatus.UNSUBSCRIBED  # an old spreadsheet signs no one up again
            done.kept_unsubscribed.append(row.line)
        after[row.email] = joined(before, name=row.name, status=status, picks=row.picks)
        if before.status is None:
            done.added += 1
        else:
            done.updated += 1
    _write_people(session, stored, after, language)
    done.subscription_ids = _write_memberships(session, list_id, stored, after)
    return done


def _read_stored(session: Session, list_id: int, emails: list[str]) -> _Stored:
    people = {
        email: (person_id, name)
        for person_id, email, name in session.execute(
            select(models.Subscriber.id, models.Subscriber.email, models.Subscriber.name).where(
                among(session, models.Subscriber.email, emails)
            )
        )
    }
    sub = models.Subscription
    names = dict(people.values())
    members = {
        row.subscriber_id: (
            row.id,
            Membership(
                names[row.subscriber_id],
                row.status,
                tuple(row.region_codes or ()),
                tuple(row.topic_slugs or ()),
                row.confirmed_at,
                row.unsubscribed_at,
            ),
        )
        for row in session.execute(
            select(
                sub.id,
                sub.subscriber_id,
                sub.status,
                sub.region_codes,
                sub.topic_slugs,
                sub.confirmed_at,
                sub.unsubscribed_at,
            ).where(sub.list_id == list_id, among(session, sub.subscriber_id, [p[0] for p in people.values()]))
        )
    }
    return _Stored(people, members)


def _write_people(session: Session, stored: _Stored, after: dict[str, Membership], language: str) -> None:
    """New addresses (in `language`) and changed names; the ids of new people join `stored.people`."""
    changed = [
        {"email": email, "name": member.name, "locale": language}
        for email, member in after.items()
        if email not in stored.people or stored.people[email][1] != member.name
    ]
    for person_id, email in upsert_rows(session, models.Subscriber.__table__, ["email"], changed, ["name"]):
        stored.people[email] = (person_id, after[email].name)


def _write_memberships(session: Session, list_id: int, stored: _Stored, after: dict[str, Membership]) -> list[int]:
    """Memberships that changed; returns the ids of every membership of the chunk."""
    ids: dict[int, int] = {}
    changed = []
    for email, member in after.items():
        person_id = stored.people[email][0]
        known = stored.members.get(person_id)
        if known is not None:
            ids[person_id] = known[0]
            if _fields(known[1]) == _fields(member):
                continue
        changed.append(
            {
                "list_id": list_id,
                "subscriber_id": person_id,
                "status": member.status,
                "region_codes": list(member.region_codes),
                "topic_slugs": list(member.topic_slugs),
                "confirmed_at": member.confirmed_at,
                "unsubscribed_at": member.unsubscribed_at,
            }
        )
    columns = ["status", "region_codes", "topic_slugs", "confirmed_at", "unsubscribed_at"]
    for sub_id, _, person_id in upsert_rows(
        session, models.Subscription.__table__, ["list_id", "subscriber_id"], changed, columns
    ):
        ids[person_id] = sub_id
    return sorted(ids.values())


def _fields(member: Membership) -> tuple[Any, ...]:
    return member.status, member.region_codes, member.topic_slugs, member.confirmed_at, member.unsubscribed_at
