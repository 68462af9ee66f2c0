"""Topic rules: built from a list's topics, read and changed as plain data, scored with a confidence."""

from __future__ import annotations

import json

import pytest

from digest.core.domain import Topic
from digest.core.regions import load_regions
from digest.core.tagging import TopicRules, choose_topic, default_rules, learn_rules, tag_article
from digest.services.lists import DEFAULT_TOPICS

TOPICS = [Topic(slug, name, i) for i, (slug, name) in enumerate(DEFAULT_TOPICS)]


@pytest.fixture(scope="module")
def rules():
    return default_rules(TOPICS)


def test_default_rules_cover_every_topic_with_its_name_and_the_sections_words(rules):
    data = rules.as_dict()
    assert list(data) == [slug for slug, _ in DEFAULT_TOPICS]
    assert data["industry"]["产业发展"] == 4.0
    assert data["industry"]["合作社"] == 3.0
    assert data["living-environment"]["改厕"] == 4.0
    # An editor reads and writes them as JSON.
    assert TopicRules(json.loads(json.dumps(data, ensure_ascii=False))) == rules


def test_a_topic_the_lexicon_does_not_know_gets_its_own_name_only():
    rules = default_rules([Topic("weather", "天气预报", 0)])
    assert rules.as_dict() == {"weather": {"天气预报": 4.0}}
    assert choose_topic("明日天气预报", "", rules).slug == "weather"


@pytest.mark.parametrize(
    ("title", "text", "slug"),
    [
        ("扎实开展改厕工作", "镇里推进农村卫生厕所建设，改厕与人居环境整治结合。", "living-environment"),
        ("移风易俗焕发文明新气象", "村里修订村规民约，成立红白理事会。", "governance"),
        ("就业帮扶巩固脱贫成果", "人社局出台意见，帮助脱贫人口稳岗就业，防止返贫。", "poverty-alleviation"),
        ("金融服务中心助力产业", "合作社和农户可申请担保贷款，特色产业有了资金。", "industry"),
        ("医疗专家走进基层", "专家在乡镇卫生院开展义诊，为群众看病。", "public-services"),
        ("国务院印发实施意见", "意见对全面推进乡村振兴作出部署，要求各地落实。", "macro"),
    ],
)
def test_each_section_is_chosen_by_its_words(rules, title, text, slug):
    found = choose_topic(title, text, rules)
    assert found.slug == slug
    assert 0 < found.confidence <= 1
    assert found.why and all("(" in line for line in found.why)


def test_confidence_grows_with_a_clearer_lead(rules):
    clear = choose_topic("农村改厕提速", "改厕、卫生厕所、化粪池、垃圾清运、污水治理一起推进。", rules)
    mixed = choose_topic("农村改厕提速", "改厕的同时，合作社发展特色产业，申请贷款。", rules)
    assert clear.slug == mixed.slug == "living-environment"
    assert clear.confidence > mixed.confidence


def test_no_keyword_no_topic(rules):
    found = choose_topic("今日无事", "一切如常。", rules)
    assert (found.slug, found.confidence, found.why) == (None, 0.0, ("no topic keyword",))


def test_an_editors_weights_decide(rules):
    changed = rules.as_dict()
    changed["macro"]["合作社"] = 20
    assert choose_topic("合作社发展", "", TopicRules(changed)).slug == "macro"
    assert choose_topic("合作社发展", "", rules).slug == "industry"


def test_learned_words_come_from_the_lists_labelled_articles(rules):
    labelled = [
        ("牧区草场禁牧轮牧", "草原生态补奖资金发放到户。", "living-environment"),
        ("草场轮牧见成效", "草原植被盖度提高。", "living-environment"),
        ("合作社养殖", "草原上的合作社扩大养殖。", "industry"),
    ] * 2
    learned = learn_rules(labelled, rules)
    assert learned.keywords["living-environment"]["草场"] == 1.0
    assert "草场" not in learned.keywords["industry"]
    # Existing words keep the editor's weight.
    assert learned.keywords["industry"]["合作社"] == rules.keywords["industry"]["合作社"]
    assert choose_topic("草场轮牧", "", learned).slug == "living-environment"
    assert choose_topic("草场轮牧", "", rules).slug is None


def test_tag_article_reads_html_and_gives_both(rules):
    body = "<p>甘肃临泽平川镇把<strong>农村改厕</strong>与人居环境整治结合。</p>"
    tagging = tag_article("扎实开展改厕工作", body, load_regions(), rules)
    assert tagging.regions.codes == ("620723",)
    assert tagging.topic.slug == "living-environment"
