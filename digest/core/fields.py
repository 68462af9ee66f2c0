"""What a stored text field may hold: the sizes of the article columns, and characters no one-line field keeps.

Uploads, the console and the API check the same limits, so a value that passes one of them
never fails in the database (PostgreSQL refuses a title over its column, or a NUL, and the
whole upload would go with it).
"""

from __future__ import annotations

import re

# The columns' sizes in characters (adapters/storage/models.py); the body bound keeps one paste
# or one upload row from filling the database.
MAX_TITLE = 500
MAX_BODY = 200_000
MAX_SOURCE = 300
MAX_URL = 2000
MAX_REGION_LABEL = 200
MAX_TOPIC_LABEL = 100

ARTICLE_FIELD_LIMITS = {
    "title": MAX_TITLE,
    "body": MAX_BODY,
    "topic": MAX_TOPIC_LABEL,
    "source": MAX_SOURCE,
    "url": MAX_URL,
    "region_label": MAX_REGION_LABEL,
}

# C0 and C1 controls (line breaks included: a one-line field never has one), the bidi
# embedding, override and isolate marks, which can make a line read as something it is not,
# and lone surrogates (from a JSON \ud800 escape), which no UTF-8 text can hold.
_NOT_ON_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# What even a many-line text cannot hold: NUL (PostgreSQL refuses it) and lone surrogates.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unfit_for_one_line(text: str) -> str | None:
    """The first character a one-line field may not hold, as U+XXXX, or None when there is none."""
    found = _NOT_ON_ONE_LINE.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def unstorable(text: str) -> str | None:
    """The first character no stored text may hold, as U+XXXX, or None."""
    found = _UNSTORABLE.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def clean_name(text: str) -> str:
    """A person's name as they typed it, without controls or bidi marks, its whitespace collapsed:
    what subscribers enter is cleaned rather than refused, so a pasted name never costs them the form."""
    # A control becomes a space (a pasted line break parts two words); a bidi mark goes.
    spaced = _NOT_ON_ONE_LINE.sub(lambda m: " " if ord(m.group()) < 0xA0 else "", text)
    return " ".join(spaced.split())
