"""A subscriber's "view in browser" link opens only an issue that went out to them or went out at all:
not a planned, cancelled or paused one, whatever issue id is put in the URL (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from test_pages import _add, _send_issue
from webutil import LIST, PERIOD_END

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.tokens import sign_token
from digest.services.issues import cancel_issue, pause_issue, plan_issue, start_issue
from digest.services.lists import ensure_default_list

RUN_ARTICLE = "沅陵县创办全国首家乡村振兴金融服务组织"


def _view(site, issue_id: int, subscriber_id: int):
    token = sign_token(site.settings.secret_key, "view", subscriber_id, LIST)
    return site.client.get(f"/issues/{issue_id}/view/{token}")


def _planned(site, period_end=PERIOD_END) -> int:
    with transaction(site.url) as session:
        return plan_issue(session, ensure_default_list(session), period_end).id


def test_a_view_link_does_not_open_a_planned_or_cancelled_issue(site):
    reader = _add(site.url, "hunan@example.org", regions=["湖南"])
    planned = _planned(site)
    cancelled = _planned(site, PERIOD_END - timedelta(days=7))
    with transaction(site.url) as session:
        cancel_issue(session, session.get(models.Issue, cancelled))
    for issue_id in (planned, cancelled):
        page = _view(site, issue_id, reader)
        assert page.status_code == 404, issue_id
        assert RUN_ARTICLE not in page.text


def test_a_view_link_opens_a_published_issue_and_a_paused_one_only_if_their_copy_was_sent(site):
    reader = _add(site.url, "hunan@example.org", regions=["湖南"])
    sent = _send_issue(site)
    page = _view(site, sent, reader)
    assert page.status_code == 200 and RUN_ARTICLE in page.text

    # A paused issue: sent to the reader, still waiting for the latecomer.
    with transaction(site.url) as session:
        session.get(models.Issue, sent).status = "sending"
        pause_issue(session, session.get(models.Issue, sent))
    latecomer = _add(site.url, "late@example.org", regions=["湖南"])
    with transaction(site.url) as session:
        issue = session.get(models.Issue, sent)
        assert issue.status == "paused"
        session.add(models.Delivery(issue_id=sent, subscriber_id=latecomer, status="pending"))
    assert _view(site, sent, reader).status_code == 200
    refused = _view(site, sent, latecomer)
    assert refused.status_code == 404 and RUN_ARTICLE not in refused.text


def test_a_view_link_opens_an_issue_being_sent_before_their_turn(site):
    reader = _add(site.url, "hunan@example.org", regions=["湖南"])
    with transaction(site.url) as session:
        issue = plan_issue(session, ensure_default_list(session), PERIOD_END)
        start_issue(session, issue)
        issue_id = issue.id
    page = _view(site, issue_id, reader)
    assert page.status_code == 200 and RUN_ARTICLE in page.text
