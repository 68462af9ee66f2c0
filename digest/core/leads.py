"""An article's lead: its first paragraph, cut at a sentence end near LEAD_LENGTH characters.

A list in "lead" mode mails each article's lead and a link to the whole text (the archive copy of its
issue), so a week's digest is an index a phone can scroll through. The cut is made on the sanitised
article HTML and returns HTML: markup inside the kept text (links, emphasis) stays, and an element
the cut falls inside is closed where the text stops, so no tag is left open. Pure and deterministic:
the same body always gives the same lead, and the rendered content is cached per content as before.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass

import lxml.html

ARTICLE_TEXT_MODES = ("lead", "full")
DEFAULT_ARTICLE_TEXT = "lead"
LEAD_LENGTH = 160  # characters a lead holds at most; a Chinese character counts as one
ELLIPSIS = "…"

# What a lead can be: the first of these holding text.
_PARAGRAPHS = frozenset({"p", "div", "blockquote", "ul", "ol", "li", "pre"})
# Blocks passed over on the way to it: a picture, a sub-heading or a table is no lead, and the whole
# article is one tap away.
_PASSED_OVER = frozenset({"figure", "img", "table", "hr", "h1", "h2", "h3", "h4", "h5", "h6"})
_SPACE = re.compile(r"[ \t\r\n\f]+")
# A sentence ends at 。！？ (and the closing quotes after them), or at . ! ? before a space or the end:
# "3.5" and "example.org" go on.
_SENTENCE_END = re.compile(r"(?:[。！？]+|[.!?]+(?=[\s”’\"')）」』]|$))[”’\"')）」』]*")
_LATIN_WORD = re.compile(r"[A-Za-z0-9À-ɏ'’-]")
# What a cut text should not end on before its ellipsis.
_TRAILING = " ，、；：,;:—-（(《「『“‘"


@dataclass(frozen=True)
class Lead:
    """What a mail shows of one article: `html` (safe: built from sanitised HTML), and whether any of the
    article is left out of it (then the mail links to the whole)."""

    html: str
    shortened: bool


def _loose_paragraph(root: lxml.html.HtmlElement, first: int) -> lxml.html.HtmlElement:
    """Loose text and inline elements from `root`'s child `first` (its text too when `first` is 0) up to
    the first block, as one <p>: what a body without paragraph tags starts with."""
    paragraph = lxml.html.Element("p")
    paragraph.text = root.text if first == 0 else None
    for child in root[first:]:
        if child.tag in _PARAGRAPHS or child.tag in _PASSED_OVER:
            break
        paragraph.append(copy.deepcopy(child))
    return paragraph


def _first_paragraph(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The first paragraph holding text, past pictures, headings and tables; None when there is none."""
    if (root.text or "").strip():
        return _loose_paragraph(root, 0)
    for i, child in enumerate(root):
        if not isinstance(child.tag, str) or child.tag in _PASSED_OVER:
            continue
        if child.tag in _PARAGRAPHS:
            if child.text_content().strip():
                return child
        elif child.text_content().strip() or (child.tail or "").strip():
            return _loose_paragraph(root, i)
    return None


def _collapse_spaces(element: lxml.html.HtmlElement) -> None:
    """Runs of whitespace to one space, as a browser shows them, so offsets count what a reader sees."""
    for node in element.iter():
        if node is not element and node.tail:
            node.tail = _SPACE.sub(" ", node.tail)
        if isinstance(node.tag, str) and node.text:
            node.text = _SPACE.sub(" ", node.text)


def cut_point(text: str, limit: int = LEAD_LENGTH) -> int:
    """Where `text` (longer than `limit`) is cut: after the last sentence end within `limit`, else at the last
    word boundary within it (a Chinese text breaks anywhere; a Latin word is never split)."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, limit + 1) if m.end() <= limit]
    if ends:
        return ends[-1]
    cut = limit
    while cut > 0 and _LATIN_WORD.match(text[cut - 1]) and _LATIN_WORD.match(text[cut]):
        cut -= 1
    if cut == 0:  # one word longer than a lead: cut inside it rather than show nothing
        cut = limit
    while cut > 0 and text[cut - 1] in _TRAILING:
        cut -= 1
    return cut or limit


def _keep_first(element: lxml.html.HtmlElement, budget: int) -> int:
    """Keep the first `budget` characters of `element`'s text, dropping everything after; the budget left."""
    text = element.text or ""
    if len(text) >= budget:
        element.text = text[:budget]
        for child in list(element):
            element.remove(child)
        return 0
    budget -= len(text)
    for child in list(element):
        if budget == 0:
            element.remove(child)  # its tail goes with it
            continue
        budget = _keep_first(child, budget)
        tail = child.tail or ""
        if budget == 0:
            child.tail = None
        elif len(tail) >= budget:
            child.tail, budget = tail[:budget], 0
        else:
            budget -= len(tail)
    return budget


def _append_ellipsis(element: lxml.html.HtmlElement) -> None:
    last = element[-1] if len(element) else None
    if last is None:
        element.text = (element.text or "").rstrip() + ELLIPSIS
    else:
        last.tail = (last.tail or "").rstrip() + ELLIPSIS


@functools.lru_cache(maxsize=4096)
def article_lead(body_html: str, limit: int = LEAD_LENGTH) -> Lead:
    """The lead of a sanitised article body: its first paragraph, whole when it is within `limit`
    characters, else cut at a sentence end (or a word boundary) with an ellipsis."""
    if not body_html.strip():
        return Lead(body_html, False)
    root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    whole_text = " ".join(root.text_content().split())
    paragraph = _first_paragraph(root)
    if paragraph is None:  # pictures or a table alone: nothing shorter to show
        return Lead(body_html, False)
    paragraph.tail = None
    _collapse_spaces(paragraph)
    text = "".join(paragraph.itertext())
    start = len(text) - len(text.lstrip())
    shown = text.strip()
    cut = len(shown) > limit
    if cut:
        _keep_first(paragraph, start + cut_point(shown, limit))
        _append_ellipsis(paragraph)
    html = lxml.html.tostring(paragraph, encoding="unicode", with_tail=False)
    return Lead(html, cut or " ".join(shown.split()) != whole_text)
