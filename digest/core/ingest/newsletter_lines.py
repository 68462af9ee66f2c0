"""What each line of a newsletter issue is: a heading, a `region | title` article line, a paragraph, a footer
credit or junk, and where the table of contents ends and the body begins. digest.core.ingest.newsletter reads
the issue from these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# `region | title`: ASCII or full-width bar. The region is short and has no
# punctuation, which keeps a paragraph that happens to contain a bar a paragraph.
_ARTICLE_LINE = re.compile(r"^(?P<region>[^|｜]*?)\s*[|｜]\s*(?P<title>.*)$")
_MAX_REGION_CHARS = 24
_MAX_HEADING_CHARS = 16

# Any of these in a short line means prose, not a section heading.
PUNCTUATION = re.compile(r"[，。、；：！？,.;:!?“”\"'（）()《》【】…—]")

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
CREDIT_LINE = re.compile(
    # Longest first: in an alternation a label that prefixes another would win.
    r"^(?P<label>" + "|".join(sorted(_CREDIT_LABELS, key=len, reverse=True)) + r")\s*[：:]\s*(?P<value>.*)$"
)
_MAX_CREDIT_CHARS = 80
# Calls to action printed beside a QR code in the layout; they carry no content.
_JUNK = re.compile(r"二维码|扫码|扫一扫|关注我们|长按识别|点击关注|阅读原文")


@dataclass(slots=True)
class Line:
    """One non-blank line of the issue, with what it was found to be."""

    number: int
    text: str
    kind: str = "paragraph"  # heading | article | paragraph | credit | junk
    region: str = ""
    title: str = ""


def numbered_lines(text: str) -> list[tuple[int, str]]:
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
    if len(region) > _MAX_REGION_CHARS or PUNCTUATION.search(region):
        return None
    return region, title


def classify(numbered: list[tuple[int, str]]) -> list[Line]:
    """The lines of `numbered_lines` with their kind (and an article line's region and title) filled in."""
    lines = [Line(number, text) for number, text in numbered]
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
        elif i > last_article and len(line.text) <= _MAX_CREDIT_CHARS and CREDIT_LINE.match(line.text):
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
            and not PUNCTUATION.search(line.text)
            and i + 1 < len(lines)
            and lines[i + 1].kind == "article"
        ):
            line.kind = "heading"
    return lines


def body_start(items: list[Line]) -> int:
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
