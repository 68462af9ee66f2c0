"""What one subscriber would receive, without sending anything: `digest preview` (a week) and the console's
preview of an issue, which also says why each article of the period is in or out and why the send would
skip them. Built by the same digest_for and skip rules as sending, so what an editor sees is what goes out."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.domain import Article, Digest, Picks, RenderedDigest
from digest.core.explain import Reason, reason_from
from digest.core.regions import RegionIndex
from digest.core.rendering import render_digest
from digest.core.selection import explain
from digest.services.delivery.digests import Addressee, digest_for, issue_digests, shared_articles, week_digests
from digest.services.delivery.rows import received_before
from digest.services.delivery.skips import Skip, skip_before_building
from digest.services.issues import sent_article_ids
from digest.services.subscribers import picks_of, subscription_by_email

if TYPE_CHECKING:
    from digest.services.runtime import Runtime


def preview_week(
    runtime: Runtime, session: Session, ml: models.MailingList, email: str, period_end: date
) -> tuple[Digest, RenderedDigest]:
    """`email`'s digest of the week ending `period_end`, issue or not."""
    sub = subscription_by_email(session, ml, email)
    week = week_digests(runtime, session, ml, period_end)
    copy = digest_for(runtime, week, picks_of(sub), _addressee(sub))
    return copy.digest, render_digest(copy.digest, copy.recipient, runtime.templates)


def _addressee(sub: models.Subscription, received: frozenset[int] = frozenset()) -> Addressee:
    """Their address and name, but links signed for no subscriber (id 0), as a test send's: whoever opens a
    preview (an editor, a framed page) must not hold a key to this subscriber's preferences or unsubscribe.
    Written in their language: what they would read."""
    return Addressee(sub.subscriber.email, sub.subscriber.name, language=sub.subscriber.locale, received=received)


@dataclass(frozen=True)
class Verdict:
    article_id: int
    title: str
    region_label: str
    topic_name: str
    included: bool
    reason: Reason


@dataclass
class IssuePreview:
    email: str
    name: str
    subscription_status: str
    region_names: list[str]
    topic_names: list[str]
    digest: Digest
    rendered: RenderedDigest | None  # None when the digest is empty: nothing would be sent
    verdicts: list[Verdict] = field(default_factory=list)
    # Why the send would skip them (a Skip key: suppressed, not_confirmed, paused, empty), or None.
    skip: str | None = None
    paused_until: date | None = None
    sent_copy: bool = False  # the copy they were sent, not what the issue would send them now

    @property
    def included(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.included]

    @property
    def excluded(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.included]


def preview_issue(runtime: Runtime, session: Session, issue_id: int, email: str) -> IssuePreview:
    """What `email` gets from the issue, and why each article of the period is in or out; once their copy was
    sent, that copy, whatever they have picked since."""
    issue = issue_digests(runtime, session, issue_id)
    ml = session.get_one(models.MailingList, issue.list_id)
    sub = subscription_by_email(session, ml, email)
    picks = picks_of(sub)
    sent = sent_article_ids(session, issue_id, sub.subscriber_id)
    received: frozenset[int] = frozenset()
    if sent is not None:
        copy = digest_for(runtime, issue.only(sent), Picks(), _addressee(sub))
    else:
        # As the send would: what their copies of overlapping issues held is left out.
        shared = shared_articles(session, issue)
        received = received_before(session, [sub.subscriber_id], shared).get(sub.subscriber_id, frozenset())
        copy = digest_for(runtime, issue, picks, _addressee(sub, received))
    names = {t.slug: t.name for t in ml.topics}
    suppressed = session.scalar(select(models.Suppression.id).where(models.Suppression.email == sub.subscriber.email))
    skip = skip_before_building(
        suppressed=suppressed is not None,
        subscription=sub.status,
        paused_until=sub.paused_until,
        period_end=issue.period_end,
    )
    if skip is None and copy.digest.article_count == 0:
        skip = Skip.EMPTY
    regions = runtime.regions
    return IssuePreview(
        email=sub.subscriber.email,
        name=sub.subscriber.name,
        subscription_status=sub.status,
        region_names=[regions.display(c) if c in regions else c for c in sorted(picks.regions)],
        topic_names=[names.get(t, t) for t in sorted(picks.topics)],
        digest=copy.digest,
        rendered=render_digest(copy.digest, copy.recipient, runtime.templates) if copy.digest.article_count else None,
        verdicts=_received_before(
            _verdicts(issue.articles, copy.digest, picks, regions, names, sent=sent is not None), received
        ),
        skip=None if sent is not None else skip,
        paused_until=sub.paused_until,
        sent_copy=sent is not None,
    )


def _received_before(verdicts: list[Verdict], received: frozenset[int]) -> list[Verdict]:
    """An article their picks take but the copy leaves out because they had it in another issue: said so."""
    why = Reason(False, "received_before", {}, "already received in another issue of this list")
    return [
        dataclasses.replace(v, reason=why) if v.article_id in received and v.reason.kind == "list_topic" else v
        for v in verdicts
    ]


def _verdicts(
    articles: list[Article], digest: Digest, picks: Picks, regions: RegionIndex, names: dict[str, str], *, sent: bool
) -> list[Verdict]:
    chosen = set(digest.article_ids)
    verdicts = []
    for article in articles:
        if sent:  # what their copy held decides, not what they pick now
            held = article.id in chosen
            reason = Reason(held, "in_copy" if held else "not_in_copy", {}, "in their copy" if held else "not in it")
        else:
            reason = reason_from(explain(article, picks, regions, topic_names=names))
        if reason.included and article.id not in chosen:
            reason = Reason(False, "list_topic", {}, reason.text)
        verdicts.append(
            Verdict(
                article.id,
                article.title,
                article.region_label,
                names.get(article.topic, article.topic),
                article.id in chosen,
                reason,
            )
        )
    return verdicts
