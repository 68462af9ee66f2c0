"""Running an issue by hand: previews with reasons, test sends over real SMTP, the log, send now
(SQLite and PostgreSQL)."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from fixtures_db import make_settings
from kombu.exceptions import OperationalError
from personas import ALL, LI_HUNAN, LIU_TOPICS, WANG_NATIONAL, ZHANG_ANKANG, ZHAO_NOTHING, subscribe_confirmed
from sqlalchemy import func, select

from digest.adapters.storage import models
from digest.adapters.storage.db import make_engine, session_factory, transaction
from digest.adapters.transports import open_transport
from digest.core.domain import Article, Picks
from digest.core.explain import KINDS, reason_from
from digest.core.ingest import parse_file
from digest.core.regions import load_regions
from digest.core.selection import explain
from digest.services import NotFound
from digest.services.articles import NEWSROOM_TZ, store_articles
from digest.services.delivery.batches import send_pending
from digest.services.delivery.now import background_send, deliver_now
from digest.services.delivery.plan import start_now
from digest.services.delivery.preview import preview_issue
from digest.services.delivery.testsend import InvalidAddress, check_test_address, compose_test_send, deliver_test
from digest.services.issue_detail import delivery_log, issue_summaries
from digest.services.issues import plan_issue
from digest.services.lists import ensure_default_list
from digest.services.paging import Cursor
from digest.services.picks import store_picks
from digest.services.runtime import Runtime

DEMO = Path(__file__).resolve().parents[3] / "digest" / "data" / "demo-issue.txt"
PERIOD_END = date(2026, 11, 22)
REGIONS = load_regions()


@pytest.fixture
def world(database_url, tmp_path, smtp_server):
    """The demo week's 16 articles, every persona confirmed, issue 1 planned; settings sending to loopback SMTP."""
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        ml.sender_email = "weekly@digest.example.org"
        published = datetime.combine(date(2026, 11, 20), time(9), NEWSROOM_TZ)
        store_articles(session, ml, parse_file(DEMO), REGIONS, source="demo", published=published)
        subscribe_confirmed(session, ml, REGIONS)
        issue_id = plan_issue(session, ml, PERIOD_END).id
    settings = make_settings(database_url, tmp_path, smtp_url=smtp_server.url)
    return database_url, settings, issue_id, smtp_server


def _article(codes, topic="industry"):
    return Article(
        id=1,
        topic=topic,
        title="t",
        body_html="",
        region_codes=tuple(codes),
        region_label="",
        published=datetime(2026, 11, 20, tzinfo=UTC),
    )


def test_every_kind_of_explanation_carries_the_names_it_mentions():
    cases = [
        (_article(["431200"], topic="macro"), Picks(topics=frozenset({"industry"})), "topic", {"topic": "宏观形势"}),
        (_article(["431200"]), Picks(), "everywhere", {}),
        (_article([]), Picks(regions=frozenset({"430000"})), "no_region", {}),
        (_article(["430000"]), Picks(regions=frozenset({"430000"})), "same", {"article": "湖南"}),
        (
            _article(["431200"]),
            Picks(regions=frozenset({"430000"})),
            "inside",
            {"article": "湖南怀化", "picked": "湖南"},
        ),
        (
            _article(["610900"]),
            Picks(regions=frozenset({"610902"})),
            "contains",
            {"article": "陕西安康", "picked": "陕西汉滨"},
        ),
        (_article(["000000"]), Picks(regions=frozenset({"430000"})), "apart", {"article": "全国", "picked": "湖南"}),
    ]
    for article, picks, kind, values in cases:
        reason = reason_from(explain(article, picks, REGIONS, topic_names={"macro": "宏观形势"}))
        assert (reason.kind, reason.values, reason.included) == (kind, values, reason.text.startswith("in:")), reason
    assert {c[2] for c in cases} | {"list_topic", "in_copy", "not_in_copy", "received_before"} == set(KINDS)


def test_a_preview_is_the_digest_the_send_would_build_with_a_reason_for_every_article(world):
    url, settings, issue_id, _ = world
    with transaction(url) as session:
        issue = session.get(models.Issue, issue_id)
        preview = preview_issue(Runtime(settings), session, issue.id, LI_HUNAN.email)
    assert len(preview.verdicts) == 16
    assert [v.title for v in preview.included] == [
        "沅陵县创办全国首家乡村振兴金融服务组织",
        "金银花产业带动山区农户增收",
        "指导农村改厕工作 打造群众满意工程",
    ]
    huaihua = preview.included[0].reason
    assert (huaihua.kind, huaihua.values) == ("inside", {"article": "湖南怀化", "picked": "湖南"})
    national = next(v for v in preview.excluded if v.region_label == "财政部")
    assert national.reason.kind == "apart" and national.reason.values["picked"] == "湖南"
    assert preview.skip is None and preview.region_names == ["湖南"] and preview.topic_names == []
    assert preview.rendered.subject == "沅陵县创办全国首家乡村振兴金融服务组织 等3篇 · 第1期"
    assert "您关注：湖南｜全部栏目" in preview.rendered.text.splitlines()
    assert "沅陵县创办全国首家乡村振兴金融服务组织" in preview.rendered.text and "李伟" in preview.rendered.text


def test_the_preview_of_a_sent_issue_is_the_copy_they_received_whatever_they_pick_since(world):
    url, settings, issue_id, _ = world
    with transaction(url) as session:
        start_now(session, session.get_one(models.Issue, issue_id))
    with open_transport(settings.smtp_url, settings.outbox) as transport:
        send_pending(Runtime(settings), issue_id, transport)
    with transaction(url) as session:
        sub = session.scalar(
            select(models.Subscription).join(models.Subscriber).where(models.Subscriber.email == LI_HUNAN.email)
        )
        sub.region_codes = ["000000"]  # national news only, since
        store_picks(session, [sub.id])
    with transaction(url) as session:
        preview = preview_issue(Runtime(settings), session, issue_id, LI_HUNAN.email)
    assert preview.sent_copy and preview.skip is None
    assert [v.title for v in preview.included] == [
        "沅陵县创办全国首家乡村振兴金融服务组织",
        "金银花产业带动山区农户增收",
        "指导农村改厕工作 打造群众满意工程",
    ]
    assert {v.reason.kind for v in preview.included} == {"in_copy"}
    assert {v.reason.kind for v in preview.excluded} == {"not_in_copy"}
    assert "沅陵县创办全国首家乡村振兴金融服务组织" in preview.rendered.text


def test_a_preview_says_when_the_send_would_skip_the_subscriber(world):
    url, settings, issue_id, _ = world
    with transaction(url) as session:
        issue = session.get(models.Issue, issue_id)
        nothing = preview_issue(Runtime(settings), session, issue.id, ZHAO_NOTHING.email)
        assert nothing.skip == "empty" and nothing.rendered is None and nothing.included == []
        topic_out = next(v for v in nothing.verdicts if v.topic_name == "产业发展")
        assert topic_out.reason.kind == "topic" and topic_out.reason.values == {"topic": "产业发展"}
        session.add(models.Suppression(email=WANG_NATIONAL.email, reason="bounced"))
        sub = session.scalar(
            select(models.Subscription).join(models.Subscriber).where(models.Subscriber.email == ZHANG_ANKANG.email)
        )
        sub.paused_until = date(2026, 12, 31)
        session.flush()
        assert preview_issue(Runtime(settings), session, issue.id, WANG_NATIONAL.email).skip == "suppressed"
        paused = preview_issue(Runtime(settings), session, issue.id, ZHANG_ANKANG.email)
        assert paused.skip == "paused" and paused.paused_until == date(2026, 12, 31)
        with pytest.raises(NotFound):
            preview_issue(Runtime(settings), session, issue.id, "stranger@example.org")


@pytest.mark.parametrize(
    "address",
    [
        "a@b.c\r\nBcc: x@y.z",
        "a@example.org\nBcc: x@example.org",
        "a@example.org, b@example.org",
        "a@example.org;b@example.org",
        "A <a@example.org>",
        "",
        "not-an-address",
        " a@example.org",
        "王@例子.中国",
        "a@example.org\x00",
    ],
)
def test_a_test_address_is_one_plain_address(address):
    with pytest.raises(InvalidAddress):
        check_test_address(address)


def test_a_test_send_goes_to_the_typed_address_marked_as_a_test_and_leaves_the_ledger_alone(world):
    url, settings, issue_id, smtp = world
    with transaction(url) as session:
        issue = session.get(models.Issue, issue_id)
        test = compose_test_send(
            Runtime(settings), session, issue.id, "editor@example.net", subscriber_email=LIU_TOPICS.email
        )
    deliver_test(Runtime(settings), test)
    [received] = smtp.messages
    assert received.rcpt_tos == ["editor@example.net"]
    msg = email.message_from_bytes(received.data, policy=email.policy.default)
    assert msg["Subject"] == "[测试] “兴农贷”助推乡村振兴 等6篇 · 第1期"
    assert msg["To"] == "刘洋 <editor@example.net>" and msg["X-Digest-Test"] == "yes"
    text = msg.get_body(("plain",)).get_content()
    assert "“兴农贷”助推乡村振兴" in text and "部署全面推进乡村振兴工作" not in text
    assert "您关注：全部地区｜产业发展 · 公共服务" in text.splitlines()  # the subscriber's picks, not the tester's
    with transaction(url) as session:
        assert session.scalar(select(func.count()).select_from(models.Delivery)) == 0
        assert session.get(models.Issue, issue_id).status == "planned"
        # No subscriber picked: the whole issue, all 16 articles.
        whole = compose_test_send(Runtime(settings), session, issue_id, "editor@example.net")
    assert whole.article_count == 16 and whole.subject.startswith("[测试] ")


def test_send_now_starts_the_issue_and_a_background_thread_delivers_it(world):
    url, settings, issue_id, smtp = world
    factory = session_factory(make_engine(url, pooled=False))
    with factory.begin() as session:
        assert start_now(session, session.get(models.Issue, issue_id)) == len(ALL)
    assert deliver_now(Runtime(settings), issue_id) == "background"
    thread = background_send(issue_id)
    if thread is not None:
        thread.join(30)
    with factory.begin() as session:
        rows = delivery_log(session, issue_id).rows
        assert len(rows) == 6 and session.get(models.Issue, issue_id).status == "sent"
        by_email = {r.email: r for r in rows}
        assert by_email[ZHAO_NOTHING.email].status == "skipped"
        assert by_email[LI_HUNAN.email].status == "sent" and by_email[LI_HUNAN.email].articles == 3
        assert by_email[LI_HUNAN.email].message_id and by_email[LI_HUNAN.email].sent_at is not None
        sent = delivery_log(session, issue_id, status="sent", cursor=Cursor(limit=2, offset=2))
        assert len(sent.rows) == 2 and sent.next_after == sent.rows[-1].id and sent.prev_before == sent.rows[0].id
        after = delivery_log(session, issue_id, status="sent", cursor=Cursor(limit=2, after=sent.next_after))
        assert [r.email for r in after.rows] == [r.email for r in rows if r.status == "sent"][4:]
        assert after.next_after is None
        _, [summary] = issue_summaries(session, ensure_default_list(session))
        assert summary.counts == {"sent": 5, "skipped": 1} and summary.number == 1
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == sorted(p.email for p in ALL if p != ZHAO_NOTHING)


def test_send_now_with_a_broker_that_is_down_raises_so_the_page_can_say_the_workers_will_send(world):
    url, settings, issue_id, smtp = world
    factory = session_factory(make_engine(url, pooled=False))
    with factory.begin() as session:
        start_now(session, session.get(models.Issue, issue_id))
    down = replace(settings, broker_url="redis://127.0.0.1:1/0")
    with pytest.raises(OperationalError):
        deliver_now(Runtime.for_settings(down), issue_id)
    with factory.begin() as session:
        assert session.get(models.Issue, issue_id).status == "sending"
    assert smtp.messages == []
