"""A whole week's digest message from a newsletter file, as sending makes it, with no database.

The file is parsed, its regions and sections resolved as `digest ingest` does, and the
message written by the production path (render once, prepare, fill one recipient's
inserts, write the bytes), so what the tests measure is what a reader receives.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from digest.core.domain import Article, Digest, ListInfo, Picks, Topic
from digest.core.following import following_words
from digest.core.form_mail import CONFIRM, FormMailButton, FormMailTo, build_form_mail
from digest.core.ingest import parse_file
from digest.core.links import IssueLinks, archive_url, make_recipient
from digest.core.messages import MessageHeaders, write_message
from digest.core.prepared import PreparedContent
from digest.core.regions import RegionIndex, load_regions
from digest.core.rendering import make_environment, render_content
from digest.core.selection import assemble_digest
from digest.services.lists import DEFAULT_TOPICS

SECRET = "sample-digest-secret-0123456789abcdef"
PERIOD_END = date(2021, 6, 20)


def sample_list(credits: tuple[tuple[str, str], ...] = (), article_text: str = "full") -> ListInfo:
    """The default list as `digest init` makes it, with a real sender and address."""
    return ListInfo(
        slug="rural-weekly",
        name="乡村振兴周报",
        topics=tuple(Topic(slug, name, i) for i, (slug, name) in enumerate(DEFAULT_TOPICS)),
        sender_name="乡村振兴周报",
        sender_email="weekly@digest.example.org",
        masthead="乡村振兴周报",
        tagline="每周乡村振兴要闻，按您关注的地区与栏目挑选",
        credits=credits,
        contact_email="editors@digest.example.org",
        postal_address="北京市海淀区示例路 1 号",
        article_text=article_text,
    )


def articles_of(path: Path, regions: RegionIndex, article_text: str = "full") -> tuple[list[Article], ListInfo]:
    parsed = parse_file(path)
    info = sample_list(parsed.credits, article_text)
    slug_of = {name: slug for slug, name in DEFAULT_TOPICS}
    published = datetime(2021, 6, 18, 1, tzinfo=UTC)
    articles = []
    for i, a in enumerate(parsed.articles, start=1):
        codes = tuple(dict.fromkeys(c for label in a.regions for c in regions.resolve(label).codes))
        topic = slug_of.get(a.topic, a.topic)
        articles.append(Article(i, topic, a.title, a.body_html, codes, a.region_label, published, a.source, a.url))
    return articles, info


@dataclass(frozen=True)
class SampleMessage:
    digest: Digest
    raw: bytes
    message: email.message.EmailMessage

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()


def sample_message(
    path: Path,
    picks: Picks | None = None,
    issue_number: int = 2,
    language: str = "zh-CN",
    article_text: str = "full",
) -> SampleMessage:
    """The digest `picks` (default: everything) select from the week in `path`, as the message one reader who
    reads `language` gets from a list that mails each article's `article_text` ("full" or "lead")."""
    picks = picks or Picks()
    regions = load_regions()
    articles, info = articles_of(path, regions, article_text)
    links = IssueLinks(info.slug, 7, "https://digest.example.org", SECRET, info.sender_email)
    digest = assemble_digest(
        info,
        articles,
        picks,
        regions,
        period_start=date(2021, 6, 14),
        period_end=PERIOD_END,
        issue_number=issue_number,
        web_url=archive_url(links.base_url, info.slug, issue_number),
        language=language,
    )
    who = make_recipient(
        links,
        email="wang.fang@example.cn",
        name="王芳",
        subscriber_id=42,
        following=following_words(picks, info.topics, regions, language),
        language=language,
    )
    prepared = PreparedContent.of(render_content(digest, make_environment()))
    subject, text, html = prepared.fill(who)
    headers = MessageHeaders(
        list_info=info,
        recipient=who,
        list_id_domain="digest.example.org",
        message_id="<issue7.sub42@digest.example.org>",
        date=datetime(2021, 6, 21, 8, 0, tzinfo=timezone(timedelta(hours=8))),
    )
    raw = write_message(headers, subject, text, html)
    return SampleMessage(digest, raw, email.message_from_bytes(raw, policy=email.policy.default))


def confirmation_html(locale: str) -> str:
    """The HTML part of the confirmation mail the sample list sends a new reader in `locale`."""
    raw = build_form_mail(
        make_environment(),
        sample_list(),
        FormMailTo("reader@example.org", "", locale),
        FormMailButton(CONFIRM, "https://digest.example.org/c/" + "t" * 90),
        link_domain="digest.example.org",
        now=datetime(2021, 6, 21, tzinfo=UTC),
    )
    return email.message_from_bytes(raw, policy=email.policy.default).get_body(("html",)).get_content()
