"""Sending an issue through a real SMTP server on loopback, with the ledger on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime, time

from fixtures_db import make_settings
from personas import ALL, CHEN_HANBIN, LI_HUNAN, LIU_TOPICS, WANG_NATIONAL, ZHANG_ANKANG, ZHAO_NOTHING
from sent_week import PERIOD_END
from sent_week import seed_week as _seed
from sent_week import send_week as _send
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.adapters.transports import open_transport
from digest.core.tokens import read_token
from digest.services.articles import NEWSROOM_TZ
from digest.services.delivery.batches import send_batch
from digest.services.issues import claim_due, pause_issue, plan_issue, resume_issue, start_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime

# Titles of the fixture issue, by what each persona must receive, in section order.
EXPECTED = {
    # 财政部 and 国家卫健委等十三部门: national bodies, 全国.
    WANG_NATIONAL.email: ["提前下达衔接推进乡村振兴补助资金", "《健康帮扶衔接实施意见》印发"],
    # 湖南怀化 and 湖南邵阳, inside 湖南.
    LI_HUNAN.email: ["沅陵县乡镇设立金融服务站", "新邵县农村生活污水治理试点启动"],
    # 陕西 contains 安康; 陕西安康 is 安康.
    ZHANG_ANKANG.email: ["易地搬迁安置区后续扶持项目集中开工", "村卫生室接入远程会诊网络"],
    # 陕西 and 陕西安康 both contain 汉滨区.
    CHEN_HANBIN.email: ["易地搬迁安置区后续扶持项目集中开工", "村卫生室接入远程会诊网络"],
    # 产业发展 and 公共服务, every region.
    LIU_TOPICS.email: [
        "枸杞种植户用上“信用贷”",
        "沅陵县乡镇设立金融服务站",
        "农机购置贷款实现线上办理",
        "流动医疗车开进边远嘎查",
        "村卫生室接入远程会诊网络",
    ],
}


# The line that says what each reads, put in per message: 张敏 and 陈静 share one rendered content.
FOLLOWING = {
    WANG_NATIONAL.email: "您关注：全国｜全部栏目",
    LI_HUNAN.email: "您关注：湖南｜全部栏目",
    ZHANG_ANKANG.email: "您关注：陕西安康｜全部栏目",
    CHEN_HANBIN.email: "您关注：陕西汉滨｜全部栏目",
    LIU_TOPICS.email: "您关注：全部地区｜产业发展 · 公共服务",
}


def _titles_in(text: str) -> list[str]:
    all_titles = [t for titles in EXPECTED.values() for t in titles] + [
        "就业帮扶车间吸纳脱贫劳动力",
        "东川区建立防止返贫监测台账",
        "平川镇改厕 整村推进见成效",
        "村民议事会议出好日子",
        "安岳县推行红白喜事简办公约",
    ]
    # The text part wraps long lines: compare without white space.
    flat = "".join(text.split())
    found = {t: flat.index("".join(t.split())) for t in set(all_titles) if "".join(t.split()) in flat}
    return sorted(found, key=found.get)


def _parts(raw: bytes):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return msg, text, html


def test_each_subscriber_receives_exactly_their_articles(database_url, tmp_path, smtp_server):
    settings = make_settings(database_url, tmp_path, smtp_url=smtp_server.url)
    _seed(database_url)
    issue_id, report = _send(database_url, settings)

    received = {m.rcpt_tos[0]: m for m in smtp_server.messages}
    assert set(received) == set(EXPECTED)  # 赵磊's picks match nothing: no empty digest
    assert report.counts == {"sent": 5, "skipped": 1}
    for address, titles in EXPECTED.items():
        msg, text, html = _parts(received[address].data)
        assert _titles_in(text) == titles, address
        assert FOLLOWING[address] in text.splitlines() and f"{FOLLOWING[address]} — <a href=" in html
        assert all(
            t.replace("“", "").replace("”", "") in html.replace("“", "").replace("”", "").replace("&quot;", "")
            for t in titles
        )
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe = msg["List-Unsubscribe"]
        assert "<https://digest.example.org/u/" in unsubscribe and "<mailto:" in unsubscribe
        token = unsubscribe.split("/u/", 1)[1].split(">", 1)[0]
        with transaction(database_url) as session:
            subscriber = session.scalar(select(models.Subscriber).where(models.Subscriber.email == address))
            delivery = session.scalar(select(models.Delivery).where(models.Delivery.subscriber_id == subscriber.id))
            assert read_token(settings.secret_key, token, "unsubscribe").subscriber_id == subscriber.id
            assert delivery.status == "sent" and delivery.message_id == msg["Message-ID"]
            assert delivery.article_count == len(titles)

    with transaction(database_url) as session:
        skipped = session.scalar(
            select(models.Delivery).join(models.Subscriber).where(models.Subscriber.email == ZHAO_NOTHING.email)
        )
        assert (skipped.status, skipped.reason) == ("skipped", "empty")
        assert session.get(models.Issue, issue_id).status == "sent"
    # Five subscribers, four distinct contents (安康 and 汉滨区 share one): rendered once each.
    assert report.renders == 4


def test_a_second_send_for_the_same_period_sends_nothing(database_url, tmp_path, smtp_server):
    settings = make_settings(database_url, tmp_path, smtp_url=smtp_server.url)
    _seed(database_url)
    first_id, _ = _send(database_url, settings)
    second_id, report = _send(database_url, settings)
    assert second_id == first_id
    assert report.counts == {}
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == sorted(EXPECTED)


def test_a_hard_bounce_is_suppressed_and_the_rest_delivered(database_url, tmp_path, smtp_server):
    settings = make_settings(database_url, tmp_path, smtp_url=smtp_server.url)
    smtp_server.handler.fail_rcpt[LI_HUNAN.email] = (550, "5.1.1 no such user")
    _seed(database_url)
    _, report = _send(database_url, settings)
    assert report.counts == {"sent": 4, "bounced": 1, "skipped": 1}
    assert LI_HUNAN.email not in {m.rcpt_tos[0] for m in smtp_server.messages}
    with transaction(database_url) as session:
        suppressed = session.scalars(select(models.Suppression.email)).all()
        assert suppressed == [LI_HUNAN.email]

    # Next week the suppressed address is not even tried.
    del smtp_server.handler.fail_rcpt[LI_HUNAN.email]
    with transaction(database_url) as session:
        for article in session.scalars(select(models.Article)):
            article.published_at = datetime.combine(date(2021, 6, 25), time(9), NEWSROOM_TZ)
    _, report = _send(database_url, settings, date(2021, 6, 27))
    assert report.counts == {"sent": 4, "suppressed": 1, "skipped": 1}


def test_a_temporary_failure_is_retried_by_the_next_run_without_doubles(database_url, tmp_path, smtp_server):
    settings = make_settings(database_url, tmp_path, smtp_url=smtp_server.url)
    smtp_server.handler.fail_once[ZHANG_ANKANG.email] = (451, "4.3.0 try again later")
    _seed(database_url)
    _, first = _send(database_url, settings)
    assert first.counts == {"sent": 4, "deferred": 1, "skipped": 1}
    with transaction(database_url) as session:
        delivery = session.scalar(
            select(models.Delivery).join(models.Subscriber).where(models.Subscriber.email == ZHANG_ANKANG.email)
        )
        assert delivery.status == "pending" and delivery.last_error.startswith("451")
    _, second = _send(database_url, settings)
    assert second.counts == {"sent": 1}
    addresses = [m.rcpt_tos[0] for m in smtp_server.messages]
    assert sorted(addresses) == sorted(EXPECTED)


def test_a_refused_login_stops_the_run_and_blames_no_subscriber(database_url, tmp_path, smtp_tls_server):
    url = smtp_tls_server.url.replace(":s3cret@", ":wrong@")
    settings = make_settings(database_url, tmp_path, smtp_url=url)
    _seed(database_url)
    _, report = _send(database_url, settings)
    assert report.halted and "login" in report.halted and "DIGEST_SMTP_URL" in report.halted
    assert smtp_tls_server.messages == []
    with transaction(database_url) as session:
        assert session.scalars(select(models.Suppression)).all() == []
        statuses = session.scalars(select(models.Delivery.status)).all()
        assert sorted(set(statuses)) == ["pending"] and len(statuses) == len(ALL)

    fixed = make_settings(database_url, tmp_path, smtp_url=smtp_tls_server.url)
    _, report = _send(database_url, fixed)
    assert report.counts == {"sent": 5, "skipped": 1}


def test_a_batch_of_a_paused_issue_sends_nothing_and_leaves_its_rows(database_url, tmp_path, smtp_server):
    # The batch was handed out (rows queued), then an admin paused the issue: every
    # claim is refused, so no content may reach the server, not even the first one
    # whose envelope went out while its claim was being committed.
    settings = make_settings(database_url, tmp_path, smtp_url=smtp_server.url)
    _seed(database_url)
    with transaction(database_url) as session:
        issue = plan_issue(session, ensure_default_list(session), PERIOD_END)
        start_issue(session, issue)
        issue_id = issue.id
    with transaction(database_url) as session:
        queued = claim_due(session, limit=100, issue_id=issue_id)[issue_id]
        pause_issue(session, session.get(models.Issue, issue_id))
    with open_transport(settings.smtp_url, settings.outbox) as transport:
        report = send_batch(Runtime(settings), issue_id, queued, transport)
    assert smtp_server.messages == [] and smtp_server.handler.data_attempts == 0
    assert report.counts == {"skipped": 1}  # 赵磊, whose picks match nothing, needs no claim
    with transaction(database_url) as session:
        statuses = dict(
            session.execute(select(models.Subscriber.email, models.Delivery.status).join(models.Delivery)).all()
        )
        assert statuses.pop(ZHAO_NOTHING.email) == "skipped"
        assert set(statuses.values()) == {"queued"}  # back to the queue when the issue resumes
        assert session.scalars(select(models.Delivery.attempts)).all() == [0] * len(ALL)

        resume_issue(session, session.get(models.Issue, issue_id))
    _, report = _send(database_url, settings)
    assert report.counts == {"sent": 5}
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == sorted(EXPECTED)


def test_on_postgresql_a_batch_reads_its_subscribers_by_key_not_the_whole_list(postgres_url):
    """The rows of a batch cost the same on a list of 20,000 as on a list of 20: no table is read whole."""
    from fixtures_db import _empty_postgres
    from sqlalchemy import event, insert, text

    from digest.adapters.storage.db import make_engine
    from digest.services.delivery.rows import load_rows

    _empty_postgres(postgres_url)
    now = datetime.now(NEWSROOM_TZ)
    with transaction(postgres_url) as session:
        ml = ensure_default_list(session)
        session.execute(
            insert(models.Subscriber),
            [{"email": f"reader{i}@example.org", "name": "", "created_at": now} for i in range(20_000)],
        )
        ids = session.scalars(select(models.Subscriber.id)).all()
        session.execute(
            insert(models.Subscription),
            [
                {
                    "list_id": ml.id,
                    "subscriber_id": sid,
                    "status": "confirmed",
                    "region_codes": ["430000"],
                    "topic_slugs": [],
                    "created_at": now,
                }
                for sid in ids
            ],
        )
        issue = plan_issue(session, ml, PERIOD_END)
        start_issue(session, issue)
        issue_id, list_id = issue.id, ml.id
    with make_engine(postgres_url, pooled=False).begin() as conn:
        conn.execute(text("ANALYZE"))  # as autovacuum would have, long before the send
    with transaction(postgres_url) as session:
        batch = claim_due(session, limit=100, issue_id=issue_id)[issue_id]
    statements = []
    engine = make_engine(postgres_url, pooled=False)

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        with transaction(postgres_url) as session:
            rows = load_rows(session, batch, list_id)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert [r.id for r in rows] == sorted(batch) and {r.picks.regions for r in rows} == {frozenset({"430000"})}
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        for statement, parameters in statements:
            cursor.execute("EXPLAIN " + statement, parameters)
            plan = "\n".join(r[0] for r in cursor.fetchall())
            assert "Seq Scan on subscribers" not in plan and "Seq Scan on subscriptions" not in plan, plan
            assert "Seq Scan on deliveries" not in plan, plan
