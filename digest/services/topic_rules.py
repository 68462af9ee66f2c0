"""The tagger's topic rules as an editor reads and changes them: per topic, a keyword and its weight a line
("合作社 3"). A topic whose text is emptied goes back to the default rules (digest.core.tagging
`default_rules`); a bad line is refused with its topic and line number, and nothing is saved."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.fields import unfit_for_one_line
from digest.core.tagging import default_rules
from digest.services.validation import FieldError, Invalid

MAX_KEYWORDS = 200
MAX_KEYWORD = 20  # characters: a keyword is a word or a short phrase
MAX_WEIGHT = 100.0


@dataclass(frozen=True)
class TopicRulesShown:
    slug: str
    name: str
    text: str  # a keyword and its weight a line, heaviest first
    customised: bool  # the editor's, not the defaults


def rules_for_editing(ml: models.MailingList) -> list[TopicRulesShown]:
    defaults = default_rules(ml.topics).keywords
    shown = []
    for topic in ml.topics:
        words = topic.keywords or defaults[topic.slug]
        lines = [f"{word} {weight:g}" for word, weight in sorted(words.items(), key=lambda item: (-item[1], item[0]))]
        shown.append(TopicRulesShown(topic.slug, topic.name, "\n".join(lines), bool(topic.keywords)))
    return shown


def parse_rules(text: str) -> tuple[dict[str, float], tuple[int, str] | None]:
    """A keyword and a weight a line (a keyword alone weighs 1); the first bad line (number, text), if any."""
    words: dict[str, float] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        word, _, weight_text = line.strip().rpartition(" ")
        if not word:
            word, weight_text = weight_text, "1"
        word = word.strip()
        try:
            weight = float(weight_text)
        except ValueError:
            weight = math.nan
        if not 0 < weight <= MAX_WEIGHT or len(word) > MAX_KEYWORD or unfit_for_one_line(word):
            return words, (number, line.strip()[:40])
        words[word] = weight
        if len(words) > MAX_KEYWORDS:
            return words, (number, line.strip()[:40])
    return words, None


def save_rules(session: Session, ml: models.MailingList, texts: Mapping[str, str]) -> None:
    """Each topic's rules from its text (slug → text); an empty text: the defaults again. All or nothing."""
    parsed: dict[str, dict[str, float] | None] = {}
    errors: dict[str, FieldError] = {}
    by_slug = {t.slug: t for t in ml.topics}
    for slug, text in texts.items():
        if slug not in by_slug:
            errors[f"rules-{slug}"] = FieldError("rules_err_topic", {"topic": slug[:64]})
            continue
        words, bad = parse_rules(text)
        if bad is not None:
            errors[f"rules-{slug}"] = FieldError("rules_err_line", {"line": bad[0], "text": bad[1]})
        parsed[slug] = words or None
    if errors:
        raise Invalid(errors)
    defaults = default_rules(ml.topics).keywords
    for slug, kept in parsed.items():
        # Rules saved unchanged from the defaults stay the defaults, so later defaults still reach the topic.
        by_slug[slug].keywords = None if kept == defaults[slug] else kept
    session.flush()
