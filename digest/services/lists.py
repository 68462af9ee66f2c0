"""Lists (newsletters) and their topics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from digest.adapters.storage import models
from digest.core.domain import ListInfo, Topic
from digest.services import NotFound

DEFAULT_LIST_SLUG = "rural-weekly"
# Local until an admin sets it: the list form takes it, and the dashboard says no mail server will deliver it.
DEFAULT_SENDER = "weekly@localhost"

# The sample newsletter's sections, in its order.
DEFAULT_TOPICS = (
    ("macro", "宏观形势"),
    ("poverty-alleviation", "脱贫攻坚"),
    ("industry", "产业发展"),
    ("living-environment", "人居环境"),
    ("governance", "基层治理"),
    ("public-services", "公共服务"),
)


def ensure_default_list(session: Session) -> models.MailingList:
    """Create the default list and its topics unless it exists already."""
    existing = session.scalar(select(models.MailingList).where(models.MailingList.slug == DEFAULT_LIST_SLUG))
    if existing is not None:
        return existing
    ml = models.MailingList(
        slug=DEFAULT_LIST_SLUG,
        name="乡村振兴周报",
        masthead="乡村振兴周报",
        tagline="每周乡村振兴要闻，按您关注的地区与栏目挑选",
        sender_name="乡村振兴周报",
        sender_email=DEFAULT_SENDER,
        credits=[],
        language="zh-CN",
    )
    ml.topics = [models.Topic(slug=s, name=n, position=i) for i, (s, n) in enumerate(DEFAULT_TOPICS)]
    session.add(ml)
    session.flush()
    return ml


def get_list(session: Session, slug: str | None) -> models.MailingList:
    slug = slug or DEFAULT_LIST_SLUG
    ml = session.scalar(select(models.MailingList).where(models.MailingList.slug == slug))
    if ml is None:
        known = ", ".join(session.scalars(select(models.MailingList.slug)).all()) or "none (run `digest init`)"
        raise NotFound(f"no list with slug {slug!r}; known lists: {known}")
    return ml


def list_info(ml: models.MailingList) -> ListInfo:
    return branding_info(ml, tuple(Topic(slug=t.slug, name=t.name, position=t.position) for t in ml.topics))


# A list's columns a page's masthead and footer show: selected beside other columns, no list row is loaded.
BRANDING_COLUMNS = tuple(
    getattr(models.MailingList, name)
    for name in (
        "slug",
        "name",
        "sender_name",
        "sender_email",
        "reply_to",
        "masthead",
        "tagline",
        "credits",
        "contact_email",
        "postal_address",
        "language",
        "article_text",
    )
)


def branding_info(ml: Any, topics: tuple[Topic, ...] = ()) -> ListInfo:
    """ListInfo from a list row or a result row holding BRANDING_COLUMNS; `topics` only where a page lists them."""
    return ListInfo(
        slug=ml.slug,
        name=ml.name,
        topics=topics,
        sender_name=ml.sender_name,
        sender_email=ml.sender_email,
        reply_to=ml.reply_to,
        masthead=ml.masthead or ml.name,
        tagline=ml.tagline,
        credits=tuple((str(k), str(v)) for k, v in (ml.credits or [])),
        contact_email=ml.contact_email,
        postal_address=ml.postal_address,
        language=ml.language,
        article_text=ml.article_text,
    )


def resolve_topic(ml: models.MailingList, label: str) -> models.Topic | None:
    """A topic as people write it: its name (产业发展) or its slug (industry)."""
    wanted = label.strip().casefold()
    for topic in ml.topics:
        if wanted in (topic.slug.casefold(), topic.name.casefold()):
            return topic
    return None


def all_lists(session: Session) -> list[models.MailingList]:
    """Every list, by slug: the order the pickers and overviews show them in."""
    return list(session.scalars(select(models.MailingList).order_by(models.MailingList.slug)))


def find_list_by_slug(session: Session, slug: str) -> models.MailingList | None:
    """The list with exactly this slug; unlike `get_list`, an empty slug is not the default list. Its topics
    come in the same query: every page that finds a list by its slug shows them or checks picks against them."""
    found = (
        select(models.MailingList).options(joinedload(models.MailingList.topics)).where(models.MailingList.slug == slug)
    )
    return session.scalars(found).unique().one_or_none()


@dataclass(frozen=True)
class FormList:
    """A list as its public subscribe form needs it (its id, branding and topics): plain data, so the web
    process can keep it a few seconds rather than read it for every post."""

    id: int
    info: ListInfo
    bounce_domain: str | None = None  # the list's own VERP domain (else the site's, DIGEST_BOUNCE_DOMAIN)

    @property
    def topics(self) -> tuple[Topic, ...]:
        return self.info.topics


def find_form_list(session: Session, slug: str) -> FormList | None:
    ml = find_list_by_slug(session, slug)
    return None if ml is None else FormList(ml.id, list_info(ml), ml.bounce_domain)


def form_list_by_id(session: Session, list_id: int) -> FormList | None:
    ml = session.get(models.MailingList, list_id)
    return None if ml is None else FormList(ml.id, list_info(ml), ml.bounce_domain)


def list_by_id(session: Session, list_id: int) -> models.MailingList:
    ml = session.get(models.MailingList, list_id)
    if ml is None:
        raise NotFound(f"no list with id {list_id}")
    return ml
