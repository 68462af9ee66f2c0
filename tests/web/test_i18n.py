"""Both languages complete, and the language chosen the way people expect."""

from __future__ import annotations

import importlib
import pkgutil
import re
import string
from pathlib import Path

from digest.core.statuses import DeliveryStatus, IssueStatus, SubscriptionStatus
from digest.web import catalogue, i18n
from digest.web.catalogue import issues as issue_words
from digest.web.catalogue import subscribers as subscriber_words
from digest.web.i18n import CATALOGUE, choose_language, from_accept_language, translator

# Every area's words, as the app registers them when it builds its routers: a test run alone sees them all.
for _area in pkgutil.iter_modules(catalogue.__path__):
    importlib.import_module(f"{catalogue.__name__}.{_area.name}")

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "web"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogues_have_the_same_keys_and_placeholders():
    zh, en = CATALOGUE["zh-CN"], CATALOGUE["en"]
    assert set(zh) == set(en)
    for key in zh:
        assert zh[key].strip() and en[key].strip(), key
        assert _fields(zh[key]) == _fields(en[key]), key


def test_every_status_has_words_in_both_languages():
    # (enum, the table keyed by its members, the catalogue key prefix the templates add the status to)
    tables = [
        (IssueStatus, issue_words.ISSUE_STATUS_WORDS, "iss_status_"),
        (DeliveryStatus, issue_words.DELIVERY_STATUS_WORDS, "iss_d_"),
        (SubscriptionStatus, subscriber_words.SUBSCRIPTION_STATUS_WORDS, "subs_status_"),
        (SubscriptionStatus, i18n.SUBSCRIPTION_STATUS_WORDS, "status_"),
    ]
    for enum, words, prefix in tables:
        assert list(words) == list(enum), prefix  # every member, in the enum's order, and nothing else
        for member in enum:
            for language in ("zh-CN", "en"):
                assert words[member][language].strip(), (member, language)
                assert CATALOGUE[language][f"{prefix}{member}"] == words[member][language]


def test_every_key_the_templates_use_exists():
    used = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+)["']""", path.read_text(encoding="utf-8")))
    assert used and used <= set(CATALOGUE["en"])


def test_english_pages_carry_no_chinese_words_of_ours():
    # Region names and the list's own name are proper nouns; the rest must be English.
    allowed = {"region_search_placeholder", "regions_help", "other_lang_label"}
    for key, text in CATALOGUE["en"].items():
        if key not in allowed:
            assert not re.search(r"[\u4e00-\u9fff]", text), key


def test_language_choice():
    assert choose_language(None, None, None) == "zh-CN"
    assert choose_language("en", "zh-CN", None) == "en"
    assert choose_language(None, "en", "zh-CN") == "en"
    assert choose_language(None, None, "fr-FR,en;q=0.8,zh;q=0.9") == "zh-CN"
    assert choose_language(None, None, "fr-FR, en-US;q=0.7") == "en"
    assert from_accept_language("en;q=0, zh-TW") == "zh-CN"
    assert from_accept_language("garbage;;q=x") is None
    assert translator("en")("issue_label", number=3) == "Issue 3"
    assert translator("xx")("issue_label", number=3) == "第3期"
