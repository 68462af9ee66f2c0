"""Skip reasons are stored as codes and worded where they are shown: the console's delivery log in its reader's
language, the API in English beside the code. Rows an older version stored as English sentences read the same
(SQLite and PostgreSQL)."""

from __future__ import annotations

from personas import ALL, SUN_EDITOR, subscribe_confirmed
from sqlalchemy import select
from webutil import PERIOD_END, add_staff, api_token, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services.enqueue import enqueue_deliveries
from digest.services.issues import plan_issue
from digest.services.lists import ensure_default_list

REGIONS = load_regions()
# What each persona's row holds: codes as written now, and sentences as written before, one of each kind.
STORED = (
    "empty",
    "paused:2026-12-31",
    "suppressed",
    "no article this week matches their picks",
    "paused until 2027-01-03",
    "issue cancelled",
)
ZH = (
    "本周没有符合其选择的文章",
    "暂停接收至 2026-12-31",
    "地址在屏蔽名单上",
    "本周没有符合其选择的文章",
    "暂停接收至 2027-01-03",
    "本期已取消",
)
EN = (
    "no article this week matches their picks",
    "paused until 2026-12-31",
    "address is on the suppression list",
    "no article this week matches their picks",
    "paused until 2027-01-03",
    "issue cancelled",
)
CODES = ("empty", "paused", "suppressed", "empty", "paused", "cancelled")


def _ledger(url) -> int:
    with transaction(url) as session:
        ml = ensure_default_list(session)
        subscribe_confirmed(session, ml, REGIONS)
        issue = plan_issue(session, ml, PERIOD_END)
        enqueue_deliveries(session, issue)
        rows = session.scalars(
            select(models.Delivery).where(models.Delivery.issue_id == issue.id).order_by(models.Delivery.id)
        ).all()
        for row, reason in zip(rows, STORED, strict=True):
            row.status, row.reason = "skipped", reason
        return issue.id


def test_the_console_words_each_reason_in_its_readers_language_old_rows_included(site):
    assert len(ALL) == len(STORED)
    issue_id = _ledger(site.url)
    add_staff(site.url, SUN_EDITOR)
    sign_in(site.client, SUN_EDITOR)
    chinese = site.client.get(f"/admin/issues/{issue_id}").text
    for words in ZH:
        assert f'<td class="ops-error">{words}' in chinese, words
    assert "no article" not in chinese and "paused until" not in chinese and "issue cancelled" not in chinese
    english = site.client.get(f"/admin/issues/{issue_id}?lang=en").text
    for words in EN:
        assert f'<td class="ops-error">{words}' in english, words


def test_the_api_gives_the_english_words_and_the_code(site):
    issue_id = _ledger(site.url)
    add_staff(site.url, SUN_EDITOR)
    headers = {"Authorization": f"Bearer {api_token(site.url, SUN_EDITOR)}"}
    items = site.client.get(f"/api/v1/issues/{issue_id}/deliveries", headers=headers).json()["items"]
    assert [(i["reason"], i["reason_code"]) for i in items] == list(zip(EN, CODES, strict=True))
    assert [i["reason_params"] for i in items][1:3] == [{"until": "2026-12-31"}, {}]
    assert items[4]["reason_params"] == {"until": "2027-01-03"}
