"""Editors' use cases on stored articles: find, correct, re-tag, hide, and add through the API.

A change is checked in full before anything is written, so a form or an API call
with one bad field changes nothing. Errors carry a message key and its values
rather than prose (`validation.Invalid`): the web layer words them in the reader's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal, TypedDict, Unpack

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.selectable import Exists

from digest.adapters.storage import models
from digest.core.clock import SYSTEM_CLOCK
from digest.core.domain import NATIONAL_CODE, ParsedArticle, ParseResult, Problem
from digest.core.fields import MAX_BODY, MAX_REGION_LABEL, MAX_SOURCE, MAX_TITLE, MAX_URL, unfit_for_one_line
from digest.core.ingest.jsonl import article_from_record, body_to_html, split_regions
from digest.core.regions import RegionIndex
from digest.core.schedule import zone
from digest.core.statuses import Origin
from digest.services import NotFound
from digest.services.articles import (
    NEWSROOM_TZ,
    fingerprint,
    period_bounds,
    store_articles,
)
from digest.services.lists import resolve_topic
from digest.services.text_search import contains, plan_for_the_term
from digest.services.validation import FieldError, Invalid


@dataclass(frozen=True)
class ArticleQuery:
    week: date | None = None  # the period's last day, on the list's calendar
    topic_id: int | None = None
    region_code: str | None = None
    text: str = ""
    hidden: bool | None = None  # None: both
    waiting: bool | None = None  # waiting for an editor (services/article_review.py); None: both


class ArticleFilters(TypedDict, total=False):
    """The filters as people type them; each left out or None filters nothing."""

    week: date | None  # the period's last day
    topic: str | None  # a name (产业发展) or slug
    region: str | None  # a region as people write it (湖南), or a code
    text: str | None  # words in the title or body
    hidden: bool | None  # None: hidden and visible articles both
    waiting: bool | None  # None: waiting for review or not, both


def article_query(ml: models.MailingList, regions: RegionIndex, **filters: Unpack[ArticleFilters]) -> ArticleQuery:
    """Filters as people type them (产业发展, 湖南); Invalid names the filter that means nothing."""
    topic, region, text = filters.get("topic"), filters.get("region"), filters.get("text")
    errors: dict[str, FieldError] = {}
    topic_id = None
    if topic and topic.strip():
        found = resolve_topic(ml, topic)
        if found is None:
            errors["topic"] = FieldError("art_err_unknown_topic", {"topic": topic.strip()})
        else:
            topic_id = found.id
    code = None
    if region and region.strip():
        resolution = regions.resolve(region.strip())
        if not resolution.ok or len(resolution.codes) != 1:
            errors["region"] = FieldError("art_err_unknown_region", {"label": region.strip()})
        else:
            code = resolution.codes[0]
    if errors:
        raise Invalid(errors)
    words = (text or "").strip()[:200]
    return ArticleQuery(filters.get("week"), topic_id, code, words, filters.get("hidden"), filters.get("waiting"))


def _region_condition(regions: RegionIndex, code: str) -> Exists:
    """Articles tagged with the region, a division inside it, or one that contains it."""
    if code == NATIONAL_CODE:
        tagged = models.ArticleRegion.region_code == code
    else:
        level = regions.get(code).level
        prefix = {"province": code[:2], "city": code[:4]}.get(level, code)
        tagged = or_(
            models.ArticleRegion.region_code.like(prefix + "%"),
            models.ArticleRegion.region_code.in_(regions.ancestors(code)),
        )
    return exists().where(models.ArticleRegion.article_id == models.Article.id, tagged)


def search_articles(
    session: Session, ml: models.MailingList, regions: RegionIndex, query: ArticleQuery, *, limit: int, offset: int
) -> tuple[list[models.Article], int]:
    """One page of the list's articles, newest first, and how many match in all."""
    conditions = [models.Article.list_id == ml.id]
    if query.week is not None:
        _, start, end = period_bounds(query.week, zone(ml.time_zone))
        conditions += [models.Article.published_at >= start, models.Article.published_at < end]
    if query.topic_id is not None:
        conditions.append(models.Article.topic_id == query.topic_id)
    if query.region_code is not None:
        conditions.append(_region_condition(regions, query.region_code))
    if query.text:
        plan_for_the_term(session)
        # lower(), as migration 0015's trigram indexes are written.
        conditions.append(
            or_(contains(models.Article.title, query.text), contains(models.Article.body_html, query.text))
        )
    if query.hidden is not None:
        conditions.append(models.Article.hidden.is_(query.hidden))
    if query.waiting is not None:
        conditions.append(models.Article.needs_review.is_(query.waiting))
    total = session.scalar(select(func.count()).select_from(models.Article).where(*conditions)) or 0
    rows = session.scalars(
        select(models.Article)
        .where(*conditions)
        .options(selectinload(models.Article.regions), selectinload(models.Article.topic))
        .order_by(models.Article.published_at.desc(), models.Article.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def get_article(session: Session, article_id: int) -> models.Article:
    row = session.get(models.Article, article_id)
    if row is None:
        raise NotFound(f"no article #{article_id}")
    return row


def _text(value: object, name: str, limit: int, errors: dict[str, FieldError], *, required: bool) -> str | None:
    if value is not None and not isinstance(value, str):
        errors[name] = FieldError("art_err_type", {"field": name})
        return None
    value = (value or "").strip()
    if not value:
        if required:
            errors[name] = FieldError("art_err_required", {"field": name})
        return None
    if len(value) > limit:
        errors[name] = FieldError("art_err_too_long", {"field": name, "max": limit})
        return None
    if name != "body" and (char := unfit_for_one_line(value)):
        errors[name] = FieldError("art_err_control", {"field": name, "char": char})
        return None
    return value


def parse_moment(value: Any, tz_name: str) -> datetime:
    """An ISO date or date-time; without a zone it is read on the list's calendar."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str) and 0 < len(value.strip()) <= 40:
        text = value.strip()
        moment = datetime.combine(date.fromisoformat(text), time()) if len(text) <= 10 else datetime.fromisoformat(text)
    else:
        raise ValueError(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(tz_name))


def resolve_labels(regions: RegionIndex, labels: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """(codes, warnings, unknown labels) for region labels as people write them."""
    codes: list[str] = []
    warnings: list[str] = []
    unknown: list[str] = []
    for label in labels:
        resolution = regions.resolve(label)
        if resolution.ok:
            codes.extend(c for c in resolution.codes if c not in codes)
            warnings.extend(resolution.warnings)
        else:
            unknown.append(label)
    return codes, warnings, unknown


def edit_article(
    session: Session, article: models.Article, changes: Mapping[str, Any], regions: RegionIndex
) -> list[str]:
    """Apply `changes` (title, body, source, url, published, regions, region_label, topic, hidden)
    all together or not at all; returns region warnings (near misses read as something)."""
    ml = session.get_one(models.MailingList, article.list_id)  # the foreign key sees that it exists
    errors: dict[str, FieldError] = {}
    new = _checked_texts(changes, errors)
    if "published" in changes:
        try:
            new["published_at"] = parse_moment(changes["published"], ml.time_zone)
        except (ValueError, TypeError, OverflowError):
            errors["published"] = FieldError("art_err_bad_date", {"value": str(changes["published"])[:40]})
    if "topic" in changes:
        topic = resolve_topic(ml, changes["topic"]) if isinstance(changes["topic"], str) else None
        if topic is None:
            errors["topic"] = FieldError("art_err_unknown_topic", {"topic": str(changes["topic"])[:100]})
        else:
            new["topic_id"] = topic.id
            new["topic_from"] = Origin.EDITOR
    warnings = _checked_regions(changes, regions, new, errors) if "regions" in changes else []
    if "region_label" in changes and changes["region_label"] is not None:
        label = _text(changes["region_label"], "region_label", MAX_REGION_LABEL, errors, required=False)
        if label:
            new["region_label"] = label
    if "hidden" in changes:
        if not isinstance(changes["hidden"], bool):
            errors["hidden"] = FieldError("art_err_type", {"field": "hidden"})
        else:
            new["hidden"] = changes["hidden"]
    if not errors and ("title" in new or "body_html" in new):
        _check_not_duplicate(session, article, new, errors)
    if errors:
        raise Invalid(errors)
    codes = new.pop("codes", None)
    for name, value in new.items():
        setattr(article, name, value)
    if codes is not None:
        article.regions = [models.ArticleRegion(region_code=c, came_from=Origin.EDITOR) for c in codes]
    session.flush()
    return warnings


def _checked_texts(changes: Mapping[str, Any], errors: dict[str, FieldError]) -> dict[str, Any]:
    """Title, body, source and url as the columns take them."""
    new: dict[str, Any] = {}
    if "title" in changes:
        new["title"] = _text(changes["title"], "title", MAX_TITLE, errors, required=True)
    if "body" in changes:
        body = _text(changes["body"], "body", MAX_BODY, errors, required=True)
        if body is not None:
            new["body_html"] = body_to_html(body)
            if not new["body_html"]:
                errors["body"] = FieldError("art_err_body_empty")
    for name, limit in (("source", MAX_SOURCE), ("url", MAX_URL)):
        if name in changes:
            new[name] = _text(changes[name], name, limit, errors, required=False)
    if new.get("url") and not new["url"].lower().startswith(("http://", "https://")):
        errors["url"] = FieldError("art_err_bad_url")
    return new


def _checked_regions(
    changes: Mapping[str, Any], regions: RegionIndex, new: dict[str, Any], errors: dict[str, FieldError]
) -> list[str]:
    """The region labels (a list, or text as an editor types it) into `new`'s codes; returns near-miss warnings."""
    raw = changes["regions"]
    labels = split_regions(raw) if isinstance(raw, str) else raw
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        errors["regions"] = FieldError("art_err_type", {"field": "regions"})
        return []
    labels = [x.strip() for x in labels if x.strip()]
    if not labels:
        errors["regions"] = FieldError("art_err_required", {"field": "regions"})
        return []
    codes, warnings, unknown = resolve_labels(regions, labels)
    if unknown:
        errors["regions"] = FieldError("art_err_unknown_region", {"label": "、".join(unknown)[:200]})
        return warnings
    new["codes"] = codes
    new["region_label"] = "、".join(labels)
    return warnings


def _check_not_duplicate(
    session: Session, article: models.Article, new: dict[str, Any], errors: dict[str, FieldError]
) -> None:
    """A new title or body must not make the article another one's twin; sets the new fingerprint."""
    key = fingerprint(new.get("title", article.title), new.get("body_html", article.body_html))
    clash = session.scalar(
        select(models.Article.id).where(
            models.Article.list_id == article.list_id,
            models.Article.fingerprint == key,
            models.Article.id != article.id,
        )
    )
    if clash is not None:
        errors["body" if "body_html" in new else "title"] = FieldError("art_err_duplicate", {"id": clash})
    new["fingerprint"] = key


@dataclass
class ItemOutcome:
    index: int  # 1-based position in the request
    status: Literal["created", "duplicate", "rejected"]
    id: int | None = None
    problems: list[Problem] = field(default_factory=list)


def add_articles(
    session: Session,
    ml: models.MailingList,
    records: Sequence[Mapping[str, Any]],
    regions: RegionIndex,
    *,
    now: datetime | None = None,
) -> list[ItemOutcome]:
    """Records with the JSON Lines fields, stored by the ingest rules; each gets its own outcome.

    `now` (the caller's clock) stands in for a record without a date, as in a file.
    """
    parsed, problems = [], []
    for index, record in enumerate(records, 1):
        article, found = article_from_record(record, "request", index, None)
        if article is not None:
            found.extend(_refusals(ml, regions, article, index))
        problems.extend(found)
        if article is not None and not found:
            parsed.append(article)
    keys = {a.line: fingerprint(a.title, a.body_html) for a in parsed}
    before = set(_ids_by_fingerprint(session, ml, keys.values()))
    report = store_articles(
        session,
        ml,
        ParseResult(tuple(parsed), tuple(problems)),
        regions,
        source="request",
        published=(now or SYSTEM_CLOCK.now()).astimezone(NEWSROOM_TZ),
    )
    ids = _ids_by_fingerprint(session, ml, keys.values())
    outcomes = []
    for index in range(1, len(records) + 1):
        mine = [p for p in report.problems if p.line == index]
        key = keys.get(index)
        if key is None or key not in ids:
            outcomes.append(ItemOutcome(index, "rejected", None, mine))
        else:
            outcomes.append(ItemOutcome(index, "duplicate" if key in before else "created", ids[key], mine))
            before.add(key)  # the same article twice in one request is stored once
    return outcomes


def _refusals(ml: models.MailingList, regions: RegionIndex, article: ParsedArticle, index: int) -> list[Problem]:
    """Stricter than a file: an API caller can fix and resend, so a label we cannot place refuses the item."""
    refusals = []
    if resolve_topic(ml, article.topic) is None:
        refusals.append(
            Problem(
                f"unknown topic {article.topic!r}",
                "request",
                index,
                "topic",
                code="api_topic_unknown",
                params={"topic": article.topic},
            )
        )
    unknown = resolve_labels(regions, article.regions)[2]
    if unknown:
        labels = "、".join(unknown)
        refusals.append(
            Problem(
                f"unknown region {labels!r}",
                "request",
                index,
                "regions",
                code="api_region_unknown",
                params={"labels": labels},
            )
        )
    return refusals


def _ids_by_fingerprint(session: Session, ml: models.MailingList, keys: Iterable[str]) -> dict[str, int]:
    rows = session.execute(
        select(models.Article.fingerprint, models.Article.id).where(
            models.Article.list_id == ml.id, models.Article.fingerprint.in_(set(keys))
        )
    )
    return {key: article_id for key, article_id in rows}
