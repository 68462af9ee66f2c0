"""What one subscriber would receive, without sending anything."""

from __future__ import annotations

from datetime import date

import jinja2
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.domain import Digest, RenderedDigest
from digest.core.links import make_recipient
from digest.core.regions import RegionIndex
from digest.core.rendering import render_digest
from digest.core.selection import assemble_digest
from digest.core.settings import Settings
from digest.services.articles import articles_of_period, period_bounds
from digest.services.lists import list_info
from digest.services.subscribers import picks_of, subscription_by_email


def preview_digest(
    session: Session,
    ml: models.MailingList,
    email: str,
    period_end: date,
    settings: Settings,
    regions: RegionIndex,
    env: jinja2.Environment,
) -> tuple[Digest, RenderedDigest]:
    sub = subscription_by_email(session, ml, email)
    period_start, _, _ = period_bounds(period_end)
    digest = assemble_digest(
        list_info(ml),
        articles_of_period(session, ml, period_end),
        picks_of(sub),
        regions,
        period_start=period_start,
        period_end=period_end,
    )
    recipient = make_recipient(
        email=sub.subscriber.email,
        name=sub.subscriber.name,
        subscriber_id=sub.subscriber_id,
        list_slug=ml.slug,
        issue_id=0,
        base_url=settings.base_url,
        secret=settings.secret_key,
        unsubscribe_mailbox=ml.reply_to or ml.sender_email,
    )
    return digest, render_digest(digest, recipient, env)
