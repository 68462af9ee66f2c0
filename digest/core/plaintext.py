"""Sanitised article HTML to text that reads well on its own.

Used for the text/plain part of every digest and for article fingerprints, so
the output must be deterministic and must not depend on markup details that do
not change what a reader sees.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "figure",
        "figcaption",
        "ul",
        "ol",
        "li",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "section",
        "article",
        "pre",
        "hr",
    }
)
_SKIP_TAGS = frozenset({"script", "style", "head", "title", "noscript", "template"})
# What the walker meets. Named apart because a comment's or processing instruction's tag is its factory function.
_Node = etree._Element | etree._Comment | etree._ProcessingInstruction

_WIDE = r"\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
# A line break in the source between two Chinese characters is an editor's
# wrap, not a word gap; browsers of Chinese readers show nothing there either.
_WRAP_BETWEEN_WIDE = re.compile(rf"(?<=[{_WIDE}])[ \t\r\f]*\n\s*(?=[{_WIDE}])")
_SPACE = re.compile(r"[ \t\r\n\f\u00a0]+")

# Chinese typesetting (kinsoku): these may not start a line ...
_NO_LINE_START = set("，。、；：！？）》」』】〕〉”’…—·%％,.;:!?)]}")
# ... and these may not end one.
_NO_LINE_END = set("（《「『【〔〈“‘([{")


@dataclass
class _Frame:
    """A prefix contributed by an enclosing list item or quote."""

    first: str
    rest: str
    used: bool = False

    def take(self) -> str:
        if self.used:
            return self.rest
        return self.first


@dataclass
class _Block:
    text: str
    first_prefix: str
    rest_prefix: str
    group: int | None  # list items and table rows of one list/table follow each other without a blank line


@dataclass
class _Walker:
    blocks: list[_Block] = field(default_factory=list)
    buf: list[str] = field(default_factory=list)
    frames: list[_Frame] = field(default_factory=list)
    tight_depth: int = 0
    group: int | None = None
    groups: int = 0
    _in_table: bool = False

    def flush(self) -> None:
        raw = "".join(self.buf)
        self.buf = []
        lines = [line.strip() for line in raw.split("\n")]
        text = "\n".join(lines).strip("\n")
        if not text.strip():
            return
        first = "".join(f.take() for f in self.frames)
        rest = "".join(f.rest for f in self.frames)
        for f in self.frames:
            f.used = True
        self.blocks.append(_Block(text, first, rest, self.group if self.tight_depth else None))

    def inline(self, text: str | None) -> None:
        if text:
            text = _WRAP_BETWEEN_WIDE.sub("", text)
            self.buf.append(_SPACE.sub(" ", text))

    def walk(self, el: _Node) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        tag = tag.lower()
        if tag in _SKIP_TAGS or el.tag is etree.Comment or el.tag is etree.ProcessingInstruction:
            self.inline(el.tail)
            return
        if tag == "br":
            self.buf.append("\n")
        elif tag == "img":
            alt = (el.get("alt") or "").strip()
            if alt:
                self.inline(f"[图：{alt}]")
        elif tag == "a":
            self._link(el)
        elif tag in _BLOCK_TAGS:
            self._block(el, tag)
        else:
            self.inline(el.text)
            for child in el:
                self.walk(child)
        self.inline(el.tail)

    def _children(self, el: _Node) -> None:
        self.inline(el.text)
        for child in el:
            self.walk(child)

    def _link(self, el: _Node) -> None:
        start = len(self.buf)
        self._children(el)
        label = _SPACE.sub(" ", "".join(self.buf[start:])).strip()
        href = (el.get("href") or "").strip()
        if not href or href.startswith("#"):
            return
        shown = href[len("mailto:") :] if href.lower().startswith("mailto:") else href
        if label in (href, shown):
            return
        if not label:
            self.buf.append(shown)
        else:
            self.buf.append(f" ({shown})")

    def _enter_group(self) -> None:
        if self.tight_depth == 0 and not self._in_table:
            self.groups += 1
            self.group = self.groups
        self.tight_depth += 1

    def _block(self, el: _Node, tag: str) -> None:
        self.flush()
        if tag == "hr":
            self.blocks.append(_Block("――――――――", "", "", None))
            return
        if tag in ("ul", "ol"):
            self._enter_group()
            number = 0
            self.inline(el.text)
            for child in el:
                if isinstance(child.tag, str) and child.tag.lower() == "li":
                    number += 1
                    marker = f"{number}. " if tag == "ol" else "- "
                    self.flush()
                    self.frames.append(_Frame(marker, " " * len(marker)))
                    self._children(child)
                    self.flush()
                    self.frames.pop()
                    self.inline(child.tail)
                else:
                    self.walk(child)
            self.flush()
            self.tight_depth -= 1
            return
        if tag == "blockquote":
            self.frames.append(_Frame("> ", "> "))
            self._children(el)
            self.flush()
            self.frames.pop()
            return
        if tag == "table":
            self.flush()
            self.groups += 1
            self.group, self._in_table = self.groups, True
            self._children(el)
            self.flush()
            self._in_table = False
            return
        if tag == "tr":
            cells = []
            for cell in el:
                if isinstance(cell.tag, str) and cell.tag.lower() in ("td", "th"):
                    inner = _Walker()
                    inner._children(cell)
                    inner.flush()
                    cells.append(" ".join(b.text.replace("\n", " ") for b in inner.blocks))
            if any(cells):
                self._enter_group()
                self.buf.append(" | ".join(cells))
                self.flush()
                self.tight_depth -= 1
            return
        self._children(el)
        self.flush()


def display_width(text: str) -> int:
    """Columns `text` takes in a monospaced terminal or mail client: Chinese counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


_TOKEN = re.compile(rf"[{_WIDE}]|[^\s{_WIDE}]+|\s+")


def wrap_line(text: str, width: int, first_prefix: str = "", rest_prefix: str = "") -> list[str]:
    """Break one paragraph into lines of at most `width` columns.

    Chinese breaks between any two characters, other text at spaces; a URL or
    word longer than the line stays whole, since a broken URL no longer works.
    Closing punctuation never starts a line and opening punctuation never ends one.
    """
    if width <= 0:
        return [first_prefix + text]
    lines: list[str] = []
    line: list[str] = []
    prefix = first_prefix
    used = display_width(prefix)

    def finish() -> None:
        nonlocal line, prefix, used
        while line and line[-1].isspace():
            line.pop()
        lines.append(prefix + "".join(line))
        line, prefix = [], rest_prefix
        used = display_width(prefix)

    for token in _TOKEN.findall(text):
        if token.isspace():
            if line:
                line.append(" ")
                used += 1
            continue
        w = display_width(token)
        fits = used + w <= width
        # Hanging a closing mark one column over beats starting a line with it.
        hangs = token in _NO_LINE_START and used + w <= width + 2
        if fits or hangs or not line:
            line.append(token)
            used += w
            continue
        carried: list[str] = []
        while line and line[-1] in _NO_LINE_END and len(line) > 1:
            carried.insert(0, line.pop())
        finish()
        for t in carried:
            line.append(t)
            used += display_width(t)
        line.append(token)
        used += w
    if line or not lines:
        finish()
    return lines


def wrap_text(text: str, width: int = 72, prefix: str = "") -> str:
    """Wrap every line of `text` (paragraphs stay where they are)."""
    out = []
    for raw in text.split("\n"):
        if not raw.strip():
            out.append(prefix.rstrip())
            continue
        out.extend(wrap_line(raw.strip(), width, prefix, prefix))
    return "\n".join(out)


def html_to_text(html: str, width: int = 0) -> str:
    """Readable text of an HTML fragment: blank lines between paragraphs, `- ` for
    list items, links as `text (url)`, entities decoded. `width` > 0 wraps lines.
    """
    if not html or not html.strip():
        return ""
    try:
        fragments = lxml.html.fragments_fromstring(html)
    except (etree.ParserError, ValueError):
        return _SPACE.sub(" ", html).strip()
    walker = _Walker()
    for fragment in fragments:
        if isinstance(fragment, str):
            walker.inline(fragment)
        else:
            walker.walk(fragment)
    walker.flush()

    out: list[str] = []
    previous: _Block | None = None
    for block in walker.blocks:
        if previous is not None:
            if block.group is not None and block.group == previous.group:
                out.append("\n")
            elif block.rest_prefix.strip() and block.rest_prefix == previous.rest_prefix:
                # Paragraphs of one quote stay visibly inside it.
                out.append("\n" + block.rest_prefix.rstrip() + "\n")
            else:
                out.append("\n\n")
        lines = []
        for i, piece in enumerate(block.text.split("\n")):
            first = block.first_prefix if i == 0 else block.rest_prefix
            lines.extend(wrap_line(piece, width, first, block.rest_prefix))
        out.append("\n".join(line.rstrip() for line in lines))
        previous = block
    return "".join(out).strip("\n")
