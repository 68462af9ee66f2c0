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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from digest.core.domain import ParsedArticle, ParseResult, Problem, Severity
from digest.core.ingest.jsonl import aware
from digest.core.sanitize import paragraphs_to_html

# `region | title`: ASCII or full-width bar. The region is short and has no
# punctuation, which keeps a paragraph that happens to contain a bar a paragraph.
_ARTICLE_LINE = re.compile(r"^(?P<region>[^|｜]*?)\s*[|｜]\s*(?P<title>.*)$")
_MAX_REGION_CHARS = 24
_MAX_HEADING_CHARS = 16

# Sentence-final marks. Colons and semicolons count too: a paragraph ending
# with "：" introduces a list (一是… 二是…), it does not continue on the next page.
_FINAL = frozenset("。！？…”」』）!?.)\"'：:；;")
# Any of these in a short line means prose, not a section heading.
_PUNCTUATION = re.compile(r"[，。、；：！？,.;:!?“”\"'（）()《》【】…—]")

_CREDIT_LABELS = (
    "制作",
    "出品",
    "主编",
    "责任编辑",
    "编辑",
    "审核",
    "审校",
    "校对",
    "撰稿",
    "美编",
    "排版",
    "联系邮箱",
    "电子邮箱",
    "邮箱",
    "联系电话",
    "电话",
    "地址",
    "通讯地址",
    "联系地址",
)
_CREDIT_LINE = re.compile(
    # Longest first: in an alternation a label that prefixes another would win.
    r"^(?P<label>" + "|".join(sorted(_CREDIT_LABELS, key=len, reverse=True)) + r")\s*[：:]\s*(?P<value>.*)$"
)
_MAX_CREDIT_CHARS = 80
_EMAIL_LABELS = frozenset({"联系邮箱", "电子邮箱", "邮箱"})
_EMAIL = re.compile(r"[^\s@：:]+@[^\s@]+\.[A-Za-z]{2,}")
# Calls to action printed beside a QR code in the layout; they carry no content.
_JUNK = re.compile(r"二维码|扫码|扫一扫|关注我们|长按识别|点击关注|阅读原文")

# A page-break fragment stops mid-sentence; a short line without any
# punctuation is an in-article subheading, which also lacks a final mark.
_MIN_FRAGMENT_CHARS = 16
# The export sometimes repeats the character at the break ("…部署，石" / "石家庄市…").
_CLAUSE_PUNCTUATION = re.compile(r"[，。；！？,;!?]")
_CLAUSE_MARKS = frozenset("，、；：,;:")


@dataclass(slots=True)
class _Line:
    number: int
    text: str
    kind: str = "paragraph"  # heading | article | paragraph | credit | junk
    region: str = ""
    title: str = ""


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


def _clean_lines(text: str) -> list[tuple[int, str]]:
    """Numbered non-blank lines, stripped; form feeds and CRs are layout debris."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.replace("\f", "").replace("\v", "").strip()
        if line:
            out.append((number, line))
    return out


def _as_article_line(text: str) -> tuple[str, str] | None:
    match = _ARTICLE_LINE.match(text)
    if not match:
        return None
    region, title = match["region"].strip(), match["title"].strip()
    if len(region) > _MAX_REGION_CHARS or _PUNCTUATION.search(region):
        return None
    return region, title


def _classify(numbered: list[tuple[int, str]]) -> list[_Line]:
    lines = [_Line(number, text) for number, text in numbered]
    last_article = -1
    for i, line in enumerate(lines):
        if (parts := _as_article_line(line.text)) is not None:
            line.kind = "article"
            line.region, line.title = parts
            last_article = i
    # Credits are only looked for after the last article, so a paragraph that
    # happens to begin with "地址：" cannot cut an article short.
    in_footer = False
    for i, line in enumerate(lines):
        if line.kind == "article":
            continue
        if _JUNK.search(line.text) and len(line.text) <= 30:
            line.kind = "junk"
        elif i > last_article and len(line.text) <= _MAX_CREDIT_CHARS and _CREDIT_LINE.match(line.text):
            line.kind = "credit"
            in_footer = True
        elif in_footer:
            # Past the first credit, anything else is footer decoration.
            line.kind = "junk"
    # A heading is known by what follows it: a short, unpunctuated line whose
    # next line is an article line. Section names are not fixed in advance.
    for i, line in enumerate(lines):
        if (
            line.kind == "paragraph"
            and len(line.text) <= _MAX_HEADING_CHARS
            and not _PUNCTUATION.search(line.text)
            and i + 1 < len(lines)
            and lines[i + 1].kind == "article"
        ):
            line.kind = "heading"
    return lines


def _body_start(items: list[_Line]) -> int:
    """Index where the body begins; everything before it is the table of contents.

    The body starts at the first heading seen a second time, or else at the
    heading that owns the first paragraph, whichever comes first. Text before
    the first heading (a masthead, an issue number) does not end the contents.
    """
    seen: set[str] = set()
    last_heading = 0
    article_seen = False
    for i, item in enumerate(items):
        if item.kind == "heading":
            if item.text in seen:
                return i
            seen.add(item.text)
            last_heading = i
        elif item.kind == "article":
            article_seen = True
        elif item.kind == "paragraph" and (seen or article_seen):
            # Prose under an article line: that article is in the body. With no
            # heading yet, the body starts at the top and has no contents.
            return last_heading
    return last_heading


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

    items = _classify(_clean_lines(text))
    problems: list[Problem] = []

    def report(
        message: str,
        line: int,
        severity: Severity = "error",
        field_name: str | None = None,
        *,
        code: str,
        **params: object,
    ) -> None:
        problems.append(
            Problem(message, source=source, line=line, field=field_name, severity=severity, code=code, params=params)
        )

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

    credits: list[tuple[str, str]] = []
    contact_email: str | None = None
    for item in items:
        if item.kind != "credit":
            continue
        match = _CREDIT_LINE.match(item.text)
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

    content = [item for item in items if item.kind in ("heading", "article", "paragraph")]
    start = _body_start(content)
    toc, body = content[:start], content[start:]

    # Table of contents: (section, region, title, line).
    toc_entries: list[tuple[str, str, str, int]] = []
    toc_section: str | None = None
    for item in toc:
        if item.kind == "heading":
            toc_section = item.text
        elif item.kind == "article":
            if not item.region or not item.title:
                which = "region" if not item.region else "title"
                report(f"contents entry has an empty {which}", item.number, "warning", which, code=f"toc_empty_{which}")
            elif toc_section is None:
                report("contents entry before any section heading", item.number, "warning", code="toc_before_heading")
            else:
                toc_entries.append((toc_section, item.region, item.title, item.number))
        else:
            report("text in the table of contents ignored", item.number, "warning", code="toc_text_ignored")

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

    published = aware(default_published) if default_published is not None else None
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

    if toc_entries:
        in_body = {_key(a.region, a.title): a for a in articles}
        in_toc = {_key(region, title) for _, region, title, _ in toc_entries}
        for toc_section_name, region, title, line in toc_entries:
            body_article = in_body.get(_key(region, title))
            if body_article is None:
                report(
                    f"contents lists {region} | {title} but the body has no such article",
                    line,
                    "warning",
                    code="toc_not_in_body",
                    region=region,
                    title=title,
                )
            elif body_article.section != toc_section_name:
                report(
                    f"contents lists {region} | {title} under {toc_section_name} "
                    f"but the body has it under {body_article.section}",
                    line,
                    "warning",
                    code="toc_other_section",
                    region=region,
                    title=title,
                    toc_section=toc_section_name,
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

    problems.sort(key=lambda p: p.line or 0)
    return ParseResult(
        articles=tuple(parsed),
        problems=tuple(problems),
        credits=tuple(credits),
        contact_email=contact_email,
    )
