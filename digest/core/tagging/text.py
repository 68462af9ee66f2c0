"""Article text as the tagger reads it: markup dropped, full-width forms folded, length bounded."""

from __future__ import annotations

import html
import re
import unicodedata

# What an article is about shows in its first pages; a longer body is read that far, so that one huge
# input costs no more than a long article.
MAX_CHARS = 50_000
_SPACE = re.compile(r"\s+")
_OPENING_HIDDEN = re.compile(r"<(script|style)[\s/>]", re.I)


def _without_markup(body: str) -> str:
    """Tags become spaces and <script>/<style> blocks vanish, in one pass of plain searches (no pattern that
    could backtrack on a malformed page: ten thousand unclosed "<" cost one scan)."""
    parts: list[str] = []
    at = 0
    while (start := body.find("<", at)) >= 0:
        parts.append(body[at:start])
        end = body.find(">", start)
        if end < 0:
            parts.append(body[start:])
            return "".join(parts)
        opening = _OPENING_HIDDEN.match(body, start)
        if opening is not None:
            close = re.compile(rf"</{opening.group(1)}", re.I).search(body, end)
            end = len(body) - 1 if close is None else max(body.find(">", close.end()), close.end())
        parts.append(" ")
        at = end + 1
    parts.append(body[at:])
    return "".join(parts)


def readable_text(body: str) -> str:
    """A cheap reading of HTML or plain text: tags become spaces, entities characters, runs of space one space.

    Only for finding words; what is stored and shown is sanitised elsewhere (digest.core.sanitize).
    """
    text = (body or "")[: MAX_CHARS * 2]
    if "<" in text:
        text = _without_markup(text)
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", html.unescape(text))).strip()[:MAX_CHARS]
