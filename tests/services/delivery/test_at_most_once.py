"""An article reaches a reader at most once per list, however the issues' weeks overlap (SQLite and PostgreSQL)."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import date, datetime, time

from fixtures_db import make_settings
from personas import LI_HUNAN, WANG_NATIONAL, subscribe_confirmed
from samples import WEEKLY_ISSUE
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.ingest import parse_file
from digest.core.regions import load_regions
from digest.services.articles import NEWSROOM_TZ, store_articles
from digest.services.delivery.batches import send_pending
from digest.services.delivery.preview import preview_issue
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime
from digest.services.subscribers import upsert_subscription

REGIONS = load_regions()
NATIONAL = ["提前下达衔接推进乡村振兴补助资金", "《健康帮扶衔接实施意见》印发"]
FRESH = "全国农村公路养护新规发布"
NEWCOMER = "newcomer@example.cn"


def _ingest(url: str, path, day: date) -> None:
    with transaction(url) as session:
        published = datetime.combine(day, time(9), NEWSROOM_TZ)
        store_articles(
            session, ensure_default_list(session), parse_file(path), REGIONS, source="t", published=published
        )


def _send(url: str, runtime: Runtime, period_end: date):
    with transaction(url) as session:
        issue = plan_issue(session, ensure_default_list(session), period_end)
        start_issue(session, issue)
        issue_id = issue.id
    with runtime.open_transport() as transport:
        return issue_id, send_pending(runtime, issue_id, transport)


def _titles(raw: bytes) -> list[str]:
    text = email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",)).get_content()
    flat = "".join(text.split())
    return [t for t in [*NATIONAL, FRESH] if "".join(t.split()) in flat]


def _ledger(url: str, issue_id: int) -> dict[str, tuple[str, str | None, list[int] | None]]:
    d, s = models.Delivery, models.Subscriber
    with transaction(url) as session:
        rows = session.execute(select(s.email, d.status, d.reason, d.article_ids).join(d).where(d.issue_id == issue_id))
        return {r.email: (r.status, r.reason, r.article_ids) for r in rows}


def test_overlapping_issues_never_repeat_an_article_to_a_reader(database_url, tmp_path, smtp_server):
    with transaction(database_url) as session:
        ensure_default_list(session).sender_email = "weekly@digest.example.org"
        subscribe_confirmed(session, ensure_default_list(session), REGIONS, people=(WANG_NATIONAL, LI_HUNAN))
    _ingest(database_url, WEEKLY_ISSUE, date(2021, 6, 18))
    runtime = Runtime(make_settings(database_url, tmp_path, smtp_url=smtp_server.url))

    first_id, first = _send(database_url, runtime, date(2021, 6, 20))  # 14–20 June
    assert first.counts == {"sent": 2}
    [wang_first] = [m for m in smtp_server.messages if m.rcpt_tos == [WANG_NATIONAL.email]]
    assert _titles(wang_first.data) == NATIONAL

    # A national article of the 22nd, and a reader who joins after the first issue.
    fresh = tmp_path / "fresh.jsonl"
    row = {
        "title": FRESH,
        "body": "交通运输部印发新规。",
        "topic": "公共服务",
        "regions": ["全国"],
        "published": "2021-06-22",
    }
    fresh.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    _ingest(database_url, fresh, date(2021, 6, 22))
    with transaction(database_url) as session:
        upsert_subscription(
            session, ensure_default_list(session), REGIONS, email=NEWCOMER, region_labels=["全国"], status="confirmed"
        )
    smtp_server.messages.clear()

    # The console's preview of the second issue shows what the send will do, and says why.
    with transaction(database_url) as session:
        planned = plan_issue(session, ensure_default_list(session), date(2021, 6, 23)).id
        shown = preview_issue(runtime, session, planned, WANG_NATIONAL.email)
    assert [a.title for s in shown.digest.sections for a in s.articles] == [FRESH]
    why = {v.title: v.reason.kind for v in shown.verdicts if v.title in NATIONAL}
    assert why == dict.fromkeys(NATIONAL, "received_before")

    second_id, second = _send(database_url, runtime, date(2021, 6, 23))  # 17–23 June: overlaps the first
    received = {m.rcpt_tos[0]: _titles(m.data) for m in smtp_server.messages}
    # 王芳 had the two national articles: only the new one comes. The newcomer gets all three.
    assert received == {WANG_NATIONAL.email: [FRESH], NEWCOMER: [*NATIONAL, FRESH]}
    assert second.counts == {"sent": 2, "skipped": 1}
    ledger = _ledger(database_url, second_id)
    # 李伟's 湖南 articles all reached him in the first issue: nothing new, skipped as "nothing matches".
    assert ledger[LI_HUNAN.email][:2] == ("skipped", "empty")
    assert len(ledger[WANG_NATIONAL.email][2] or []) == 1 and len(ledger[NEWCOMER][2] or []) == 3
    # The issue itself still holds the whole week: the archive shows every article of it.
    with transaction(database_url) as session:
        assert len(session.get(models.Issue, second_id).article_ids) > 3
        assert session.get(models.Issue, first_id).status == "sent"
