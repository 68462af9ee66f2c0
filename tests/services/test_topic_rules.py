"""The tagger's topic rules as an editor edits them: shown as "keyword weight" lines (the defaults until
changed), saved all or nothing with a bad line named by topic and number, emptied back to the defaults."""

from __future__ import annotations

import pytest

from digest.adapters.storage.db import transaction
from digest.services.lists import ensure_default_list
from digest.services.topic_rules import parse_rules, rules_for_editing, save_rules
from digest.services.validation import Invalid


def test_lines_read_as_keywords_and_weights_and_the_first_bad_line_is_named():
    assert parse_rules("合作社 3\n\n冷库\n产业 链 2.5\n") == ({"合作社": 3.0, "冷库": 1.0, "产业 链": 2.5}, None)
    assert parse_rules("合作社 3\n冷库 很重\n")[1] == (2, "冷库 很重")
    assert parse_rules("合作社 0\n")[1] == (1, "合作社 0")
    assert parse_rules("一个远远超过二十个字符的很长很长很长的关键词短语 2\n")[1][0] == 1


def test_rules_are_shown_saved_and_reset(database_url):
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        shown = {s.slug: s for s in rules_for_editing(ml)}
        first = ml.topics[0]
        assert not shown[first.slug].customised and f"{first.name} 4" in shown[first.slug].text
        save_rules(session, ml, {first.slug: "冷库 5\n合作社 2"})
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        assert ml.topics[0].keywords == {"冷库": 5.0, "合作社": 2.0}
        shown = {s.slug: s for s in rules_for_editing(ml)}
        assert shown[ml.topics[0].slug].customised and shown[ml.topics[0].slug].text == "冷库 5\n合作社 2"
        with pytest.raises(Invalid) as refused:
            save_rules(session, ml, {ml.topics[0].slug: "", ml.topics[1].slug: "好 词 很多"})
        assert refused.value.errors[f"rules-{ml.topics[1].slug}"].values == {"line": 1, "text": "好 词 很多"}
        assert ml.topics[0].keywords == {"冷库": 5.0, "合作社": 2.0}  # all or nothing
        save_rules(session, ml, {ml.topics[0].slug: ""})
    with transaction(database_url) as session:
        assert ensure_default_list(session).topics[0].keywords is None
