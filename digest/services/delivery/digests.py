"""One subscriber's digest of an issue: the one place that assembles it and signs its links.

Sending, the previews, a test send, the subscriber's "view in browser" and the archive all
come here, so what an editor previews is what goes out. An `IssueDigests` is what every copy
of one issue shares, loaded once per batch or page; it keeps each distinct digest it built.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.digest_words import reader_language
from digest.core.domain import Article, Digest, ListInfo, Picks, Recipient
from digest.core.following import following_words
from digest.core.links import NO_SUBSCRIBER, IssueLinks, archive_url, make_recipient
from digest.core.prepared import PreparedContent
from digest.core.rendering import PublicCopy
from digest.core.selection import assemble_digest
from digest.services.articles import articles_of_period, period_bounds
from digest.services.lists import list_info

if TYPE_CHECKING:
    from digest.services.runtime import Runtime


@dataclass(frozen=True)
class Addressee:
    """Whom a copy is for. Subscriber id 0 signs links for nobody: a test copy changes no subscription."""

    email: str
    name: str = ""
    subscriber_id: int = NO_SUBSCRIBER
    # What the "您关注" line names, when not the picks that select the copy: a sent copy shown again is
    # selected by the articles it held (everything of `IssueDigests.only`), yet its reader follows their picks.
    follows: Picks | None = None
    # The language they chose; "" (a test copy to an address that is nobody's) for the list's.
    language: str = ""
    # Articles of this issue the reader already received in another issue of the list: left out, since an
    # article reaches a reader at most once per list, however the issues' weeks overlap.
    received: frozenset[int] = frozenset()


@dataclass(frozen=True)
class PersonalDigest:
    digest: Digest
    recipient: Recipient


@dataclass
class IssueDigests:
    """What every copy of one issue (or, for a preview, of one week) shares."""

    issue_id: int  # 0: a week no issue was planned for
    list_id: int
    issue_number: int | None
    period_start: date
    period_end: date
    info: ListInfo
    articles: list[Article]
    links: IssueLinks
    # By (picks, language, articles left out): readers of one language share a render, a reader of another
    # gets their own.
    digests: dict[tuple[Picks, str, frozenset[int]], Digest] = field(default_factory=dict)
    # For sending: each other issue of the list that holds some of this one's articles, with those articles
    # (its week overlaps this one's). Who received such an issue does not get them again.
    shared: dict[int, frozenset[int]] = field(default_factory=dict)
    # The contents sending rendered, by their language and articles: how many distinct ones a run made.
    contents: dict[tuple[str, tuple[int, ...]], PreparedContent] = field(default_factory=dict)
    # What each distinct Picks reads as in the "您关注" line, per language: worded once, not once a message.
    followings: dict[tuple[Picks, str], str] = field(default_factory=dict)

    def language(self, chosen: str = "") -> str:
        """What a reader who chose `chosen` ("" for none) reads this issue in: theirs, else the list's."""
        return reader_language(chosen, self.info.language)

    def digest(
        self, picks: Picks, runtime: Runtime, language: str = "", without: frozenset[int] = frozenset()
    ) -> Digest:
        """The digest `picks` select, in `language`, less the articles `without` (already received elsewhere)."""
        key = (picks, self.language(language), without)
        digest = self.digests.get(key)
        if digest is None:
            articles = [a for a in self.articles if a.id not in without] if without else self.articles
            digest = self.digests[key] = assemble_digest(
                self.info,
                articles,
                picks,
                runtime.regions,
                period_start=self.period_start,
                period_end=self.period_end,
                issue_number=self.issue_number,
                web_url=archive_url(self.links.base_url, self.info.slug, self.issue_number),
                language=key[1],
            )
        return digest

    def following(self, picks: Picks, runtime: Runtime, language: str = "") -> str:
        key = (picks, self.language(language))
        words = self.followings.get(key)
        if words is None:
            words = self.followings[key] = following_words(picks, self.info.topics, runtime.regions, key[1])
        return words

    def content(self, digest: Digest, runtime: Runtime) -> PreparedContent:
        key = (digest.language, digest.article_ids)
        content = self.contents.get(key)
        if content is None:
            content = self.contents[key] = runtime.prepared(digest)
        return content

    def only(self, article_ids: list[int]) -> IssueDigests:
        """The same issue limited to these articles: what one subscriber's sent copy held."""
        kept = set(article_ids)
        return dataclasses.replace(
            self, articles=[a for a in self.articles if a.id in kept], digests={}, contents={}, followings={}
        )


def _links(runtime: Runtime, ml: models.MailingList, issue_id: int) -> IssueLinks:
    settings = runtime.settings
    bounce_domain = ml.bounce_domain or settings.loop.bounce_domain
    # With a bounce domain, its mailbox reads the List-Unsubscribe mail too (digest bounces poll): one
    # address on it, whatever the list's Reply-To, which people read.
    mailbox = f"unsubscribe@{bounce_domain}" if bounce_domain else ml.reply_to or ml.sender_email
    return IssueLinks(ml.slug, issue_id, settings.base_url, settings.secret_key, mailbox, bounce_domain)


def issue_digests(runtime: Runtime, session: Session, issue_id: int) -> IssueDigests:
    """The issue as it goes out: once its first copy was built, the articles fixed then (less any an editor
    has hidden since); before that, its week's articles as they stand."""
    # (The casts: a batch or page names an issue that exists, and an issue's list exists.)
    issue = cast(models.Issue, session.get(models.Issue, issue_id))
    ml = cast(models.MailingList, session.get(models.MailingList, issue.list_id))
    articles = articles_of_period(session, ml, issue.period_end)
    if issue.article_ids is not None:
        fixed = set(issue.article_ids)
        articles = [a for a in articles if a.id in fixed]
    return IssueDigests(
        issue_id=issue.id,
        list_id=ml.id,
        issue_number=issue.number,
        period_start=issue.period_start,
        period_end=issue.period_end,
        info=list_info(ml),
        articles=articles,
        links=_links(runtime, ml, issue.id),
    )


def sending_digests(runtime: Runtime, session: Session, issue_id: int) -> IssueDigests:
    """`issue_digests` for the sender, which fixes the issue's articles with its first copy: an article
    uploaded while the issue goes out waits for the next, so every reader's copy and the archive agree."""
    issue = issue_digests(runtime, session, issue_id)
    fixing = (
        update(models.Issue)
        .where(models.Issue.id == issue_id, models.Issue.article_ids.is_(None))
        .values(article_ids=[a.id for a in issue.articles])
    )
    if not session.execute(fixing).rowcount:  # type: ignore[attr-defined]  # DML gives a CursorResult
        # Fixed before, or by a batch beside this one that won the row: its list, whatever this one read.
        session.expire_all()
        issue = issue_digests(runtime, session, issue_id)
    issue.shared = shared_articles(session, issue)
    return issue


def shared_articles(session: Session, issue: IssueDigests) -> dict[int, frozenset[int]]:
    """The list's other issues whose fixed articles overlap `issue`'s, with the articles they share.

    An issue holds articles published in its week, so only issues whose weeks overlap can share any:
    a few rows, however long the list has run.
    """
    mine = frozenset(a.id for a in issue.articles)
    i = models.Issue
    others = session.execute(
        select(i.id, i.article_ids).where(
            i.list_id == issue.list_id,
            i.id != issue.issue_id,
            i.article_ids.is_not(None),
            i.period_start <= issue.period_end,
            i.period_end >= issue.period_start,
        )
    )
    shared = {row.id: mine.intersection(row.article_ids or ()) for row in others}
    return {issue_id: ids for issue_id, ids in shared.items() if ids}


def week_digests(runtime: Runtime, session: Session, ml: models.MailingList, period_end: date) -> IssueDigests:
    """A week's digests before any issue exists for it (`digest preview`): no number, links to issue 0."""
    period_start, _, _ = period_bounds(period_end)
    return IssueDigests(
        issue_id=0,
        list_id=ml.id,
        issue_number=None,
        period_start=period_start,
        period_end=period_end,
        info=list_info(ml),
        articles=articles_of_period(session, ml, period_end),
        links=_links(runtime, ml, 0),
    )


def digest_for(runtime: Runtime, issue: IssueDigests, picks: Picks, to: Addressee) -> PersonalDigest:
    """The digest `picks` select from `issue`, addressed to `to` with their own signed links."""
    language = issue.language(to.language)
    following = issue.following(picks if to.follows is None else to.follows, runtime, language)
    recipient = make_recipient(
        issue.links,
        email=to.email,
        name=to.name,
        subscriber_id=to.subscriber_id,
        following=following,
        language=language,
    )
    return PersonalDigest(issue.digest(picks, runtime, language, to.received), recipient)


def public_digest(runtime: Runtime, issue: IssueDigests) -> tuple[Digest, PublicCopy]:
    """The whole issue as the archive shows it, in the list's language: nobody's copy, with links to subscribe
    and to the archive."""
    base, slug = runtime.settings.base_url, issue.info.slug
    public = PublicCopy(subscribe_url=f"{base}/lists/{slug}/subscribe", archive_url=f"{base}/lists/{slug}/archive")
    return issue.digest(Picks(), runtime), public
