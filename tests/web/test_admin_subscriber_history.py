"""A subscriber's console page: their deliveries newest first, a page at a time, each with its time, status and
skip reason in the page's language; and the link to preview their copy of the latest issue."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from personas import LI_HUNAN, ZHAO_NOTHING, ZHOU_ADMIN, subscribe_confirmed
from sqlalchemy import select
from webutil import PERIOD_END, add_staff, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.adapters.transports import open_transport
from digest.core.regions import load_regions
from digest.services.delivery.batches import send_pending
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime

OLD_WEEKS = 24  # with this week's, more than a page (20)


def _history(site) -> dict[str, int]:
    """Li and Zhao subscribed; OLD_WEEKS past issues in the ledger (Li: sent, or skipped while paused every
    fourth week), then this week's sent for real: Li gets it, Zhao's picks match nothing."""
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        subscribe_confirmed(session, ml, load_regions(), [LI_HUNAN, ZHAO_NOTHING])
        ids = dict(session.execute(select(models.Subscriber.email, models.Subscriber.id)).all())
        for n in range(1, OLD_WEEKS + 1):
            end = PERIOD_END - timedelta(weeks=OLD_WEEKS + 1 - n)
            issue = models.Issue(list_id=ml.id, number=n, period_start=end - timedelta(days=6), period_end=end)
            session.add(issue)
            session.flush()
            paused = n % 4 == 0
            session.add(
                models.Delivery(
                    issue_id=issue.id,
                    subscriber_id=ids[LI_HUNAN.email],
                    status="skipped" if paused else "sent",
                    reason=f"paused:{end.isoformat()}" if paused else None,
                    sent_at=None if paused else datetime(end.year, end.month, end.day, 0, 30, tzinfo=UTC),
                )
            )
        issue = plan_issue(session, ml, PERIOD_END)
        start_issue(session, issue)
        ids["issue"] = issue.id
    with open_transport(site.settings.smtp_url, site.settings.outbox) as transport:
        send_pending(Runtime(site.settings), ids["issue"], transport)
    return ids


def _rows(html: str) -> list[str]:
    table = html.split('class="data history-table', 1)[1].split("</table>", 1)[0]
    rows = [row.split(">", 1)[1] for row in table.split("<tr data-issue=")[1:]]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def test_the_history_pages_back_newest_first_with_reasons_in_the_pages_language(site):
    ids = _history(site)
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    page = site.client.get(f"/admin/subscribers/{ids[LI_HUNAN.email]}?list=rural-weekly")
    assert page.status_code == 200
    rows = _rows(page.text)
    assert len(rows) == 20
    # This week's went at the site's clock, 10:00 in Shanghai (the list's zone); the stored instants are UTC.
    assert rows[0] == "第 25 期 2026-11-22 2026-11-23 10:00 已送达"
    assert rows[1] == "第 24 期 2026-11-15 — 已跳过 暂停接收至 2026-11-15"
    assert rows[4] == "第 21 期 2026-10-25 2026-10-25 08:30 已送达"
    assert [int(re.search(r"第 (\d+) 期", r)[1]) for r in rows] == list(range(25, 5, -1))
    older = re.search(r'href="([^"]+)#history" rel="next"', page.text)[1].replace("&amp;", "&")
    assert 'rel="prev"' not in page.text.split('id="history"')[1]
    rest = site.client.get(older + "&lang=en")
    rows = _rows(rest.text)
    assert [int(re.search(r"No\. (\d+)", r)[1]) for r in rows] == [5, 4, 3, 2, 1]
    assert "Skipped paused until 2026-06-28" in rows[1] and "Sent" in rows[0]
    assert 'rel="next"' not in rest.text.split('id="history"')[1] and 'rel="prev"' in rest.text


def test_a_skipped_week_says_why_and_the_preview_link_opens_their_copy_of_the_latest_issue(site):
    ids = _history(site)
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    page = site.client.get(f"/admin/subscribers/{ids[ZHAO_NOTHING.email]}?list=rural-weekly&lang=en")
    [row] = _rows(page.text)
    assert "No. 25" in row and "Skipped" in row and "no article this week matches their picks" in row.lower()
    link = re.search(r'href="([^"]+)" id="preview-link"', page.text)[1].replace("&amp;", "&")
    assert link == f"/admin/issues/{ids['issue']}/preview?email=zhao.lei%40example.cn"
    assert "Preview their copy of No. 25" in page.text
    preview = site.client.get(link + "&lang=en")
    assert preview.status_code == 200 and ZHAO_NOTHING.email in preview.text


def test_a_subscriber_with_no_delivery_and_a_list_with_no_issue_say_so(site):
    with transaction(site.url) as session:
        subscribe_confirmed(session, ensure_default_list(session), load_regions(), [LI_HUNAN])
        li = session.scalar(select(models.Subscriber.id))
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    page = site.client.get(f"/admin/subscribers/{li}?list=rural-weekly&lang=en")
    assert "No delivery to this subscriber yet." in page.text and "No issue to preview yet." in page.text
    assert 'id="preview-link"' not in page.text
