"""Picks as rows: `subscription_regions` and `subscription_topics`, the index SQL filters a list's members by.

A subscription's JSON columns stay the picks' source (the worker's selection reads them). These rows are
rebuilt from them by `store_picks`, one statement per table for any number of subscriptions, wherever picks
are written. The filters' rule is stated once, in `picks_filter`: no pick means everything, and a region
matches its ancestors and its divisions, as in the digest itself.

"No pick" is a row too, ANY ("*"): so a filter is one semi-join the database can drive from an index, in
either direction, rather than "a matching row, or no row at all", which PostgreSQL answered by hashing
every pick of every list for each page (and which a capped count could not stop early).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from sqlalchemy import ColumnElement, case, delete, func, insert, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from digest.adapters.storage import models
from digest.adapters.storage.db import among
from digest.core.regions import RegionIndex

_Sub = models.Subscription
ANY = "*"  # the row of a subscription that picked no region (or no topic): it takes them all
# (the index table, its pick column, the JSON column it mirrors)
_TABLES: tuple[tuple[type[models.SubscriptionRegion | models.SubscriptionTopic], str, InstrumentedAttribute], ...] = (
    (models.SubscriptionRegion, "region_code", _Sub.region_codes),
    (models.SubscriptionTopic, "topic_slug", _Sub.topic_slugs),
)


def store_picks(session: Session, subscription_ids: Collection[int]) -> None:
    """Rebuilds these subscriptions' pick rows from their JSON columns: a DELETE and an INSERT … SELECT a table.

    Call it once the subscriptions have ids; an import calls it once per chunk of rows."""
    ids = list(subscription_ids)
    if ids:
        _rebuild(session, lambda table: among(session, table.subscription_id, ids), among(session, _Sub.id, ids))


def store_list_picks(session: Session, list_id: int) -> None:
    """Rebuilds the pick rows of a whole list: for what wrote its subscriptions in bulk (COPY in the benches)."""
    _rebuild(session, lambda table: table.list_id == list_id, _Sub.list_id == list_id)


def _rebuild(
    session: Session,
    old_rows: Callable[[type[models.SubscriptionRegion | models.SubscriptionTopic]], ColumnElement[bool]],
    subscriptions: ColumnElement[bool],
) -> None:
    session.flush()
    postgres = session.get_bind().dialect.name == "postgresql"
    for table, pick, source in _TABLES:
        session.execute(delete(table).where(old_rows(table)).execution_options(synchronize_session=False))
        # Not an array (JSON null): no pick, as the worker's selection reads it.
        if postgres:
            element = func.json_array_elements_text(case((func.json_typeof(source) == "array", source)))
        else:
            element = func.json_each(case((func.json_type(source) == "array", source)))
        value = element.table_valued("value")
        rows = (
            select(_Sub.id, func.coalesce(value.c.value, ANY), _Sub.list_id)
            .distinct()
            .select_from(_Sub)
            .outerjoin(value, true())
            .where(subscriptions)
        )
        session.execute(insert(table).from_select(["subscription_id", pick, "list_id"], rows))


def picks_filter(
    session: Session, regions: RegionIndex, region_codes: Sequence[str], topic: str | None
) -> list[ColumnElement[bool]]:
    """Conditions on `models.Subscription`: it picked a region overlapping one of `region_codes` or none at all,
    and `topic` or no topic at all."""
    where = []
    if region_codes:
        wanted = set[str]().union(*(regions.overlapping(code) for code in region_codes if code in regions))
        where.append(_picked_one_of(session, models.SubscriptionRegion.region_code, sorted(wanted)))
    if topic:
        where.append(_picked_one_of(session, models.SubscriptionTopic.topic_slug, [topic]))
    return where


def _picked_one_of(session: Session, pick: InstrumentedAttribute[str], wanted: list[str]) -> ColumnElement[bool]:
    table = pick.class_
    return select(1).where(table.subscription_id == _Sub.id, among(session, pick, [*wanted, ANY])).exists()
