"""Article text as the tagger reads it: markup dropped, full-width forms folded."""

from __future__ import annotations

import html
import re
import unicodedata

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)
_SPACE = re.compile(r"\s+")


def readable_text(body: str) -> str:
    """A cheap reading of HTML or plain text: tags become spaces, entities characters, runs of space one space.

    Only for finding words; what is stored and shown is sanitised elsewhere (digest.core.sanitize).
    """
    text = _TAG.sub(" ", body or "") if "<" in (body or "") else body or ""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", html.unescape(text))).strip()
