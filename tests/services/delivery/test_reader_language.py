"""A digest in its reader's language: in one send over a real SMTP server, the reader who chose English gets
every word the digest writes in English, the Chinese reader beside them Chinese; one render per language."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import date, datetime, time

import pytest
from fixtures_db import make_settings
from personas import ALEX_ENGLISH, LI_HUNAN, subscribe_confirmed
from samples import WEEKLY_ISSUE
from sqlalchemy import select
from test_sending import _send

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.ingest import parse_file
from digest.core.regions import load_regions
from digest.services.articles import NEWSROOM_TZ, store_articles
from digest.services.delivery.preview import preview_issue
from digest.services.delivery.testsend import compose_test_send
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime

PERIOD_END = date(2021, 6, 20)
# Ideographs and CJK punctuation (full-width forms included): what no English word of ours holds.
CJK_RUN = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")
# Fixed words of a Chinese digest that the fixture week and the default list (its tagline says 您关注的) lack.
CHINESE_WORDS = (
    "您好",
    "目录",
    "管理订阅",
    "退订",
    "在浏览器中查看",
    "本邮件发送至",
    "您关注：",
    "全部栏目",
    "第1期",
    "本期",
)


def _seed(url: str) -> None:
    regions = load_regions()
    published = datetime.combine(date(2021, 6, 18), time(9), NEWSROOM_TZ)
    with transaction(url) as session:
        ml = ensure_default_list(session)  # a Chinese list: what a reader chose wins over it
        ml.sender_email = "weekly@digest.example.org"
        ml.contact_email, ml.postal_address = "editors@digest.example.org", "北京市海淀区示例路 1 号"
        store_articles(session, ml, parse_file(WEEKLY_ISSUE), regions, source="fixture", published=published)
        subscribe_confirmed(session, ml, regions, people=(LI_HUNAN, ALEX_ENGLISH))


def _content(url: str) -> str:
    """Everything a digest shows that is content, not our words: the articles, the list's branding and
    section names, the region a reader follows."""
    with transaction(url) as session:
        ml = ensure_default_list(session)
        articles = session.execute(
            select(models.Article.title, models.Article.body_html, models.Article.region_label)
        ).all()
        parts = [ml.name, ml.masthead or "", ml.tagline or "", ml.postal_address or ""]
        parts += [f"{role} {who}" for role, who in ml.credits or ()]
        parts += [t.name for t in ml.topics] + ["湖南"]
    return "\n".join(parts + [" ".join(row) for row in articles])


def _parts(raw: bytes):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return msg, msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def _ours_in_chinese(part: str, content: str) -> list[str]:
    """The runs of Chinese in `part` that are not content: words of ours left untranslated."""
    return [run for run in CJK_RUN.findall(part) if run not in content]


@pytest.fixture
def sent(database_url, tmp_path, smtp_server):
    settings = make_settings(database_url, tmp_path, smtp_url=smtp_server.url)
    _seed(database_url)
    issue_id, report = _send(database_url, settings)
    received = {m.rcpt_tos[0]: _parts(m.data) for m in smtp_server.messages}
    return issue_id, report, received, _content(database_url), settings


# What both parts say to each reader, in the words of the language they chose.
IN_ENGLISH = (
    "Hello Alex,",
    "Issue 1 · 14–20 June 2021 · 2 articles",
    "Here are this issue's 2 articles, by section.",
    "You follow: 湖南 | All topics",
    "Contents",
    "Manage subscription",
    "Unsubscribe",
    "View in your browser",
    "This email was sent to alex.morgan@example.org because you subscribed to 乡村振兴周报.",
    "Contact: ",
    "Address: 北京市",
)
IN_CHINESE = (
    "李伟，您好：",
    "第1期 · 2021年6月14日—6月20日 · 本期2篇",
    "以下是本期的2篇文章，按栏目编排。",
    "您关注：湖南｜全部栏目",
    "目录",
    "管理订阅",
    "退订",
    "在浏览器中查看",
    "本邮件发送至 li.wei@example.cn，因为您订阅了乡村振兴周报。",
    "联系邮箱：",
    "地址：北京市",
)


# Per reader: their html lang, their subject, their words, the other language's, a section as their text part heads it.
READERS = {
    ALEX_ENGLISH.email: ("en", "沅陵县乡镇设立金融服务站 and 1 more · Issue 1", IN_ENGLISH, IN_CHINESE, "[产业发展]"),
    LI_HUNAN.email: ("zh-CN", "沅陵县乡镇设立金融服务站 等2篇 · 第1期", IN_CHINESE, IN_ENGLISH, "【产业发展】"),
}


@pytest.mark.parametrize("reader", list(READERS))
def test_each_reader_of_one_send_gets_the_language_they_chose(sent, reader):
    language, subject, theirs, others, section = READERS[reader]
    msg, text, html = sent[2][reader]
    assert f'<html lang="{language}"' in html and msg["Subject"] == subject
    for part in (html, text):
        assert [words for words in theirs if words not in part] == []
        assert [words for words in others if words in part] == []
        assert "沅陵县乡镇设立金融服务站" in part  # the articles stay as written
    assert section in text


def test_no_chinese_word_of_ours_reaches_the_english_reader(sent):
    _, _, received, content, _ = sent
    _, text, html = received[ALEX_ENGLISH.email]
    assert _ours_in_chinese(html, content) == [] and _ours_in_chinese(text, content) == []
    assert [w for w in CHINESE_WORDS if w in html or w in text] == []


def test_one_render_per_content_and_language(sent):
    # 李伟 and Alex get the same two articles: one render each language, not one per reader.
    _, report, received, _, _ = sent
    assert set(received) == {LI_HUNAN.email, ALEX_ENGLISH.email}
    assert report.counts == {"sent": 2} and report.renders == 2


def test_the_console_preview_of_their_copy_is_in_their_language(sent, database_url):
    issue_id, _, _, _, settings = sent
    runtime = Runtime(settings)
    with transaction(database_url) as session:
        english = preview_issue(runtime, session, issue_id, ALEX_ENGLISH.email)
        chinese = preview_issue(runtime, session, issue_id, LI_HUNAN.email)
    assert english.rendered is not None and chinese.rendered is not None
    assert '<html lang="en"' in english.rendered.html and "Hello Alex," in english.rendered.html
    assert '<html lang="zh-CN"' in chinese.rendered.html and "李伟，您好：" in chinese.rendered.html


def test_a_test_send_of_their_copy_is_in_their_language_and_the_whole_issue_in_the_lists(sent, database_url):
    issue_id, _, _, _, settings = sent
    runtime = Runtime(settings)
    with transaction(database_url) as session:
        theirs = compose_test_send(
            runtime, session, issue_id, "editor@example.org", subscriber_email=ALEX_ENGLISH.email
        )
        whole = compose_test_send(runtime, session, issue_id, "editor@example.org")
    _, _, their_html = _parts(theirs.message)
    _, _, whole_html = _parts(whole.message)
    assert theirs.subject == "[TEST] 沅陵县乡镇设立金融服务站 and 1 more · Issue 1"
    assert '<html lang="en"' in their_html and "Hello Alex," in their_html
    assert whole.subject.startswith("[测试] ") and whole.subject.endswith(" · 第1期")
    assert '<html lang="zh-CN"' in whole_html and "目录" in whole_html
