"""The weekly's plain-text issue format.

An issue looks like this (blank lines between every line, as exported):

    宏观形势                         <- table of contents (optional):
    财政部 | 部署全面推进乡村振兴工作      headings, each followed by `region | title`
    ...
    宏观形势                         <- the body: the headings again, each
    财政部 | 部署全面推进乡村振兴工作      article a `region | title` line
    第一段……。                            followed by its paragraphs
    ...
    识别二维码 关注我们                <- junk, ignored
    制作：…  责任编辑：…  审核：…       <- footer credits
    联系邮箱：…  地址：…

The text was exported from a paged layout, so a paragraph that ran over a page
boundary arrives as two paragraphs: the first stops mid-sentence. Those are
joined back.

What each line is (heading, article line, paragraph, credit, junk) is decided in
newsletter_lines.py; this module turns the classified lines into articles and problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from digest.core.domain import ParsedArticle, ParseResult, Problem, Severity
from digest.core.ingest.jsonl import aware
from digest.core.ingest.newsletter_lines import CREDIT_LINE, Line, body_start, classify, numbered_lines
from digest.core.sanitize import paragraphs_to_html

# Sentence-final marks. Colons and semicolons count too: a paragraph ending
# with "：" introduces a list (一是… 二是…), it does not continue on the next page.
_FINAL = frozenset("。！？…”」』）!?.)\"'：:；;")

# The credits that name a contact address; the first address found is the contact email.
_EMAIL_LABELS = frozenset({"联系邮箱", "电子邮箱", "邮箱"})
_EMAIL = re.compile(r"[^\s@：:]+@[^\s@]+\.[A-Za-z]{2,}")

# A page-break fragment stops mid-sentence; a short line without any
# punctuation is an in-article subheading, which also lacks a final mark.
_MIN_FRAGMENT_CHARS = 16
# The export sometimes repeats the character at the break ("…部署，石" / "石家庄市…").
_CLAUSE_PUNCTUATION = re.compile(r"[，。；！？,;!?]")
_CLAUSE_MARKS = frozenset("，、；：,;:")


@dataclass(slots=True)
class _Paragraph:
    text: str
    line: int


@dataclass(slots=True)
class _Article:
    section: str
    region: str
    title: str
    line: int
    paragraphs: list[_Paragraph] = field(default_factory=list)


def _ends_sentence(text: str) -> bool:
    return text[-1] in _FINAL


def _is_subheading(text: str) -> bool:
    # Numbered subheadings ("一、总体要求") use the enumeration comma, so only
    # clause-level marks say "this is prose".
    return len(text) < _MIN_FRAGMENT_CHARS and not _CLAUSE_PUNCTUATION.search(text)


def _join_page_breaks(paragraphs: list[_Paragraph]) -> list[str]:
    joined: list[_Paragraph] = []
    for paragraph in paragraphs:
        if joined:
            previous = joined[-1]
            if not _ends_sentence(previous.text) and not _is_subheading(previous.text):
                head, tail = previous.text, paragraph.text
                if len(head) >= 2 and head[-2] in _CLAUSE_MARKS and tail.startswith(head[-1]):
                    head = head[:-1]
                previous.text = head + _glue(head, tail) + tail
                continue
        joined.append(_Paragraph(paragraph.text, paragraph.line))
    return [p.text for p in joined]


def _glue(head: str, tail: str) -> str:
    # Chinese runs together; Latin words split across the break need a space.
    return " " if head[-1].isascii() and head[-1].isalnum() and tail[0].isascii() and tail[0].isalnum() else ""


def _key(region: str, title: str) -> tuple[str, str]:
    # Whitespace differs between the contents and the body ("工作 着力" vs "工作着力").
    return re.sub(r"\s+", "", region), re.sub(r"\s+", "", title)


def parse_newsletter(
    text: str,
    source: str = "<text>",
    default_published: datetime | date | None = None,
) -> ParseResult:
    """Parse one issue. `published` stays None unless a default is given."""
    from digest.core.ingest import IngestFormatError

    items = classify(numbered_lines(text))
    if not any(item.kind == "article" for item in items):
        first = next((item.number for item in items), 1)
        raise IngestFormatError(
            Problem(
                "no `region | title` lines: this does not look like a newsletter issue",
                source=source,
                line=first,
                code="newsletter_no_articles",
            )
        )
    report = _Report(source)
    credits, contact_email = _read_credits(items, report)
    content = [item for item in items if item.kind in ("heading", "article", "paragraph")]
    start = body_start(content)
    toc_entries = _read_contents(content[:start], report)
    articles = _read_body(content[start:], report)
    published = aware(default_published) if default_published is not None else None
    parsed = _parsed_articles(articles, published, report)
    if toc_entries:
        _check_contents_against_body(toc_entries, articles, report)
    return ParseResult(
        articles=tuple(parsed),
        problems=tuple(sorted(report.problems, key=lambda p: p.line or 0)),
        credits=tuple(credits),
        contact_email=contact_email,
    )


class _Report:
    """Collects the problems of one file, each with the file's name."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def __call__(
        self,
        message: str,
        line: int,
        severity: Severity = "error",
        field_name: str | None = None,
        *,
        code: str,
        **params: object,
    ) -> None:
        self.problems.append(
            Problem(
                message, source=self.source, line=line, field=field_name, severity=severity, code=code, params=params
            )
        )


def _read_credits(items: list[Line], report: _Report) -> tuple[list[tuple[str, str]], str | None]:
    """The footer's (label, value) credits, and the first contact email address among them."""
    credits: list[tuple[str, str]] = []
    contact_email: str | None = None
    for item in items:
        if item.kind != "credit":
            continue
        match = CREDIT_LINE.match(item.text)
        assert match is not None
        label, value = match["label"], match["value"].strip()
        if not value:
            report(f"{label} has no value", item.number, "warning", label, code="credit_no_value", label=label)
            continue
        if label in _EMAIL_LABELS:
            found = _EMAIL.search(value)
            if found and contact_email is None:
                contact_email = found.group(0)
            elif not found:
                report(
                    f"{value!r} is not an email address",
                    item.number,
                    "warning",
                    label,
                    code="credit_bad_email",
                    value=value,
                )
            continue
        credits.append((label, value))
    return credits, contact_email


@dataclass(slots=True)
class _ContentsEntry:
    section: str
    region: str
    title: str
    line: int


def _read_contents(toc: list[Line], report: _Report) -> list[_ContentsEntry]:
    entries: list[_ContentsEntry] = []
    section: str | None = None
    for item in toc:
        if item.kind == "heading":
            section = item.text
        elif item.kind == "article":
            if not item.region or not item.title:
                which = "region" if not item.region else "title"
                report(f"contents entry has an empty {which}", item.number, "warning", which, code=f"toc_empty_{which}")
            elif section is None:
                report("contents entry before any section heading", item.number, "warning", code="toc_before_heading")
            else:
                entries.append(_ContentsEntry(section, item.region, item.title, item.number))
        else:
            report("text in the table of contents ignored", item.number, "warning", code="toc_text_ignored")
    return entries


def _read_body(body: list[Line], report: _Report) -> list[_Article]:
    articles: list[_Article] = []
    section: str | None = None
    current: _Article | None = None
    # After a rejected article line its paragraphs must not leak into the
    # previous article, so they are swallowed until the next article or heading.
    swallowing = False
    for item in body:
        if item.kind == "heading":
            section, current, swallowing = item.text, None, False
        elif item.kind == "article":
            current, swallowing = None, True
            if not item.region or not item.title:
                which = "region" if not item.region else "title"
                report(
                    f"empty {which} around the bar in {item.text!r}",
                    item.number,
                    field_name=which,
                    code=f"article_empty_{which}",
                    text=item.text,
                )
            elif section is None:
                report(
                    f"article {item.text!r} comes before any section heading",
                    item.number,
                    code="article_before_heading",
                    text=item.text,
                )
            else:
                current, swallowing = _Article(section, item.region, item.title, item.number), False
                articles.append(current)
        elif current is not None:
            current.paragraphs.append(_Paragraph(item.text, item.number))
        elif not swallowing:
            report("text outside any article ignored", item.number, "warning", code="text_outside_article")
    return articles


def _parsed_articles(articles: list[_Article], published: datetime | None, report: _Report) -> list[ParsedArticle]:
    parsed: list[ParsedArticle] = []
    for article in articles:
        if not article.paragraphs:
            report(
                f"article {article.region} | {article.title} has no body",
                article.line,
                field_name="body",
                code="article_no_body",
                region=article.region,
                title=article.title,
            )
            continue
        parsed.append(
            ParsedArticle(
                title=article.title,
                body_html=paragraphs_to_html(_join_page_breaks(article.paragraphs)),
                topic=article.section,
                regions=(article.region,),
                region_label=article.region,
                published=published,
                line=article.line,
            )
        )
    return parsed


def _check_contents_against_body(entries: list[_ContentsEntry], articles: list[_Article], report: _Report) -> None:
    in_body = {_key(a.region, a.title): a for a in articles}
    in_toc = {_key(entry.region, entry.title) for entry in entries}
    for entry in entries:
        region, title = entry.region, entry.title
        body_article = in_body.get(_key(region, title))
        if body_article is None:
            report(
                f"contents lists {region} | {title} but the body has no such article",
                entry.line,
                "warning",
                code="toc_not_in_body",
                region=region,
                title=title,
            )
        elif body_article.section != entry.section:
            report(
                f"contents lists {region} | {title} under {entry.section} "
                f"but the body has it under {body_article.section}",
                entry.line,
                "warning",
                code="toc_other_section",
                region=region,
                title=title,
                toc_section=entry.section,
                body_section=body_article.section,
            )
    for article in articles:
        if _key(article.region, article.title) not in in_toc:
            report(
                f"article {article.region} | {article.title} is missing from the table of contents",
                article.line,
                "warning",
                code="article_not_in_toc",
                region=article.region,
                title=article.title,
            )
