"""Article HTML sanitising, and plain paragraphs to HTML.

Article bodies come from files anyone with ingest rights can write, and they end
up inside emails and web pages, so every body passes through one allow-list.
The list is what a newsletter article needs and nothing more: no styles (the
digest template owns presentation, and mail clients mangle inline CSS anyway),
no classes or ids, no scripts, no forms.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import nh3

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "strong",
        "em",
        "b",
        "i",
        "u",
        "a",
        "ul",
        "ol",
        "li",
        "blockquote",
        "h3",
        "h4",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "img",
        "figure",
        "figcaption",
    }
)

ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    # Spanning cells are common in statistics tables pasted into articles.
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}

# Their text is code or styling, never readable content, so it goes with the tag.
_DROP_WITH_CONTENT = frozenset({"script", "style", "noscript", "template", "iframe", "object"})

_LINK_SCHEMES = ("http://", "https://", "mailto:")
_IMAGE_SCHEMES = ("http://", "https://")
_DIGITS = re.compile(r"\d{1,4}")
# An image whose source was refused shows a broken-image icon; drop it whole.
_IMG_WITHOUT_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")


def _filter_attribute(tag: str, attr: str, value: str) -> str | None:
    # Relative URLs mean nothing in an email, and data:/javascript: are the
    # classic injection routes, so links and images must be absolute.
    if attr == "href":
        return value if value.strip().lower().startswith(_LINK_SCHEMES) else None
    if attr == "src":
        return value if value.strip().lower().startswith(_IMAGE_SCHEMES) else None
    if attr in {"width", "height", "colspan", "rowspan"}:
        # Pixel counts only: "100%" or "expression(...)" would be layout games.
        value = value.strip()
        return value if _DIGITS.fullmatch(value) else None
    return value


_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_filter_attribute,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def sanitize_html(html_text: str) -> str:
    """Return `html_text` reduced to the article allow-list; safe to embed as is."""
    return _IMG_WITHOUT_SRC.sub("", _cleaner.clean(html_text)).strip()


def paragraphs_to_html(paragraphs: Iterable[str]) -> str:
    """Escape each non-empty paragraph into a `<p>`; single newlines become `<br>`."""
    out = []
    for paragraph in paragraphs:
        lines = [line.strip() for line in paragraph.strip().splitlines()]
        lines = [line for line in lines if line]
        if lines:
            out.append("<p>" + "<br>".join(html.escape(line, quote=False) for line in lines) + "</p>")
    return "\n".join(out)
