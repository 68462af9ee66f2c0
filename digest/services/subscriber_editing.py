"""The admins' view of a list's subscribers: find, filter and page through them, edit one, keep the suppression list.

Filters are typed as people write them (湖南, 怀化, 全国, 产业发展). An edit is
checked in full before anything is written, so one bad field changes nothing;
errors are `validation.Invalid` carrying message keys (`subs_err_*`) that the web layer words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, TypedDict, Unpack

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, selectinload

from digest.adapters.storage import models
from digest.adapters.storage.db import among
from digest.core.clock import wall_now
from digest.core.fields import clean_name
from digest.core.regions import RegionIndex
from digest.core.schedule import iana_zones
from digest.core.statuses import SubscriptionStatus
from digest.services import NotFound
from digest.services.list_editing import LANGUAGES
from digest.services.lists import resolve_topic
from digest.services.paging import Cursor, keyset_page
from digest.services.picks import picks_filter, store_picks
from digest.services.subscribers import (
    InvalidSubscriber,
    normalise_email,
    upsert_subscription,
)
from digest.services.text_search import capped_text_count, person_matches, plan_for_the_term, text_page
from digest.services.validation import FieldError, Invalid

MAX_NAME = 200  # models.Subscriber.name
MAX_PICKS = 200


@dataclass(frozen=True)
class SubscriberQuery:
    text: str = ""
    region_codes: tuple[str, ...] = ()
    topic: str | None = None  # a topic slug
    status: str | None = None
    warnings: tuple[str, ...] = ()  # how a region filter was read, when in doubt


COUNT_CAP = 10_000  # counted exactly up to here; past it a page says "more than 10,000"


@dataclass
class SearchResult:
    rows: list[models.Subscription]
    total: int  # past COUNT_CAP: a number above it, read as "more than COUNT_CAP"
    # Matches per status with every filter but the status one: the page's tabs (each stops at COUNT_CAP + 1).
    counts: dict[str, int] = field(default_factory=dict)
    next_after: int | None = None  # the next page's cursor; None on the last page
    prev_before: int | None = None  # the page before's cursor; None on the first page

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP


@cache
def _zones() -> frozenset[str]:
    return iana_zones()


def subscriber_query(
    ml: models.MailingList,
    regions: RegionIndex,
    *,
    text: str | None = None,
    region: str | None = None,
    topic: str | None = None,
    status: str | None = None,
) -> SubscriberQuery:
    """Filters as people type them; Invalid names the filter that means nothing."""
    errors: dict[str, FieldError] = {}
    codes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    if region and region.strip():
        resolution = regions.resolve(region.strip())
        if resolution.ok:
            codes, warnings = resolution.codes, resolution.warnings
        else:
            errors["region"] = _region_error(region.strip(), resolution.warnings)
    slug = None
    if topic and topic.strip():
        found = resolve_topic(ml, topic)
        if found is None:
            errors["topic"] = FieldError("subs_err_unknown_topic", {"label": topic.strip(), "known": _topic_names(ml)})
        else:
            slug = found.slug
    if status and status not in tuple(SubscriptionStatus):
        errors["status"] = FieldError("subs_err_status", {"value": status})
    if errors:
        raise Invalid(errors)
    return SubscriberQuery((text or "").strip(), codes, slug, status or None, warnings)


def list_members(
    session: Session, ml: models.MailingList, regions: RegionIndex, query: SubscriberQuery
) -> list[ColumnElement[bool]]:
    """Every filter but the status, as SQL: the list, the text in an address or name (the caller joins
    `models.Subscriber` when there is text), and the picks (services/picks.py)."""
    where = [models.Subscription.list_id == ml.id, *picks_filter(session, regions, query.region_codes, query.topic)]
    if query.text:
        where.append(person_matches(query.text))
    return where


def members(query: SubscriberQuery, *columns: Any) -> Select[Any]:
    """SELECT `columns` FROM subscriptions, joined to their subscribers only when the text filter reads them."""
    chosen = select(*columns)
    if query.text:
        return chosen.join(models.Subscriber, models.Subscriber.id == models.Subscription.subscriber_id)
    return chosen


def _capped_count(session: Session, query: SubscriberQuery, where: Sequence[ColumnElement[bool]]) -> int:
    if query.text:
        return capped_text_count(session, where, query.text, COUNT_CAP + 1)
    found = select(models.Subscription.id).where(*where).limit(COUNT_CAP + 1).subquery()
    return session.scalar(select(func.count()).select_from(found)) or 0


class PageOptions(TypedDict, total=False):
    """Which page of `search_subscriptions` (paging.Cursor): `limit` rows (None: all) after the subscription id
    `after`, before the id `before`, or `offset` in."""

    limit: int | None
    offset: int
    after: int | None
    before: int | None


def search_subscriptions(
    session: Session,
    ml: models.MailingList,
    regions: RegionIndex,
    query: SubscriberQuery,
    **page: Unpack[PageOptions],
) -> SearchResult:
    """Newest first, a page from a cursor (or an offset, for old links). Counts stop past COUNT_CAP, so no page
    counts a million rows."""
    sub = models.Subscription
    # The text is kept apart: text_search.py decides how to find it (from the newest rows, or by the index).
    where = list_members(session, ml, regions, replace(query, text=""))
    if query.text:
        plan_for_the_term(session)
    counts: dict[str, int] = {
        status: _capped_count(session, query, [*where, sub.status == status]) for status in SubscriptionStatus
    }
    if query.status:
        where.append(sub.status == query.status)
    total = counts[query.status] if query.status else sum(counts.values())
    if query.text:
        found = text_page(session, where, query.text, Cursor(**page), counted=total)
    else:
        found = keyset_page(session, select(sub.id).where(*where), sub.id, Cursor(**page), newest_first=True)
    ids = [r[0] for r in found.rows]
    loaded = (
        {
            s.id: s
            for s in session.scalars(
                select(sub).where(among(session, sub.id, ids)).options(selectinload(sub.subscriber))
            )
        }
        if ids
        else {}
    )
    return SearchResult([loaded[i] for i in ids], total, counts, found.next_after, found.prev_before)


def get_subscription(session: Session, ml: models.MailingList, subscriber_id: int) -> models.Subscription:
    found = session.scalar(
        select(models.Subscription)
        .where(models.Subscription.list_id == ml.id, models.Subscription.subscriber_id == subscriber_id)
        .options(selectinload(models.Subscription.subscriber))
    )
    if found is None:
        raise NotFound(f"no subscriber {subscriber_id} on list {ml.slug!r}")
    return found


def _topic_names(ml: models.MailingList) -> str:
    return ", ".join(t.name for t in ml.topics)


def _region_error(label: str, warnings: Sequence[str], index: int | None = None) -> FieldError:
    known = not any(getattr(w, "code", None) in ("region_unknown", "region_bad_code") for w in warnings)
    key = "subs_err_region_unclear" if known and warnings else "subs_err_unknown_region"
    # `detail` is the English wording the API shows; `notes` lets a page word it again in its language.
    return FieldError(key, {"label": label, "detail": "; ".join(warnings), "index": index, "notes": tuple(warnings)})


def check_changes(
    ml: models.MailingList, regions: RegionIndex, changes: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Every field checked, codes and slugs resolved; Invalid (one error a field) before anything is written."""
    errors: dict[str, FieldError] = {}
    clean: dict[str, Any] = {}
    warnings: list[str] = []
    for name in set(changes) - {"name", "status", "regions", "topics", "time_zone", "locale"}:
        errors[name] = FieldError("subs_err_unknown_field", {"field": name})
    if "name" in changes:
        name = clean_name(str(changes["name"] or ""))
        if len(name) > MAX_NAME:
            errors["name"] = FieldError("subs_err_too_long", {"max": MAX_NAME})
        clean["name"] = name
    if "status" in changes:
        if changes["status"] not in tuple(SubscriptionStatus):
            errors["status"] = FieldError("subs_err_status", {"value": str(changes["status"])[:40]})
        clean["status"] = changes["status"]
    if "regions" in changes:
        labels = list(changes["regions"] or ())
        codes: list[str] = []
        for i, label in enumerate(labels):
            resolution = regions.resolve(str(label))
            if not resolution.ok:
                errors.setdefault("regions", _region_error(str(label).strip(), resolution.warnings, i))
                continue
            warnings.extend(resolution.warnings)
            codes.extend(c for c in resolution.codes if c not in codes)
        if len(labels) > MAX_PICKS:
            errors["regions"] = FieldError("subs_err_too_many", {"max": MAX_PICKS})
        clean["regions"] = codes
    if "topics" in changes:
        wanted: set[str] = set()
        for i, label in enumerate(changes["topics"] or ()):
            topic = resolve_topic(ml, str(label))
            if topic is None:
                values = {"label": str(label).strip(), "known": _topic_names(ml), "index": i}
                errors.setdefault("topics", FieldError("subs_err_unknown_topic", values))
            else:
                wanted.add(topic.slug)
        # Section order, whatever order they came in.
        clean["topics"] = [t.slug for t in ml.topics if t.slug in wanted]
    if "time_zone" in changes:
        if changes["time_zone"] not in _zones():
            errors["time_zone"] = FieldError("subs_err_time_zone", {"value": str(changes["time_zone"])[:64]})
        clean["time_zone"] = changes["time_zone"]
    if "locale" in changes:
        if changes["locale"] not in LANGUAGES:
            errors["locale"] = FieldError("subs_err_locale", {"value": str(changes["locale"])[:16]})
        clean["locale"] = changes["locale"]
    if errors:
        raise Invalid(errors)
    return clean, warnings


def set_status(sub: models.Subscription, status: str) -> None:
    if sub.status == status:
        return
    now = wall_now()  # joining and leaving: the real time, as the tokens compared with it (digest/core/clock.py)
    sub.status = SubscriptionStatus(status)
    if status == SubscriptionStatus.CONFIRMED:
        sub.confirmed_at, sub.unsubscribed_at = now, None
    elif status == SubscriptionStatus.UNSUBSCRIBED:
        sub.unsubscribed_at = now


def _apply(sub: models.Subscription, clean: Mapping[str, Any]) -> None:
    person = sub.subscriber
    if "name" in clean:
        person.name = clean["name"]
    if "regions" in clean:
        sub.region_codes = list(clean["regions"])
    if "topics" in clean:
        sub.topic_slugs = list(clean["topics"])
    if "time_zone" in clean:
        person.time_zone = clean["time_zone"]
    if "locale" in clean:
        person.locale = clean["locale"]
    if "status" in clean:
        set_status(sub, clean["status"])


def edit_subscription(
    session: Session, ml: models.MailingList, regions: RegionIndex, sub: models.Subscription, changes: Mapping[str, Any]
) -> list[str]:
    """Change what `changes` names, all of it or nothing; returns how doubtful regions were read."""
    clean, warnings = check_changes(ml, regions, changes)
    _apply(sub, clean)
    store_picks(session, [sub.id])
    return warnings


def save_subscription(
    session: Session, ml: models.MailingList, regions: RegionIndex, email: str, changes: Mapping[str, Any]
) -> tuple[models.Subscription, bool, list[str]]:
    """Create or update by email; a new one starts pending unless `changes` says otherwise."""
    errors: dict[str, FieldError] = {}
    try:
        address = normalise_email(email)
    except InvalidSubscriber:
        errors["email"] = FieldError("subs_err_email", {"value": email.strip()[:320]})
    try:
        clean, warnings = check_changes(ml, regions, changes)
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    person = session.scalar(select(models.Subscriber).where(models.Subscriber.email == address))
    sub = None
    if person is not None:
        sub = session.scalar(
            select(models.Subscription).where(
                models.Subscription.list_id == ml.id, models.Subscription.subscriber_id == person.id
            )
        )
    created = sub is None
    if sub is None:
        sub, _, _ = upsert_subscription(
            session,
            ml,
            regions,
            email=address,
            name=clean.get("name", ""),
            region_labels=clean.get("regions", ()),
            topic_labels=clean.get("topics", ()),
            status=clean.get("status", SubscriptionStatus.PENDING),
        )
    _apply(sub, clean)
    store_picks(session, [sub.id])
    return sub, created, warnings
