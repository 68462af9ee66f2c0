"""The editor's review queue ("待审核"): articles the tagger placed below the list's confidence, or could
not place at all, wait here and go into no issue (services/articles.py `articles_of_period`) until an
editor confirms them, as suggested or corrected, in one step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from digest.adapters.storage import models
from digest.core.regions import RegionIndex
from digest.services.article_editing import edit_article
from digest.services.validation import FieldError, Invalid

_ARTICLE = models.Article


def waiting_for_review(session: Session, list_id: int, limit: int = 50) -> list[models.Article]:
    """The list's waiting articles, newest first (ix_articles_waiting_review), with their regions and topic."""
    return list(
        session.scalars(
            select(_ARTICLE)
            .where(_ARTICLE.list_id == list_id, _ARTICLE.needs_review)
            .options(selectinload(_ARTICLE.regions), selectinload(_ARTICLE.topic))
            .order_by(_ARTICLE.published_at.desc(), _ARTICLE.id.desc())
            .limit(limit)
        )
    )


def count_waiting(session: Session, list_id: int) -> int:
    """How many of the list's articles wait for an editor: the dashboard's figure."""
    waiting = select(func.count()).where(_ARTICLE.list_id == list_id, _ARTICLE.needs_review)
    return session.scalar(waiting) or 0


def confirm_article(
    session: Session, article: models.Article, changes: Mapping[str, Any], regions: RegionIndex
) -> list[str]:
    """An editor's yes: `changes` (regions, topic, as `edit_article` takes them) correct the suggestion, and
    what they leave keeps the origin it had; the article then goes into issues like any other. An article
    the tagger could not place needs its regions given. Returns region warnings (near misses)."""
    if not article.regions and not changes.get("regions"):
        raise Invalid({"regions": FieldError("art_err_required", {"field": "regions"})})
    warnings = edit_article(session, article, changes, regions) if changes else []
    article.needs_review = False
    session.flush()
    return warnings
