"""`explain_match`'s sentences as data, so pages can say them in Chinese or English.

The selection core words its explanations in English for logs and the CLI; this
reads them back into a kind and the names it mentions. tests/services/test_operations.py
walks every sentence explain_match can produce, so a rewording there fails loudly
here instead of showing the raw English (which stays the fallback).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PATTERNS = (
    ("topic", re.compile(r"out: topic (?P<topic>.+) not picked")),
    ("everywhere", re.compile(r"in: no region picked, so every region")),
    ("no_region", re.compile(r"out: the article has no region, and this subscriber picked regions")),
    ("inside", re.compile(r"in: (?P<article>.+?) lies inside picked (?P<picked>.+)")),
    ("contains", re.compile(r"in: (?P<article>.+?) contains picked (?P<picked>.+)")),
    ("same", re.compile(r"in: (?P<article>.+) picked")),
    ("apart", re.compile(r"out: (?P<article>.+) does not overlap the picked regions \((?P<picked>.+)\)")),
)
KINDS = tuple(kind for kind, _ in _PATTERNS) + ("list_topic", "other")


@dataclass(frozen=True)
class Reason:
    included: bool
    kind: str  # one of KINDS
    values: dict[str, str] = field(default_factory=dict)  # the names the sentence mentions
    text: str = ""  # explain_match's own words

    @property
    def key(self) -> str:
        """The catalogue key of this reason's sentence."""
        return f"iss_why_{self.kind}"


def read_reason(text: str) -> Reason:
    included = text.startswith("in:")
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return Reason(included, kind, match.groupdict(), text)
    return Reason(included, "other", {"text": text}, text)
